"""What an account's life tells the apps above accounts, in the same transaction.

accounts is the second layer from the bottom: consent and nudges depend on it,
never the reverse, so closing an account or moving its clock is announced here
and each app above does its own part. Receivers are connected in their app's
``ready()``.
"""

from django.dispatch import Signal

# Sent with ``user`` when an account closes: it shares nothing and receives nothing more.
account_closed = Signal()

# Sent with ``user`` when their time zone or quiet hours change, and ``changed``, the names
# of the fields that did: plans made on the old clock are made again, and a patient's
# entries are dated on the new one.
clock_changed = Signal()
