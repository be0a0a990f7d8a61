"""Homework templates therapists assign as they are or adapt: the worksheets IOPs use most.

The data lives here, not in app code, so this migration keeps meaning the same
thing whatever the code becomes. Re-running it updates the templates by slug.
"""

from django.db import migrations


def q(qid, type_, prompt, required=True, choices=None):
    question = {"id": qid, "type": type_, "prompt": prompt, "required": required}
    if choices is not None:
        question["choices"] = choices
    return question


TEMPLATES = [
    {
        "slug": "cbt-thought-record",
        "title": "CBT thought record",
        "kind": "worksheet",
        "instructions": (
            "Pick one moment this week when a craving or a strong feeling hit. Write down what "
            "happened and the thought that went through your mind, then test that thought "
            "against the evidence. There are no wrong answers."
        ),
        "questions": [
            q("situation", "text", "What was the situation? Where were you, when, with whom?"),
            q("feeling", "text", "What did you feel? Name the emotions."),
            q("intensity_before", "scale", "How strong was the feeling (0-10)?"),
            q("automatic_thought", "text", "What thought went through your mind?"),
            q("evidence_for", "text", "What supports that thought?"),
            q("evidence_against", "text", "What does not support it?"),
            q("balanced_thought", "text", "What is a more balanced way to see it?"),
            q("intensity_after", "scale", "How strong is the feeling now (0-10)?"),
        ],
    },
    {
        "slug": "decisional-balance",
        "title": "Decisional balance",
        "kind": "worksheet",
        "instructions": (
            "Fill in all four boxes honestly, including the good things about using: knowing "
            "them helps you plan for them. Then rate how important change is to you and how "
            "confident you feel."
        ),
        "questions": [
            q("using_benefits", "text", "Good things about using"),
            q("using_costs", "text", "Not-so-good things about using"),
            q("not_using_benefits", "text", "Good things about not using"),
            q("not_using_costs", "text", "Not-so-good things about not using"),
            q("importance", "scale", "How important is changing your use to you (0-10)?"),
            q("confidence", "scale", "How confident are you that you can (0-10)?"),
        ],
    },
    {
        "slug": "halt-log",
        "title": "HALT log",
        "kind": "journaling",
        "instructions": (
            "Once a day this week, stop and check: am I Hungry, Angry, Lonely or Tired? Note what "
            "you felt and what you did about it."
        ),
        "questions": [
            q("halt", "multiple_choice", "Which did you feel today?",
              choices=["Hungry", "Angry", "Lonely", "Tired", "None of these"]),
            q("strongest", "scale", "How strong was the strongest one (0-10)?"),
            q("what_i_did", "text", "What did you do to meet that need?"),
            q("craving", "yes_no", "Did it lead to a craving?"),
        ],
    },
    {
        "slug": "gratitude-list",
        "title": "Gratitude list",
        "kind": "journaling",
        "instructions": (
            "Write down three things you are grateful for today, big or small. Try to be "
            "specific: \"my sister called to check on me\" rather than \"family\"."
        ),
        "questions": [
            q("first", "text", "One thing you are grateful for"),
            q("second", "text", "A second thing", required=False),
            q("third", "text", "A third thing", required=False),
            q("mood", "scale", "How is your mood after writing this (0-10)?", required=False),
        ],
    },
    {
        "slug": "relapse-prevention-worksheet",
        "title": "Relapse-prevention worksheet",
        "kind": "worksheet",
        "instructions": (
            "Think ahead about the situations that put your recovery at risk and what you will "
            "do in each. Bring your answers to the next session: together we will add them to "
            "your relapse-prevention plan in the app."
        ),
        "questions": [
            q("high_risk", "text", "Your three highest-risk situations"),
            q("warning_signs", "text", "Early warning signs that you are heading toward a lapse"),
            q("strategies", "text", "What you will do in each situation"),
            q("skills", "multiple_choice", "Which skills will you practise this week?",
              choices=["Urge surfing", "HALT check", "Call a support person", "Go to a meeting",
                       "Delay and distract", "Play the tape forward"]),
            q("people", "text", "People you can call, and when"),
            q("after_lapse", "text", "What you will do if a lapse happens"),
            q("readiness", "single_choice", "How ready do you feel to use this plan?",
              choices=["Not ready yet", "Somewhat ready", "Ready"]),
            q("shared", "yes_no", "Have you shared this plan with someone you trust?"),
            q("confidence", "scale", "How confident are you in your plan (0-10)?"),
        ],
    },
]


def seed(apps, schema_editor):
    Template = apps.get_model("homework", "HomeworkTemplate")
    for template in TEMPLATES:
        Template.objects.update_or_create(
            slug=template["slug"], defaults={k: v for k, v in template.items() if k != "slug"}
        )


def unseed(apps, schema_editor):
    apps.get_model("homework", "HomeworkTemplate").objects.filter(
        slug__in=[t["slug"] for t in TEMPLATES]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("homework", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
