import pytest
from django.contrib import admin

from backend.core.crypto import EncryptedTextField
from tests.factories import EntryFactory

pytestmark = pytest.mark.django_db


def test_no_model_with_encrypted_text_is_in_the_django_admin():
    # Clinic staff run the admin; patients' words are not theirs to read (42 CFR Part 2).
    exposed = [
        model._meta.label
        for model in admin.site._registry
        if any(
            isinstance(f, EncryptedTextField)
            for f in model._meta.get_fields()
            if hasattr(f, "attname")
        )
    ]
    assert exposed == []


def test_the_admin_shows_no_journal_pages(client, clinic_admin, patient):
    EntryFactory(patient=patient, situation="ADMIN-MUST-NOT-SEE")
    client.force_login(clinic_admin)
    index = client.get("/admin/")
    assert index.status_code == 200
    assert b"journal" not in index.content.lower()
    assert client.get("/admin/journal/journalentry/").status_code == 404
