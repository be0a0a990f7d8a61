from django.apps import AppConfig


class NudgesConfig(AppConfig):
    name = "backend.nudges"
    label = "nudges"
    verbose_name = "Nudges and reminders"

    def ready(self) -> None:
        # Imported here, once the app registry is ready (models cannot load earlier).
        # Lower apps announce what nudges must act on in the same transaction (see their
        # signals modules); nudges sits above them and so cannot be called directly.
        from backend.accounts.signals import account_closed, clock_changed  # noqa: PLC0415
        from backend.journal.signals import alerts_raised  # noqa: PLC0415
        from backend.measures.signals import measure_scheduled  # noqa: PLC0415
        from backend.nudges import receivers  # noqa: PLC0415
        from backend.program.signals import enrolment_ended, patient_enrolled  # noqa: PLC0415

        alerts_raised.connect(receivers.alerts_raised, dispatch_uid="nudges.alerts_raised")
        account_closed.connect(receivers.account_closed, dispatch_uid="nudges.account_closed")
        clock_changed.connect(receivers.clock_changed, dispatch_uid="nudges.clock_changed")
        measure_scheduled.connect(
            receivers.measure_scheduled, dispatch_uid="nudges.measure_scheduled"
        )
        # Sent after the enrolment's commit: "before my next session" on by default.
        patient_enrolled.connect(receivers.patient_enrolled, dispatch_uid="nudges.enrolled")
        enrolment_ended.connect(receivers.enrolment_ended, dispatch_uid="nudges.enrolment_ended")
