from django.apps import AppConfig


class SharingConfig(AppConfig):
    name = "backend.sharing"
    label = "sharing"
    verbose_name = "Sharing: feed, reviews and summaries"

    def ready(self) -> None:
        # The patient's calendar subscription (meetings) shows their program sessions: the
        # two record apps know nothing of each other, so this layer above connects them.
        from backend.meetings.signals import calendar_events  # noqa: PLC0415
        from backend.program.calendar import session_events  # noqa: PLC0415

        def sessions(*, patient, now, neutral_titles, **_):
            return session_events(patient, now=now, neutral_titles=neutral_titles)

        calendar_events.connect(sessions, dispatch_uid="sharing.program_sessions", weak=False)

        # A program's progress counts the patient's homework, which the program cannot read.
        from backend.program.selectors import homework_counter_register  # noqa: PLC0415
        from backend.sharing.progress import homework_in_enrolment  # noqa: PLC0415

        homework_counter_register(homework_in_enrolment)
