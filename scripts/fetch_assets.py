"""Fetch the console's browser libraries from the npm registry, pinned and verified.

The console serves its charting library from the project's own static files (no CDN), and
the browser tests inject axe-core into pages: both come from the npm registry as published
tarballs, pinned by version and checked against the registry's sha512 integrity before one
file is taken out of each. Only Python's standard library is needed, so a machine with just
Python installs them. Files already in place with the right digest are left alone.

    python scripts/fetch_assets.py            # what the console serves (scripts/run.sh)
    python scripts/fetch_assets.py --tests    # and what the browser tests inject
"""

import argparse
import base64
import hashlib
import io
import sys
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
REGISTRY = "https://registry.npmjs.org"


@dataclass(frozen=True)
class Asset:
    package: str
    version: str
    integrity: str  # the registry's dist.integrity of the tarball
    member: str  # the file taken out of the tarball
    target: Path  # where it goes, relative to the repository
    for_tests: bool = False

    @property
    def url(self) -> str:
        return f"{REGISTRY}/{self.package}/-/{self.package.split('/')[-1]}-{self.version}.tgz"


ASSETS = (
    Asset(
        "chart.js",
        "4.6.2",
        "sha512-xachB+pPHjp0syJi7llUBA1w3kMYl6NF3o7eVrvjnWCT+IB2zMaF2pX5UYDiwbbfsioFEIRnAjreNOMsGj5TIA==",
        "package/dist/chart.umd.min.js",
        Path("backend/console/static/console/vendor/chart.umd.min.js"),
    ),
    # The source map the library names: static files' manifest storage checks it exists.
    Asset(
        "chart.js",
        "4.6.2",
        "sha512-xachB+pPHjp0syJi7llUBA1w3kMYl6NF3o7eVrvjnWCT+IB2zMaF2pX5UYDiwbbfsioFEIRnAjreNOMsGj5TIA==",
        "package/dist/chart.umd.min.js.map",
        Path("backend/console/static/console/vendor/chart.umd.min.js.map"),
    ),
    Asset(
        "chart.js",
        "4.6.2",
        "sha512-xachB+pPHjp0syJi7llUBA1w3kMYl6NF3o7eVrvjnWCT+IB2zMaF2pX5UYDiwbbfsioFEIRnAjreNOMsGj5TIA==",
        "package/LICENSE.md",
        Path("backend/console/static/console/vendor/chart.js.LICENSE.md"),
    ),
    Asset(
        "axe-core",
        "4.14.1",
        "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ==",
        "package/axe.min.js",
        Path("var/test-tools/axe.min.js"),
        for_tests=True,
    ),
)


def _verified_tarball(asset: Asset, cache: dict[str, bytes]) -> bytes:
    if asset.url in cache:
        return cache[asset.url]
    with urllib.request.urlopen(asset.url, timeout=60) as response:  # noqa: S310 - fixed https URL
        body = response.read()
    algorithm, expected = asset.integrity.split("-", 1)
    digest = base64.b64encode(hashlib.new(algorithm, body).digest()).decode()
    if digest != expected:
        raise SystemExit(f"{asset.url}: integrity mismatch (expected {expected}, got {digest})")
    cache[asset.url] = body
    return body


def _stamp(asset: Asset) -> Path:
    target = REPO / asset.target
    return target.with_name(f".{target.name}.{asset.package.replace('/', '_')}-{asset.version}")


def fetch(*, tests: bool) -> None:
    cache: dict[str, bytes] = {}
    for asset in ASSETS:
        if asset.for_tests and not tests:
            continue
        target = REPO / asset.target
        if target.exists() and _stamp(asset).exists():
            continue
        body = _verified_tarball(asset, cache)
        with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as archive:
            member = archive.extractfile(asset.member)
            if member is None:
                raise SystemExit(f"{asset.url} holds no {asset.member}")
            content = member.read()
        target.parent.mkdir(parents=True, exist_ok=True)
        for old in target.parent.glob(f".{target.name}.*"):
            old.unlink()
        target.write_bytes(content)
        _stamp(asset).touch()
        print(f"Fetched {asset.package}@{asset.version} {asset.member} -> {asset.target}")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", action="store_true", help="also what the browser tests inject")
    fetch(tests=parser.parse_args(argv).tests)


if __name__ == "__main__":
    main(sys.argv[1:])
