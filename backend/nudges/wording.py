"""What a lock screen may show: nothing that says the person is in treatment.

42 CFR Part 2 treats even the fact that someone is a patient as a disclosure, and
a phone's lock screen is seen by anyone nearby. Titles are checked word by word
against what would give it away: substances, cravings, recovery, treatment and
the fellowships' names.
"""

import re
import unicodedata

REVEALING = [
    r"alcohol\w*", r"drink\w*", r"drunk", r"booze", r"beer", r"wine", r"liquor", r"sober\w*",
    r"sobriety", r"recover\w*", r"relaps\w*", r"laps\w*", r"crav\w*", r"urge\w*", r"substance\w*",
    r"drug\w*", r"opioid\w*", r"opiate\w*", r"heroin", r"fentanyl", r"methadone", r"suboxone",
    r"naloxone", r"narcan", r"cocaine", r"crack", r"meth\w*", r"stimulant\w*", r"cannabis",
    r"marijuana", r"weed", r"pills?", r"benzo\w*", r"nicotine", r"vap\w*", r"smok\w*",
    r"gambl\w*", r"betting", r"addict\w*", r"rehab\w*", r"detox\w*", r"treatment\w*",
    r"therap\w*", r"counsel\w*", r"clinic\w*", r"patient\w*", r"iop", r"aa", r"na", r"al-anon",
    r"alanon", r"alateen", r"smart recovery", r"12[- ]?step\w*", r"twelve[- ]step\w*",
    r"sponsor\w*", r"higher power", r"using", r"high", r"clean", r"overdose\w*", r"od",
    r"withdraw\w*", r"trigger\w*", r"halt", r"crisis", r"suicid\w*", r"988", r"programm?e?s?",
]  # fmt: skip
# Words are runs of letters and digits: "non-alcoholic" holds "alcoholic".
_REVEALING_RE = re.compile(r"(?<![^\W_])(" + "|".join(REVEALING) + r")(?![^\W_])", re.IGNORECASE)
# Letters that look Latin but are not, as people use them to slip words past a filter.
_LOOKALIKES = str.maketrans(
    "аеорсухіјкмнтвАЕОРСУХІЈКМНТВοαερνιτκΟΑΕΡΝΙΤΚ",
    "aeopcyxijkmhtbAEOPCYXIJKMHTBoaepvitkOAEPNITK",
)


def _plain(text: str) -> str:
    """Text as a reader sees it: no invisible characters, accents or look-alike letters."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Mn", "Me", "Cf", "Cc"))
    return text.translate(_LOOKALIKES).casefold()


# Neutral defaults per rule kind (the patient may choose their own words).
DEFAULT_TITLES = {
    "checkin": "Time for your daily note",
    "meeting": "Your plans start soon",
    "homework": "Something you planned is due soon",
    "high_risk": "A good moment for a short break",
    "session": "Something on your calendar starts soon",
    "custom": "A reminder you set",
    "measure": "A few quick questions are ready for you",
}
URGENT_TITLE = "Someone you support asked for attention. Open the app."


def revealing_words(text: str) -> list[str]:
    """The words of ``text`` that would reveal treatment on a lock screen."""
    return sorted({match.group(0).lower() for match in _REVEALING_RE.finditer(_plain(text))})
