"""Is a meeting's location a real place or only a town? Evidence from the feed itself.

A feed says so with ``approximate``. When it does not, two kinds of evidence do:
an address made only of area names (a town, county, state, postal code or
country: "Philadelphia, PA, USA", "Sherwood Park, Alberta, T8H 1T7, Canada"), and
one point shared by meetings at several different street addresses (a geocoder
that fell back to the town's centre). A named place ("Riverside Park, Springfield,
PA") or a corner ("Main St & 3rd Ave") is a place, house number or not.
"""

import re
from collections import defaultdict
from collections.abc import Iterable
from functools import lru_cache

# Meetings at this many different addresses on exactly one point: the point is a centroid.
CENTROID_PLACES = 3

# A postal code at the end of a part: US ZIP, Canadian, British, or four digits (most of Europe,
# Australia). "MA 02713" and "Alberta T5L 2M7" are a state with its postal code.
_POSTAL = re.compile(
    r"(?:^|\s)(?:\d{5}(?:-\d{4})?|[A-Z]\d[A-Z]\s?\d[A-Z]\d|[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}|\d{4})$",
    re.IGNORECASE,
)
# A two-letter state or province code, as geocoders write it ("PA", "MA", "AB").
_STATE_CODE = re.compile(r"^[A-Z]{2}$")
_PUNCTUATION = re.compile(r"[^\w\s]")
_DIGIT = re.compile(r"\d")

# A feed repeats its addresses and town names many times: remember the last few thousand.
_MEMORY = 8192


@lru_cache(maxsize=_MEMORY)
def fold(text: str) -> str:
    """Case, punctuation and spacing folded: 'St. Albert' and 'st albert' are one name."""
    return " ".join(_PUNCTUATION.sub(" ", text.casefold()).split())


@lru_cache(maxsize=_MEMORY)
def address_parts(address: str) -> tuple[str, ...]:
    """The comma-separated parts, empty ones and repeats left out."""
    parts: list[str] = []
    seen: set[str] = set()
    for part in address.split(","):
        part = part.strip()
        folded = fold(part)
        if part and folded not in seen:
            seen.add(folded)
            parts.append(part)
    return tuple(parts)


def _without_postal_code(part: str) -> str:
    return _POSTAL.sub("", part).strip()


def area_names(addresses: Iterable[str]) -> set[str]:
    """Names a feed uses for towns, states and countries.

    They are the parts that follow a numbered street ("12 Elm St, Lansdale, PA 19446,
    USA" names Lansdale, PA and USA): the last four parts after the first, without
    digits once a postal code is taken off.
    """
    names: set[str] = set()
    for address in addresses:
        parts = address_parts(address)
        if len(parts) < 2 or not _DIGIT.search(parts[0]):
            continue
        for part in parts[max(1, len(parts) - 4) :]:
            rest = _without_postal_code(part)
            if rest and not _DIGIT.search(rest):
                names.add(fold(rest))
    return names


def is_area_only(address: str, known: set[str]) -> bool:
    """True when every part of ``address`` names an area, not a place.

    ``known`` holds area names (the feed's and the record's own city, state, region...).
    Beside them, a part that is a state code or a postal code is an area, and so are
    the part before a state code (its town) and the parts after it (the country),
    unless they carry a number ("325 Cherry St. Philadelphia, PA 19106" is a street).
    """
    parts = address_parts(address)
    if not parts:
        return False
    rests = [_without_postal_code(part) for part in parts]
    areas = [not rest or fold(rest) in known for rest in rests]
    # The last state code: geocoders end with "town, ST postal, country".
    for index in reversed(range(len(rests))):
        if _STATE_CODE.match(rests[index]):
            for other in range(max(0, index - 1), len(parts)):
                areas[other] = areas[other] or not _DIGIT.search(rests[other])
            break
    return all(areas)


def place_key(address: str, location: str) -> str:
    """What tells two places apart at one point: the house numbers, else the first part.

    "320 E Swamp Rd" and "320 Swamp Rd" are one building written two ways.
    """
    parts = address_parts(address)
    first = parts[0] if parts else location
    numbers = re.findall(r"\d+", first)
    return " ".join(numbers) if numbers else fold(first)


def centroids(located: Iterable[tuple[float, float, str]]) -> set[tuple[float, float]]:
    """Points shared by meetings at CENTROID_PLACES or more different places.

    ``located`` gives (latitude, longitude, place key) for each meeting. Many
    meetings at one address (a clubhouse) are one place, not a centroid.
    """
    places: defaultdict[tuple[float, float], set[str]] = defaultdict(set)
    for latitude, longitude, place in located:
        places[(latitude, longitude)].add(place)
    return {point for point, held in places.items() if len(held) >= CENTROID_PLACES}
