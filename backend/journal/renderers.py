"""CSV for the journal export (``?format=csv``)."""

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from rest_framework.renderers import BaseRenderer

# A spreadsheet runs a cell that starts with one of these as a formula (CSV
# injection); a leading apostrophe makes it text again.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
LIST_SEPARATOR = "; "


def csv_cell(value: Any) -> str | int:
    """One value as a CSV cell: text guarded against formulas, lists joined, None empty.

    Numbers stay numbers (a mood of -1 is not a formula); every other value becomes
    text first and is guarded, so no path around the guard exists.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        text = value.isoformat()
    elif isinstance(value, list | tuple):
        text = LIST_SEPARATOR.join(str(item) for item in value)
    else:
        text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class CSVRenderer(BaseRenderer):
    """Renders a ``backend.journal.reports.Table``: a header row, then one row per record.

    UTF-8 without a byte-order mark, rows ended by CRLF (RFC 4180).
    """

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if data is None:
            return b""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(data.header)
        for row in data.rows:
            writer.writerow([csv_cell(value) for value in row])
        return buffer.getvalue().encode("utf-8")
