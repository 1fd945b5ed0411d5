"""Where mentions come from: a social profile's free-text location → a place code for the war room's map.

Networks hand us what the author typed ("Boston, MA", "NYC", "Toronto, Ontario, Canada", "Earth",
"in a galaxy far, far away ✨"), not coordinates. `place_of` reads it against a small gazetteer
(`data/places.json.gz`, built from GeoNames by `scripts/build_gazetteer.py`) and answers a US state as
`US-MA`, any other country as its ISO code (`CA`, `GB`), or None when it cannot tell. Precision comes first:
a wrong state on a map misleads a crisis team more than a blank does, so a text with no recognised name, or
only words that happen to be towns somewhere ("Surprise", "Nice"), gives None.

Profiles repeat their location on every mention, so answers are memoised per distinct text; the ingest
pipeline calls this once per inbound mention with a location (a dict lookup after the first time).
"""

from __future__ import annotations

import gzip
import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).with_name("data") / "places.json.gz"

#: Nicknames people write that GeoNames does not list.
ALIASES = {
    "nyc": "US-NY",
    "new york city": "US-NY",
    "brooklyn": "US-NY",
    "bk": "US-NY",
    "manhattan": "US-NY",
    "queens": "US-NY",
    "the bronx": "US-NY",
    "long island": "US-NY",
    "harlem": "US-NY",
    "la": "US-CA",
    "sf": "US-CA",
    "san fran": "US-CA",
    "bay area": "US-CA",
    "sf bay area": "US-CA",
    "silicon valley": "US-CA",
    "socal": "US-CA",
    "norcal": "US-CA",
    "so cal": "US-CA",
    "dc": "US-DC",
    "d c": "US-DC",
    "washington dc": "US-DC",
    "washington d c": "US-DC",
    "philly": "US-PA",
    "atl": "US-GA",
    "nola": "US-LA",
    "dfw": "US-TX",
    "atx": "US-TX",
    "htx": "US-TX",
    "chi town": "US-IL",
    "chitown": "US-IL",
    "vegas": "US-NV",
    "mpls": "US-MN",
    "twin cities": "US-MN",
    "pnw": None,
    "new england": None,
    "midwest": None,
    "logan airport": "US-MA",
    "logan international airport": "US-MA",
    "usa": "US",
    "us": "US",
    "u s": "US",
    "u s a": "US",
    "america": "US",
    "united states of america": "US",
    "uk": "GB",
    "u k": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "great britain": "GB",
    "britain": "GB",
    "uae": "AE",
    "holland": "NL",
    "netherlands": "NL",
    "l a": "US-CA",
    "swfl": "US-FL",
    "nj": "US-NJ",
    "the netherlands": "NL",
    "south korea": "KR",
    "russia": "RU",
    "ontario": "CA",
    "quebec": "CA",
    "british columbia": "CA",
    "alberta": "CA",
}

#: Town names that are ordinary words in a profile's location ("Living the dream in Paradise" is no place).
NOT_PLACES = frozenset(
    "surprise mobile orange independence normal temple paradise enterprise spring deal reading bath nice split "
    "male batman home love none nowhere everywhere anywhere somewhere here there earth world global worldwide "
    "planet moon heaven hell universe internet online sale march victoria florence eugene trinity lafayette "
    "columbia aurora university college center city town beach island airport".split()
)

_SEGMENTS = re.compile(r"\s*(?:/|\||\\|&|\+|;|•|·| - | and | or | via | to | -> | → )\s*")
_PARTS = re.compile(r"\s*,\s*")
_WORD = re.compile(r"[A-Za-z]+")
MAX_TEXT = 200  # profile locations are short; a longer text is not a location


@dataclass(frozen=True)
class Gazetteer:
    countries: dict[str, dict[str, Any]]
    country_names: dict[str, str]
    states: dict[str, dict[str, Any]]
    state_names: dict[str, str]
    cities: dict[str, list[list[Any]]]


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    raw = json.loads(gzip.decompress(DATA.read_bytes()))
    return Gazetteer(raw["countries"], raw["country_names"], raw["states"], raw["state_names"], raw["cities"])


def _key(text: str) -> str:
    s = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    s = "".join(ch if ch.isalnum() else " " for ch in s)
    return " ".join(s.split())


@dataclass
class _Reading:
    states: list[str]
    countries: list[str]
    cities: list[list[Any]]  # [[place, population], ...], most populous first


def _read_part(part: str, after_comma: bool) -> _Reading:
    """Every reading of one comma-separated part ("McKinney TX", "Colorado Springs", "USA")."""
    g = gazetteer()
    r = _Reading([], [], [])
    k = _key(part)
    if not k:
        return r
    raw_words = _WORD.findall(part)
    if after_comma and len(k) == 2 and k.upper() in g.states:  # "New Orleans, la": Louisiana, not L.A.
        r.states.append(k.upper())
        return r
    if k in ALIASES:
        place = ALIASES[k]
        if place is None:
            return r
        if place.startswith("US-"):
            r.states.append(place[3:])
        else:
            r.countries.append(place)
        return r
    if k in g.state_names:
        r.states.append(g.state_names[k])
        return r
    if k in g.country_names and len(k) > 3:  # full names only: "can", "per" are words, not Canada or Peru
        r.countries.append(g.country_names[k])
        return r
    # A two-letter state code: "TX" anywhere, or "va" as a whole part after a comma ("Alexandria, Va").
    for w in raw_words:
        if len(w) == 2 and (w.isupper() or (after_comma and len(raw_words) == 1)) and w.upper() in g.states:
            r.states.append(w.upper())
            alias = ALIASES.get(w.lower())
            if alias and alias.startswith("US-") and alias[3:] != w.upper():
                r.states.append(alias[3:])  # "LA" alone is Los Angeles; "Baton Rouge LA" keeps Louisiana via the city
    if k in g.cities and k not in NOT_PLACES:
        r.cities.extend(g.cities[k])
        return r
    words = k.split()
    before = len(r.states)
    # Longest runs of words first: "colorado springs" before "colorado".
    for n in range(min(4, len(words)), 0, -1):
        for i in range(len(words) - n + 1):
            gram = " ".join(words[i : i + n])
            if n == 1 and gram in NOT_PLACES:
                continue
            if n == 1 and len(gram) < 3 and not (gram in ALIASES and gram.upper() in raw_words):
                continue  # "la", "us" are words; "LA", "UK" are places
            if gram in ALIASES and ALIASES[gram]:
                place = str(ALIASES[gram])
                (r.states if place.startswith("US-") else r.countries).append(place.removeprefix("US-"))
            elif gram in g.state_names:
                r.states.append(g.state_names[gram])
            elif gram in g.country_names and len(gram) > 3:
                r.countries.append(g.country_names[gram])
            elif gram in g.cities and not r.cities:
                r.cities.extend(g.cities[gram])
        if len(r.states) > before or r.countries or r.cities:
            break
    return r


def _resolve_segment(segment: str) -> str | None:
    parts = [p for p in _PARTS.split(segment) if p.strip()]
    states: list[str] = []
    countries: list[str] = []
    cities: list[list[Any]] = []
    for i, part in enumerate(parts):
        r = _read_part(part, after_comma=i > 0)
        states += r.states
        countries += r.countries
        if not cities:
            cities = r.cities
    # A city that agrees with a state or country named beside it: "Vancouver, CA" is Canada, "Portland, OR" Oregon.
    named = {f"US-{s}" for s in states} | set(countries) | ({"US"} if states else set())
    for place, _pop in cities:
        if place in named or (place.startswith("US-") and "US" in countries and not states):
            return str(place)
        if states and "CA" in states and place == "CA":  # "Toronto, CA": the code is Canada's, not California's
            return "CA"
    if states:  # the last one named qualifies the others: "Washington, DC" is DC, not Washington state
        return f"US-{states[-1]}"
    foreign = [c for c in countries if c != "US"]
    if foreign:
        return foreign[0]
    if cities:
        return str(cities[0][0])
    if countries:
        return countries[0]
    return None


@lru_cache(maxsize=65536)
def place_of(location: str) -> str | None:
    """`US-XX` for a US state, an ISO 3166 country code otherwise, None when the text names no place."""
    if not location or len(location) > MAX_TEXT or "http" in location:
        return None
    for segment in _SEGMENTS.split(location.strip()):
        place = _resolve_segment(segment)
        if place:
            return place
    return None


def describe(place: str) -> dict[str, Any]:
    """Display name and map ids of a place code: a US state's FIPS code, a country's ISO numeric code."""
    g = gazetteer()
    if place.startswith("US-"):
        st = g.states.get(place[3:], {})
        return {"place": place, "name": st.get("name", place), "country": "US", "fips": st.get("fips")}
    c = g.countries.get(place, {})
    return {"place": place, "name": c.get("name", place), "country": place, "iso_numeric": c.get("n")}
