"""Identity evidence: normalising exact identifiers and scoring fuzzy profile ↔ customer pairs.

Pure functions (no database) so the ingest step, the suggestion job and the
benchmark all score pairs the same way.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from math import sqrt

from rapidfuzz import fuzz

EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# A phone number written in a message: optional +, 9–15 digits with common separators.
PHONE_RE = re.compile(r"(?<![\w@])\+?\d[\d\s().-]{7,18}\d(?!\w)")

# Common English nicknames → the formal first name stored in CRMs.
NICKNAMES = {
    "bob": "robert",
    "rob": "robert",
    "bobby": "robert",
    "robbie": "robert",
    "bill": "william",
    "will": "william",
    "billy": "william",
    "liam": "william",
    "jim": "james",
    "jimmy": "james",
    "jamie": "james",
    "mike": "michael",
    "mikey": "michael",
    "mick": "michael",
    "dave": "david",
    "davey": "david",
    "tom": "thomas",
    "tommy": "thomas",
    "chris": "christopher",
    "kate": "katherine",
    "katie": "katherine",
    "kathy": "katherine",
    "liz": "elizabeth",
    "beth": "elizabeth",
    "lizzie": "elizabeth",
    "betty": "elizabeth",
    "jen": "jennifer",
    "jenny": "jennifer",
    "jess": "jessica",
    "jessie": "jessica",
    "dan": "daniel",
    "danny": "daniel",
    "joe": "joseph",
    "joey": "joseph",
    "matt": "matthew",
    "nick": "nicholas",
    "alex": "alexander",
    "sam": "samuel",
    "steve": "steven",
    "tony": "anthony",
    "andy": "andrew",
    "drew": "andrew",
    "ben": "benjamin",
    "rick": "richard",
    "dick": "richard",
    "rich": "richard",
    "pat": "patricia",
    "patty": "patricia",
    "sue": "susan",
    "suzy": "susan",
    "meg": "margaret",
    "maggie": "margaret",
    "peggy": "margaret",
    "ed": "edward",
    "eddie": "edward",
    "ted": "edward",
    "greg": "gregory",
    "ken": "kenneth",
    "larry": "lawrence",
    "ron": "ronald",
    "don": "donald",
    "tim": "timothy",
    "jon": "jonathan",
    "josh": "joshua",
    "abby": "abigail",
    "becky": "rebecca",
    "vicky": "victoria",
    "cathy": "catherine",
    "debbie": "deborah",
    "chuck": "charles",
    "charlie": "charles",
    "hank": "henry",
    "harry": "henry",
    "jack": "john",
    "johnny": "john",
    "fred": "frederick",
    "freddie": "frederick",
}


def fold(text: str) -> str:
    """Lower-case, strip accents, keep letters, digits and spaces."""
    text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9 ]+", " ", text.lower()).strip()


def norm_email(value: str) -> str:
    value = (value or "").strip().lower()
    return value if EMAIL_RE.fullmatch(value) else ""


def norm_phone(value: str) -> str:
    """Digits only, with a leading + kept; numbers shorter than 9 digits are not identifiers."""
    value = (value or "").strip()
    digits = re.sub(r"\D", "", value)
    if len(digits) < 9:
        return ""
    return digits[-10:] if len(digits) >= 10 else digits


def norm_handle(value: str) -> str:
    return (value or "").strip().lstrip("@").lower()


def identifier_values(email: str = "", phone: str = "", handles: Iterable[str] = ()) -> set[str]:
    """The keys stored in CustomerIdentifier.value for one customer."""
    out: set[str] = set()
    if e := norm_email(email):
        out.add(f"email:{e}")
    if p := norm_phone(phone):
        out.add(f"phone:{p}")
    for h in handles:
        if h := norm_handle(h):
            out.add(f"handle:{h}")
    return out


def evidence_in_text(text: str) -> set[str]:
    """Email addresses and phone numbers a customer wrote in a message (DMs usually)."""
    out = {f"email:{e}" for e in (norm_email(m) for m in EMAIL_RE.findall(text or "")) if e}
    for m in PHONE_RE.findall(text or ""):
        if p := norm_phone(m):
            out.add(f"phone:{p}")
    return out


def name_tokens(name: str) -> list[str]:
    toks = fold(name).split()
    if toks:
        toks[0] = NICKNAMES.get(toks[0], toks[0])
    return toks


def name_key(name: str) -> str:
    """Blocking key: the last name token (so candidates are fetched with one indexed query)."""
    toks = fold(name).split()
    return toks[-1][:60] if toks else ""


def first_key(name: str) -> str:
    """Second blocking key: the formal first name, when the name has a first and a last part."""
    toks = name_tokens(name)
    return toks[0][:60] if len(toks) >= 2 else ""


def candidate_keys(display_name: str, handle: str) -> set[str]:
    """Keys under which a profile's customer may be filed: every name token, and handle pieces."""
    keys = {t for t in fold(display_name).split() if len(t) >= 2}
    h = re.sub(r"[^a-z]", " ", norm_handle(handle)).split()
    keys.update(t for t in h if len(t) >= 3)
    for t in h:
        if len(t) >= 5:
            keys.add(t[1:])  # "jnardino" → "nardino"
    return keys


def _location(value: str) -> str:
    return fold((value or "").split(",")[0])


def _char_profile(texts: Iterable[str]) -> Counter[str]:
    c: Counter[str] = Counter()
    for t in texts:
        t = fold(t)
        c.update(t[i : i + 3] for i in range(max(0, len(t) - 2)))
    return c


def writing_similarity(a: Iterable[str], b: Iterable[str]) -> float | None:
    """Cosine of character trigram profiles; None when either side wrote nothing."""
    pa, pb = _char_profile(a), _char_profile(b)
    if not pa or not pb:
        return None
    dot = sum(v * pb.get(k, 0) for k, v in pa.items())
    return dot / (sqrt(sum(v * v for v in pa.values())) * sqrt(sum(v * v for v in pb.values())))


@dataclass
class ProfileFacts:
    display_name: str = ""
    handle: str = ""
    location: str = ""
    texts: list[str] = field(default_factory=list)


@dataclass
class CustomerFacts:
    name: str = ""
    location: str = ""
    texts: list[str] = field(default_factory=list)


def _handle_vs_name(handle: str, name: str) -> float:
    h = re.sub(r"[^a-z]", "", norm_handle(handle))
    toks = fold(name).split()
    if not h or not toks:
        return 0.0
    first, last = toks[0], toks[-1]
    forms = {first + last, first[0] + last, first + last[0], last + first, first, last + first[0]}
    return max(fuzz.ratio(h, f) for f in forms) / 100


def score_pair(p: ProfileFacts, c: CustomerFacts) -> tuple[float, dict[str, float]]:
    """A 0–1 belief that the profile is the customer, and the parts it came from (shown to agents)."""
    parts: dict[str, float] = {}
    pt, ct = name_tokens(p.display_name), name_tokens(c.name)
    if pt and ct:
        # Canonical (nickname-resolved) and raw forms, in written order and token-sorted:
        # a typo can break either the nickname lookup or the token sort, rarely both.
        raw_p, raw_c = fold(p.display_name), fold(c.name)
        parts["name"] = (
            max(
                fuzz.token_sort_ratio(" ".join(pt), " ".join(ct)),
                fuzz.ratio(" ".join(pt), " ".join(ct)),
                fuzz.ratio(raw_p, raw_c),
            )
            / 100
        )
        if len(pt) == 1 or len(ct) == 1:
            parts["name"] *= 0.85  # a single word is weak evidence
    if p.handle and c.name:
        parts["handle"] = _handle_vs_name(p.handle, c.name)
    name = max(parts.get("name", 0.0), 0.9 * parts.get("handle", 0.0))
    pl, cl = _location(p.location), _location(c.location)
    if pl and cl:
        parts["location"] = fuzz.ratio(pl, cl) / 100
        score = 0.72 * name + 0.28 * parts["location"]
    else:
        score = 0.9 * name
    ws = writing_similarity(p.texts, c.texts) if p.texts and c.texts else None
    if ws is not None:
        parts["writing"] = round(ws, 3)
        score = 0.85 * score + 0.15 * ws
    return round(min(1.0, score), 4), {k: round(v, 3) for k, v in parts.items()}
