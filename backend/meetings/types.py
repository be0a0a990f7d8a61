"""Meeting type codes and their English names.

The Meeting Guide specification's codes (code4recovery/spec), the online code
``ONL`` that every real feed uses, and codes some fellowships add. Names are ours,
in plain English; tests check that every code of the specification is here.
"""

SPEC_TYPES: dict[str, str] = {
    "11": "11th Step Meditation",
    "12x12": "12 Steps & 12 Traditions",
    "A": "Secular",
    "ABSI": "As Bill Sees It",
    "AF": "Afrikaans",
    "AL": "Concurrent with Alateen",
    "AL-AN": "Concurrent with Al-Anon",
    "AM": "Amharic",
    "AR": "Arabic",
    "ASL": "American Sign Language",
    "B": "Big Book",
    "BA": "Babysitting Available",
    "BE": "Newcomer",
    "BG": "Bulgarian",
    "BI": "Bisexual",
    "BRK": "Breakfast",
    "C": "Closed",
    "CAN": "Candlelight",
    "CF": "Child-Friendly",
    "D": "Discussion",
    "DA": "Danish",
    "DB": "Digital Basket",
    "DD": "Dual Diagnosis",
    "DE": "German",
    "DR": "Daily Reflections",
    "EL": "Greek",
    "EN": "English",
    "FA": "Persian",
    "FF": "Fragrance Free",
    "FI": "Finnish",
    "FR": "French",
    "G": "Gay",
    "GR": "Grapevine",
    "H": "Birthday",
    "HE": "Hebrew",
    "HI": "Hindi",
    "HR": "Croatian",
    "HU": "Hungarian",
    "IS": "Icelandic",
    "ITA": "Italian",
    "JA": "Japanese",
    "KA": "Georgian",
    "KOR": "Korean",
    "L": "Lesbian",
    "LGBTQ": "LGBTQ",
    "LIT": "Literature",
    "LS": "Living Sober",
    "LT": "Lithuanian",
    "M": "Men",
    "MED": "Meditation",
    "ML": "Malayalam",
    "MT": "Maltese",
    "N": "Native American",
    "NB": "Non-Binary",
    "NDG": "Indigenous",
    "NE": "Nepali",
    "NL": "Dutch",
    "NO": "Norwegian",
    "O": "Open",
    "OUT": "Outdoor",
    "P": "Professionals",
    "POA": "Proof of Attendance",
    "POC": "People of Color",
    "POL": "Polish",
    "POR": "Portuguese",
    "PUN": "Punjabi",
    "RUS": "Russian",
    "S": "Spanish",
    "SEN": "Seniors",
    "SK": "Slovak",
    "SL": "Slovenian",
    "SM": "Smoking Permitted",
    "SP": "Speaker",
    "ST": "Step Study",
    "SV": "Swedish",
    "T": "Transgender",
    "TC": "Location Temporarily Closed",
    "TH": "Thai",
    "TL": "Tagalog",
    "TR": "Tradition Study",
    "TUR": "Turkish",
    "UK": "Ukrainian",
    "W": "Women",
    "X": "Wheelchair Access",
    "XB": "Wheelchair-Accessible Bathroom",
    "XT": "Cross Talk Permitted",
    "Y": "Young People",
}

ONLINE = "ONL"
OPEN, CLOSED, TEMPORARILY_CLOSED = "O", "C", "TC"

# Codes a fellowship uses beyond the specification (keys are lower-case fellowship names).
FELLOWSHIP_TYPES: dict[str, dict[str, str]] = {
    "al-anon": {"AC": "Adult Children", "LGBTQIA": "LGBTQIA+", "Y": "Alateen"},
}

TYPES: dict[str, str] = {**SPEC_TYPES, ONLINE: "Online"}


def types_for(fellowship: str) -> dict[str, str]:
    """Every code a feed of this fellowship may use, with its name."""
    return {**TYPES, **FELLOWSHIP_TYPES.get(fellowship.strip().lower(), {})}


ALL_CODES: frozenset[str] = frozenset(TYPES) | frozenset(
    code for extra in FELLOWSHIP_TYPES.values() for code in extra
)


def type_name(code: str, fellowship: str) -> str:
    return types_for(fellowship).get(code, code)


# BMLT format keys (NA's meeting server) -> Meeting Guide codes. Keys not here are dropped.
BMLT_FORMATS: dict[str, str] = {
    "O": "O",
    "C": "C",
    "B": "BE",
    "BEG": "BE",
    "NC": "C",
    "D": "D",
    "DISC": "D",
    "ES": "S",
    "SPA": "S",
    "M": "M",
    "W": "W",
    "WC": "X",
    "YP": "Y",
    "ST": "ST",
    "STEP": "ST",
    "TR": "TR",
    "AG": "A",
    "ME": "MED",
    "MED": "MED",
    "GL": "LGBTQ",
    "LGBTQ": "LGBTQ",
    "SL": "ASL",
    "ASL": "ASL",
    "SD": "SP",
    "SO": "SP",
    "SPK": "SP",
    "CW": "CF",
    "CS": "CF",
    "CL": "CAN",
    "LIT": "LIT",
    "TC": "TC",
    "VM": "ONL",
}
