"""Who may call an endpoint at all, by role: one mechanism, parametrised per endpoint.

These answer only "can this role ever do this?" (403, which reveals nothing);
whose records a viewer may see or change is the access policy's question.
"""

from collections.abc import Mapping

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView


class HasRole(BasePermission):
    """Only users of the given roles; make one with ``role_permission``."""

    roles: tuple[str, ...] = ()
    message = "Your role may not do this."

    def allowed_roles(self, request: Request, view: APIView) -> tuple[str, ...]:
        return self.roles

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return user.role in self.allowed_roles(request, view)


def role_permission(*roles: str, message: str) -> type[HasRole]:
    """A permission class that lets in only ``roles``, refusing others with ``message``."""
    return type("RolePermission", (HasRole,), {"roles": tuple(roles), "message": message})


class ReadWriteRoles(HasRole):
    """``readers`` read (safe methods); writes take the view's ``writers``, else the class's.

    A refused write says who may do it: ``writer_messages`` by the writers' roles,
    else ``write_message``. Subclass per app with the four set.
    """

    readers: tuple[str, ...] = ()
    writers: tuple[str, ...] = ()
    write_message = "Your role may not change this."
    writer_messages: Mapping[tuple[str, ...], str] = {}

    def allowed_roles(self, request: Request, view: APIView) -> tuple[str, ...]:
        if request.method in SAFE_METHODS:
            return self.readers
        writers = tuple(getattr(view, "writers", self.writers))
        # DRF makes a permission object per request: the message is this request's.
        self.message = self.writer_messages.get(writers, self.write_message)
        return writers


IsPatient = role_permission("patient", message="Only patients may do this.")
IsTherapist = role_permission("therapist", message="Only therapists may do this.")
IsFamily = role_permission("family", message="Only family members may do this.")
