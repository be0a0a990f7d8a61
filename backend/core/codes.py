"""Single-use invite codes: short enough to read aloud, stored only as a keyed hash."""

import secrets

from django.utils.crypto import salted_hmac

# No 0/O, 1/I/L, U: easy to read aloud and type from a card.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
CODE_LENGTH = 10


def normalize_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def hash_code(code: str, *, purpose: str) -> str:
    # Keyed hash: a leaked table cannot be brute-forced without the SECRET_KEY.
    return salted_hmac(purpose, normalize_code(code), algorithm="sha256").hexdigest()


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"
