from django.apps import AppConfig


class JournalConfig(AppConfig):
    name = "backend.journal"
    label = "journal"
    verbose_name = "Journal"

    def ready(self) -> None:
        # A questionnaire's crisis answer raises an alert through the journal's alert path.
        from backend.accounts.signals import clock_changed  # noqa: PLC0415
        from backend.journal import receivers  # noqa: PLC0415 (models must be loaded first)
        from backend.measures.signals import crisis_answered  # noqa: PLC0415
        from backend.program.signals import patient_enrolled  # noqa: PLC0415

        crisis_answered.connect(receivers.crisis_answered, dispatch_uid="journal-crisis-answered")
        # The journal knows the patient's substances: it asks for the baseline measures.
        patient_enrolled.connect(receivers.patient_enrolled, dispatch_uid="journal-enrolled")
        # Entries are dated on the patient's clock: a new time zone dates them again.
        clock_changed.connect(receivers.clock_changed, dispatch_uid="journal-clock-changed")
