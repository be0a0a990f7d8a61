"""Signals the program sends for higher layers (measures, nudges) to act on.

``patient_enrolled(sender=Enrolment, patient, enrolment)``: sent once the enrolment's
transaction commits (never for one rolled back).

``enrolment_ended(sender=Enrolment, patient, enrolment)``: an active enrolment ended
(stepped down, completed, discharged or withdrawn), sent once its transaction commits.
"""

from django.dispatch import Signal

patient_enrolled = Signal()
enrolment_ended = Signal()
