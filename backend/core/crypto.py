"""Encryption at rest for free text (journal notes, situations, thoughts).

Keys come from FIELD_ENCRYPTION_KEYS: comma-separated Fernet keys, newest first.
New values are encrypted with the first; any listed key decrypts, so keys rotate
by prepending a new one, running `manage.py rotate_encryption_keys`, then
dropping the old one.
"""

import json
from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    return fernet().decrypt(token.encode("ascii")).decode("utf-8")


def rotate(token: str) -> str:
    """Re-encrypt under the newest key (a no-op in meaning)."""
    return fernet().rotate(token.encode("ascii")).decode("ascii")


class EncryptedTextField(models.TextField):
    """Text stored as a Fernet token; the database never sees the plaintext.

    Empty strings are stored empty (nothing to hide, and it keeps "no note"
    cheap). Encrypted values cannot be searched or ordered in SQL, by design.
    """

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        try:
            return decrypt(value)
        except InvalidToken as exc:
            raise ValueError(
                "A stored value cannot be decrypted with FIELD_ENCRYPTION_KEYS: is a key missing?"
            ) from exc


class EncryptedJSONField(EncryptedTextField):
    """A JSON value (answers, a plan's contacts) stored as one Fernet token.

    Like EncryptedTextField, and rotated with it: the database sees neither the
    keys nor the values, so nothing inside can be filtered or ordered in SQL.
    """

    # For django-stubs: the value is any JSON (as for JSONField), not TextField's str.
    _pyi_private_set_type: Any
    _pyi_private_get_type: Any

    def get_prep_value(self, value):
        if value is None:
            return None
        return encrypt(json.dumps(value, cls=DjangoJSONEncoder, separators=(",", ":")))

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return json.loads(super().from_db_value(value, expression, connection))

    def to_python(self, value):
        return value


__all__ = [
    "EncryptedJSONField",
    "EncryptedTextField",
    "InvalidToken",
    "decrypt",
    "encrypt",
    "fernet",
    "rotate",
]
