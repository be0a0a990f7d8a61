"""What measures announce to the layers above (the alert path, the nudges).

Sent after the transaction commits, so a receiver never sees a rolled-back answer.
"""

from django.dispatch import Signal

# A crisis item was answered above its threshold: ``response`` (a MeasureResponse).
crisis_answered = Signal()
# A questionnaire was scheduled for ``patient``: the nudges offer a "due" reminder.
measure_scheduled = Signal()
