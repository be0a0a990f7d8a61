"""A patient's records as a FHIR R4 Bundle that a clinic's health record imports.

Built from what the access gate handed out (never from a query of its own): the
minimal Patient, a Questionnaire per instrument, a QuestionnaireResponse per
answer, an Observation per answer (its panel) with one per score as members, a
Consent per grant, an Appointment per IOP session the patient was expected at. Every resource carries the Part 2 security labels: 42 CFR Part 2
data (``42CFRPart2``), no redisclosure without consent (``NORDSCLCD``), restricted
(``R``).

Codes: LOINC for PHQ-9 (panel 44249-1, total 44261-6) and GAD-7 (panel 69737-5,
total 70274-6) and their items and answers; BAM and PACS have no LOINC panel
codes for these scorings, so they use the local system ``LOCAL_SYSTEM`` (codes
``bam``, ``bam-use``, ``bam-risk``, ``bam-protective``, ``pacs``, ``pacs-total``;
see README).
"""

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from backend.accounts.models import User
from backend.consent.scopes import Scope
from backend.disclosure.models import Purpose
from backend.measures.scoring import band_of

LOINC = "http://loinc.org"
LOCAL_SYSTEM = "urn:recovery-companion:measures"
SCOPE_SYSTEM = "urn:recovery-companion:consent-scope"
PATIENT_SYSTEM = "urn:recovery-companion:patient"
QUESTIONNAIRE_BASE = "urn:recovery-companion:questionnaire:"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"

SECURITY = [
    {"system": ACT_CODE, "code": "42CFRPart2", "display": "42 CFR Part2"},
    {
        "system": ACT_CODE,
        "code": "NORDSCLCD",
        "display": "no redisclosure without consent directive",
    },
    {"system": CONFIDENTIALITY, "code": "R", "display": "restricted"},
]
PURPOSE_CODES = {
    Purpose.TREATMENT: ("TREAT", "treatment"),
    Purpose.CARE_COORDINATION: ("CAREMGT", "care management"),
    Purpose.FAMILY_SUPPORT: ("FAMRQT", "family requested"),
}
SURVEY = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "survey",
            "display": "Survey",
        }
    ]
}
# Names of the score codes where an instrument's definition gives LOINC none.
LOCAL_SCORE_CODES = {"use": "use", "risk": "risk", "protective": "protective", "total": "total"}


def _meta() -> dict[str, Any]:
    return {"security": [dict(label) for label in SECURITY]}


def _ref(kind: str, key: str) -> str:
    """A stable urn:uuid for a resource of the bundle (a UUID as is, else derived)."""
    try:
        return f"urn:uuid:{uuid.UUID(key)}"
    except ValueError:
        return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{QUESTIONNAIRE_BASE}{kind}:{key}')}"


def _when(moment: datetime) -> str:
    """An instant in UTC, written as FHIR's own models write it back (with Z)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def patient_resource(patient: User) -> dict[str, Any]:
    """Minimal: the id the clinic knows the patient by here, and the name they chose to show."""
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(patient.pk),
        "meta": _meta(),
        "identifier": [{"system": PATIENT_SYSTEM, "value": str(patient.pk)}],
    }
    if patient.display_name:
        resource["name"] = [{"text": patient.display_name}]
    return resource


def canonical(instrument) -> str:
    return f"{QUESTIONNAIRE_BASE}{instrument.slug}"


def _answer_coding(instrument, item: dict[str, Any], option: dict[str, Any]) -> dict[str, Any]:
    if "code" in option:
        return {"system": LOINC, "code": option["code"], "display": option["label"]}
    return {
        "system": f"{LOCAL_SYSTEM}:{instrument.slug}:answer",
        "code": str(option["value"]),
        "display": option["label"],
    }


def _questionnaire_item(instrument, item: dict[str, Any], by_id: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "linkId": item["link_id"],
        "text": item["text"],
        "type": "choice",
        "required": item.get("required", True),
        "answerOption": [
            {"valueCoding": _answer_coding(instrument, item, option)} for option in item["options"]
        ],
    }
    if "code" in item:
        out["code"] = [{"system": LOINC, "code": item["code"]}]
    condition = item.get("enable_when")
    if condition is not None:
        # "above N" for a choice: any answer but the options at or below N.
        source = by_id[condition["item"]]
        out["enableWhen"] = [
            {
                "question": condition["item"],
                "operator": "!=",
                "answerCoding": _answer_coding(instrument, source, option),
            }
            for option in source["options"]
            if option["value"] <= condition["above"]
        ]
        if len(out["enableWhen"]) > 1:
            out["enableBehavior"] = "all"
    return out


def questionnaire_resource(instrument) -> dict[str, Any]:
    by_id = {item["link_id"]: item for item in instrument.items}
    system = LOINC if instrument.code_system == LOINC else LOCAL_SYSTEM
    return {
        "resourceType": "Questionnaire",
        "id": instrument.slug,
        "meta": _meta(),
        "url": canonical(instrument),
        "version": instrument.version,
        "name": "".join(ch for ch in instrument.name if ch.isalnum()),
        "title": instrument.title,
        "status": "active",
        "subjectType": ["Patient"],
        "description": instrument.preamble,
        "copyright": instrument.copyright or None,
        "code": [{"system": system, "code": instrument.code, "display": instrument.title}],
        "item": [_questionnaire_item(instrument, item, by_id) for item in instrument.items],
    }


def _chosen(instrument, item: dict[str, Any], value: int) -> dict[str, Any]:
    option = next(o for o in item["options"] if o["value"] == value)
    return _answer_coding(instrument, item, option)


def response_resource(response, patient_ref: str) -> dict[str, Any]:
    instrument = response.instrument
    answers = response.answers
    return {
        "resourceType": "QuestionnaireResponse",
        "id": str(response.pk),
        "meta": _meta(),
        "identifier": {"system": f"{LOCAL_SYSTEM}:response", "value": str(response.pk)},
        "questionnaire": f"{canonical(instrument)}|{instrument.version}",
        "status": "completed",
        "subject": {"reference": patient_ref},
        "authored": _when(response.answered_at),
        "item": [
            {
                "linkId": item["link_id"],
                "text": item["text"],
                "answer": [{"valueCoding": _chosen(instrument, item, answers[item["link_id"]])}],
            }
            for item in instrument.items
            if item["link_id"] in answers
        ],
    }


def _score_code(instrument, score: dict[str, Any]) -> dict[str, Any]:
    if "loinc" in score:
        return {"system": LOINC, "code": score["loinc"], "display": score.get("name", "")}
    return {
        "system": LOCAL_SYSTEM,
        "code": f"{instrument.slug}-{score['code']}",
        "display": score.get("name", score["code"]),
    }


def observations(response, patient_ref: str) -> list[tuple[str, dict[str, Any]]]:
    """(fullUrl, resource): the answer's panel Observation and one per score as its members."""
    instrument = response.instrument
    response_ref = _ref("response", str(response.pk))
    common = {
        "status": "final",
        "category": [SURVEY],
        "subject": {"reference": patient_ref},
        "effectiveDateTime": _when(response.answered_at),
        "derivedFrom": [{"reference": response_ref}],
    }
    members = []
    for score in instrument.scoring.get("scores", ()):
        key = f"{response.pk}:{score['code']}"
        resource: dict[str, Any] = {
            "resourceType": "Observation",
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{LOCAL_SYSTEM}:{key}")),
            "meta": _meta(),
            "code": {"coding": [_score_code(instrument, score)], "text": score.get("name")},
            "valueInteger": response.scores[score["code"]],
            **common,
        }
        band = band_of(score, response.scores[score["code"]])
        if band:
            resource["interpretation"] = [{"text": band}]
        members.append((f"urn:uuid:{resource['id']}", resource))
    system = LOINC if instrument.code_system == LOINC else LOCAL_SYSTEM
    panel_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{LOCAL_SYSTEM}:{response.pk}:panel"))
    panel = {
        "resourceType": "Observation",
        "id": panel_id,
        "meta": _meta(),
        "code": {
            "coding": [{"system": system, "code": instrument.code, "display": instrument.title}]
        },
        "hasMember": [{"reference": url} for url, _ in members],
        **common,
    }
    return [(f"urn:uuid:{panel_id}", panel), *members]


# An IOP session's attendance, as FHIR's Appointment status says it.
APPOINTMENT_STATUS = {
    "present": "fulfilled",
    "late": "fulfilled",
    "absent": "noshow",
    "excused": "cancelled",
}
SESSION_KIND_SYSTEM = "urn:recovery-companion:session-kind"


def appointment_resource(session, patient_ref: str, now: datetime) -> dict[str, Any]:
    """An IOP session the patient was expected at: booked ahead, then fulfilled, a no-show,
    or cancelled (by the program, or excused)."""
    if session.status == "cancelled":
        status = "cancelled"
    elif session.attendance_status:
        status = APPOINTMENT_STATUS[session.attendance_status]
    else:
        status = "booked" if session.starts_at > now else "noshow"
    where = session.telehealth_url or session.place
    resource: dict[str, Any] = {
        "resourceType": "Appointment",
        "id": str(session.pk),
        "meta": _meta(),
        "status": status,
        "appointmentType": {"text": session.get_kind_display()},
        "serviceType": [{"coding": [{"system": SESSION_KIND_SYSTEM, "code": session.kind}]}],
        "description": session.title,
        "start": _when(session.starts_at),
        "end": _when(session.ends_at),
        "minutesDuration": session.duration_minutes,
        "participant": [
            {"actor": {"reference": patient_ref}, "required": "required", "status": "accepted"}
        ],
    }
    if where:
        resource["comment"] = where
    return resource


def _grant_status(grant, now: datetime) -> str:
    if grant.revoked_at is not None or grant.expires_at <= now:
        return "inactive"
    return "active" if grant.starts_at <= now else "proposed"


def consent_resource(grant, patient_ref: str, now: datetime) -> dict[str, Any]:
    end = grant.revoked_at or grant.expires_at
    code, display = PURPOSE_CODES.get(grant.purpose, ("TREAT", "treatment"))
    recipient = grant.recipient
    return {
        "resourceType": "Consent",
        "id": str(grant.pk),
        "meta": _meta(),
        "status": _grant_status(grant, now),
        "scope": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                    "code": "patient-privacy",
                }
            ]
        },
        "category": [
            {"coding": [{"system": LOINC, "code": "59284-0", "display": "Consent Document"}]}
        ],
        "patient": {"reference": patient_ref},
        "dateTime": _when(grant.signed_at),
        "policy": [{"uri": "https://www.ecfr.gov/current/title-42/chapter-I/subchapter-A/part-2"}],
        "policyRule": {"coding": [{"system": ACT_CODE, "code": "OPTIN"}]},
        "provision": {
            "type": "permit",
            "period": {"start": _when(grant.starts_at), "end": _when(end)},
            "actor": [
                {
                    "role": {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                "code": "IRCP",
                                "display": "information recipient",
                            }
                        ]
                    },
                    "reference": {
                        "identifier": {
                            "system": PATIENT_SYSTEM.replace("patient", "person"),
                            "value": str(recipient.pk),
                        },
                        "display": recipient.display_name or recipient.get_role_display(),
                    },
                }
            ],
            "purpose": [{"system": ACT_REASON, "code": code, "display": display}],
            "code": [
                {
                    "coding": [
                        {
                            "system": SCOPE_SYSTEM,
                            "code": row.scope,
                            "display": str(Scope(row.scope).label),
                        }
                    ]
                }
                for row in grant.scope_rows.all()
            ],
        },
    }


def bundle(
    *,
    patient: User,
    instruments: Iterable[Any],
    responses: Sequence[Any],
    grants: Iterable[Any],
    now: datetime,
    sessions: Iterable[Any] = (),
) -> dict[str, Any]:
    """The collection Bundle: fullUrls are urn:uuid, and references point at them."""
    patient_ref = _ref("patient", str(patient.pk))
    entries: list[tuple[str, dict[str, Any]]] = [(patient_ref, patient_resource(patient))]
    entries += [(_ref("questionnaire", i.slug), questionnaire_resource(i)) for i in instruments]
    for response in responses:
        entries.append(
            (_ref("response", str(response.pk)), response_resource(response, patient_ref))
        )
        entries += observations(response, patient_ref)
    entries += [(_ref("consent", str(g.pk)), consent_resource(g, patient_ref, now)) for g in grants]
    entries += [
        (_ref("appointment", str(s.pk)), appointment_resource(s, patient_ref, now))
        for s in sessions
    ]
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {**_meta(), "lastUpdated": _when(now)},
        "type": "collection",
        "timestamp": _when(now),
        "entry": [{"fullUrl": url, "resource": _pruned(resource)} for url, resource in entries],
    }


def _pruned(resource: dict[str, Any]) -> dict[str, Any]:
    """FHIR forbids empty values: drop None."""
    return {key: value for key, value in resource.items() if value is not None}
