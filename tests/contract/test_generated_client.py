"""A client generated from the committed schema works against the running app.

openapi-python-client turns api_schema/openapi.yaml into a typed package: every
component a model, every operation a function that parses the answer into those
models. A schema that is not true to what the server sends shows up here as a
KeyError, a ValueError or a response the client silently drops (None). So the test
generates the client, imports it and walks a short real flow through it against a
live server, asserting the data that comes back.
"""

import importlib
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from tests.factories import (
    PASSWORD,
    CareLinkFactory,
    FamilyFactory,
    FamilyLinkFactory,
    PatientFactory,
    TherapistFactory,
    grant_for,
)

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "api_schema" / "openapi.yaml"
PACKAGE = "recovery_client"
# No post hooks (the default runs ruff over the output): generation stays offline and
# its output depends on the schema and the generator's version only.
GENERATOR_CONFIG = (
    f"package_name_override: {PACKAGE}\nproject_name_override: {PACKAGE}\npost_hooks: []\n"
)


@pytest.fixture(scope="module")
def rc(tmp_path_factory):
    """The generated package, imported from a temporary directory."""
    out = tmp_path_factory.mktemp("generated")
    config = out / "openapi-python-client.yaml"
    config.write_text(GENERATOR_CONFIG)
    generator = Path(sys.executable).with_name("openapi-python-client")
    command = [
        str(generator), "generate", "--path", str(SCHEMA_FILE), "--config", str(config),
        "--meta", "none", "--output-path", str(out / PACKAGE), "--fail-on-warning",
    ]  # fmt: skip
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # --fail-on-warning: a component or an operation the generator had to leave out
    # (as it did with two components named alike) fails here, with its reason.
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(out))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def _api(name: str):
    return importlib.import_module(f"{PACKAGE}.api.{name}")


def _models():
    return importlib.import_module(f"{PACKAGE}.models")


@pytest.fixture
def sign_in(rc, live_server):
    """Sign in through the generated client; its connections are closed afterwards, so the
    server's threads let go of their database sessions before the test database goes."""
    models, opened = _models(), []

    def sign_in(email: str):
        with rc.Client(base_url=live_server.url, raise_on_unexpected_status=True) as anonymous:
            pair = _api("auth.auth_token_create").sync(
                client=anonymous, body=models.TokenObtainRequest(email=email, password=PASSWORD)
            )
        assert isinstance(pair, models.TokenPair), pair
        client = rc.AuthenticatedClient(
            base_url=live_server.url, token=pair.access, raise_on_unexpected_status=True
        )
        opened.append(client)
        return client

    yield sign_in
    for client in opened:
        client.get_httpx_client().close()


@pytest.fixture
def people(disclosures_cleared_after):
    patient = PatientFactory(email="flow.patient@example.test", display_name="Robin")
    therapist = TherapistFactory(email="flow.therapist@example.test", display_name="Dr. Lane")
    CareLinkFactory(patient=patient, therapist=therapist)
    family = FamilyFactory(email="flow.family@example.test", display_name="Jo")
    FamilyLinkFactory(patient=patient, member=family)
    grant_for(patient, family, ["checkins", "counters"])
    return {"patient": patient, "therapist": therapist, "family": family}


def test_a_generated_client_walks_the_main_flow(sign_in, people):
    models = _models()
    patient = sign_in(people["patient"].email)
    occurred = timezone.now().replace(microsecond=0) - timedelta(hours=2)

    # Log a craving, as the phone does: it chooses the id.
    entry_id = uuid.uuid4()
    created = _api("journal.journal_entries_create").sync(
        client=patient,
        body=models.EntryWriteRequest(
            id=entry_id,
            occurred_at=occurred,
            intensity=6,
            substance=models.SubstanceEnum.ALCOHOL,
            outcome=models.OutcomeEnum.RESISTED,
            triggers=[models.TriggerInputRequest(category=models.CategoryEnum.PLACES, label="Bar")],
            shared=True,
        ),
        idempotency_key="flow-entry-1",
    )
    assert isinstance(created, models.EntryResponse), created
    assert (created.id, created.intensity, created.outcome) == (entry_id, 6, "resisted")
    assert created.occurred_at == occurred
    assert created.support is None  # intensity 6: no crisis block

    # Offline upload: one new entry in a batch.
    batch_id = uuid.uuid4()
    batch = _api("journal.journal_entries_batch_create").sync(
        client=patient,
        body=models.BatchRequest(
            items=[
                models.BatchItemRequest(
                    op=models.OpEnum.UPSERT,
                    id=batch_id,
                    data=models.EntryUpdateRequest(
                        occurred_at=occurred - timedelta(hours=1),
                        intensity=3,
                        substance=models.SubstanceEnum.ALCOHOL,
                        outcome=models.OutcomeEnum.RESISTED,
                    ),
                ),
                models.BatchItemRequest(
                    op=models.OpEnum.UPSERT,
                    id=uuid.uuid4(),
                    data=models.EntryUpdateRequest(
                        occurred_at=timezone.now() + timedelta(days=2),  # the future: refused
                        intensity=3,
                        substance=models.SubstanceEnum.ALCOHOL,
                        outcome=models.OutcomeEnum.RESISTED,
                    ),
                ),
            ]
        ),
    )
    assert isinstance(batch, models.BatchResponse), batch
    assert [(r.index, r.status) for r in batch.results] == [(0, "created"), (1, "invalid")]
    assert batch.results[0].id == batch_id
    assert batch.results[0].version == 1
    [error] = batch.results[1].errors
    assert isinstance(error, models.FieldError)
    assert error.field == "data.occurred_at"

    page = _api("journal.journal_entries_list").sync(client=patient, page_size=10)
    assert isinstance(page, models.PaginatedEntryList), page
    assert [e.id for e in page.results] == [entry_id, batch_id]  # newest first

    changes = _api("journal.journal_changes_retrieve").sync(client=patient, cursor=0)
    assert isinstance(changes, models.Changes), changes
    assert {c.id for c in changes.changes} == {entry_id, batch_id}
    assert {(c.kind, c.data.intensity) for c in changes.changes} == {("entry", 6), ("entry", 3)}
    assert all(isinstance(c.data, models.Entry) for c in changes.changes)
    assert isinstance(changes.next_cursor, int)
    assert not changes.has_more
    again = _api("journal.journal_changes_retrieve").sync(
        client=patient, cursor=changes.next_cursor
    )
    assert again.changes == []
    assert again.next_cursor == changes.next_cursor

    # Share with the therapist, who then reads the shared entry in their feed.
    grant = _api("consent.consents_create").sync(
        client=patient,
        body=models.GrantCreateRequest(
            recipient=people["therapist"].pk,
            scopes=[models.ScopesEnum.JOURNAL_SHARED],
            purpose=models.PurposeEnum.TREATMENT,
            signature_name="Robin",
        ),
    )
    assert isinstance(grant, models.Grant), grant
    assert grant.recipient.id == people["therapist"].pk
    assert grant.scopes == ["journal.shared"]

    therapist = sign_in(people["therapist"].email)
    feed = _api("care.care_feed_list").sync(client=therapist)
    assert isinstance(feed, models.PaginatedFeedItemList), feed
    assert [(item.kind, item.entry.id) for item in feed.results] == [("entry", entry_id)]
    assert feed.results[0].patient.display_name == "Robin"
    assert "42 CFR part 2" in feed.redisclosure_notice

    # The family member lists the people they support, with what each shares now.
    family = sign_in(people["family"].email)
    patients = _api("family.family_patients_list").sync(client=family)
    assert isinstance(patients, models.PaginatedFamilyPatientList), patients
    [link] = patients.results
    assert (link.patient.id, link.patient.display_name) == (people["patient"].pk, "Robin")
    assert sorted(link.scopes) == ["checkins", "counters"]
