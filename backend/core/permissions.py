from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView


class HasRole(BasePermission):
    """Only users of the given roles; subclass with ``roles`` set."""

    roles: tuple[str, ...] = ()
    message = "Your role may not do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.role in self.roles)


class IsPatient(HasRole):
    roles = ("patient",)
    message = "Only patients may do this."


class IsTherapist(HasRole):
    roles = ("therapist",)
    message = "Only therapists may do this."


class IsFamily(HasRole):
    roles = ("family",)
    message = "Only family members may do this."
