"""What the meetings app asks of higher layers.

``calendar_events(sender=None, patient, now, neutral_titles)``: the patient's iCalendar
subscription is being served; each receiver returns a list of ``icalendar.Event`` to add
(the program's sessions, connected by a higher layer: the record apps know nothing of
each other).
"""

from django.dispatch import Signal

calendar_events = Signal()
