"""Benchmark settings: the project's settings, plus the bench-only URLs (bench/urls.py)."""

from backend.config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
