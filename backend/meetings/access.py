"""Meeting attendance as the access gate knows it (backend.consent.policy)."""

from backend.consent.policy import Kind, Reach
from backend.consent.scopes import Scope
from backend.meetings.models import Attendance

# Support-group meetings the patient logged going to.
ATTENDANCE = Kind(
    name="meeting_attendance",
    model=Attendance,
    reach=(Reach(Scope.MEETINGS),),
    log_id="client_id",
)
