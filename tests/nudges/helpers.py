"""Web Push keys for tests: a real P-256 key pair and auth secret, made here."""

import base64
import os
from functools import lru_cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@lru_cache(maxsize=1)
def browser_keys() -> tuple[ec.EllipticCurvePrivateKey, bytes]:
    """The browser's side: its private key (to decrypt pushes) and its auth secret."""
    return ec.generate_private_key(ec.SECP256R1()), os.urandom(16)


def push_subscription_body(endpoint: str) -> dict:
    private, auth = browser_keys()
    public = private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return {"endpoint": endpoint, "keys": {"p256dh": b64url(public), "auth": b64url(auth)}}
