"""Signals the program sends for higher layers (measures, nudges) to act on.

``patient_enrolled(sender=Enrolment, patient, enrolment)``: sent once the enrolment's
transaction commits (never for one rolled back).
"""

from django.dispatch import Signal

patient_enrolled = Signal()
