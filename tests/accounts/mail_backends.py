"""Email backends for tests: one that records who called it, one that always fails."""

import smtplib
import threading

from django.core.mail.backends.locmem import EmailBackend as LocmemBackend

calls: list[str] = []


class RecordingBackend(LocmemBackend):
    """Delivers to mail.outbox like locmem, and records the thread that sent."""

    def send_messages(self, messages):
        calls.extend(threading.current_thread().name for _ in messages)
        return super().send_messages(messages)


class FailingBackend(LocmemBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPServerDisconnected("the mail server went away")


class RefusingBackend(LocmemBackend):
    """A mail server that refuses the recipient, naming the address in its error."""

    def send_messages(self, messages):
        raise smtplib.SMTPRecipientsRefused(
            {address: (550, b"no such user") for m in messages for address in m.to}
        )
