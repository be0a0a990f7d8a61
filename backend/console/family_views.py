"""Placeholder while this branch is built: replaced by the staff and family pages before merge."""

from backend.console.access import console_page, not_found_page


@console_page()
def _todo(request, **kwargs):
    return not_found_page(request)


therapists = therapist_deactivate = links = feeds = feed_import = home = patient = _todo
