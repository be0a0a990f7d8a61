"""The therapist's pages (being built)."""

from django.shortcuts import redirect

from backend.console.access import console_page, home_for, not_found_page


def home(request):
    if not request.user.is_authenticated:
        return redirect("console:sign-in")
    return redirect(home_for(request.user))


@console_page()
def _todo(request, **kwargs):
    return not_found_page(request)


caseload = patient = patient_print = plan_suggest = nudge_suggestions = feed = feed_review = _todo
homework = homework_review = _todo
