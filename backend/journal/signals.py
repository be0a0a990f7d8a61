"""What the journal tells the apps above it, in the transaction that wrote it.

The journal sits below nudges in the layers (nudges read journal records to plan
reminders), so it cannot call them; the urgent outbox rows for a crisis alert
must still be written in the alert's own transaction, so no alert goes unsent.
Receivers are connected in their app's ``ready()``.
"""

from django.dispatch import Signal

# Sent with ``alerts``: the CareTeamAlert rows just created (same transaction).
alerts_raised = Signal()
