from django.apps import AppConfig


class NudgesConfig(AppConfig):
    name = "backend.nudges"
    label = "nudges"
    verbose_name = "Nudges and reminders"

    def ready(self) -> None:
        # Lower apps announce what nudges must act on in the same transaction (see their
        # signals modules); nudges sits above them and so cannot be called directly.
        from backend.accounts.signals import account_closed, clock_changed
        from backend.journal.signals import alerts_raised
        from backend.nudges import receivers

        alerts_raised.connect(receivers.alerts_raised, dispatch_uid="nudges.alerts_raised")
        account_closed.connect(receivers.account_closed, dispatch_uid="nudges.account_closed")
        clock_changed.connect(receivers.clock_changed, dispatch_uid="nudges.clock_changed")
