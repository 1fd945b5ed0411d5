"""Temperature check: how risky is it to launch a campaign (or a hashtag) right now?

Pure scoring. The listening services count mentions in the database (recent
period vs a baseline period, around the brand and around each campaign term)
and pass the numbers here; this module turns them into a 0-100 risk score and
the reasons behind it, in words a marketer can act on.

Why these factors: the well-known campaign failures (#McDStories, #AskJPM,
#QantasLuxury, #myNYPD) share two things: the brand was already under fire,
and the hashtag invited open-ended stories or questions that critics could
fill in. So the score weighs the mood toward the brand (recent vs usual), a
surge of negative volume, how negative the conversation around the campaign's
terms already is, open incidents, and whether a hashtag is question- or
story-style.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = [
    "BrandStats",
    "TermStats",
    "TemperatureResult",
    "open_ended_hashtag_reason",
    "temperature_check",
]

_OPEN_PREFIX = re.compile(r"^#?(ask|tell|share|describe|showus|show_us|yourstory|whyi)", re.I)
_OPEN_SUFFIX = re.compile(r"(stories|story|memories|moments|experience|experiences|confessions|questions)$", re.I)
_OPEN_PHRASES = ("tell us", "share your", "ask us", "ask me anything", "ama", "what do you", "your story")


@dataclass(frozen=True, slots=True)
class BrandStats:
    """Mentions of the brand in the recent period and in a longer baseline period."""

    recent_total: int
    recent_negative: int
    baseline_total: int
    baseline_negative: int
    recent_days: float = 7.0
    baseline_days: float = 28.0
    open_incidents: int = 0


@dataclass(frozen=True, slots=True)
class TermStats:
    """Mentions containing one campaign term (keyword or hashtag), recent and baseline."""

    term: str
    recent_total: int
    recent_negative: int
    baseline_total: int = 0
    baseline_negative: int = 0


@dataclass(slots=True)
class TemperatureResult:
    score: int  # 0 (calm) .. 100 (do not launch)
    level: str  # calm | warm | hot | boiling
    reasons: list[str] = field(default_factory=list)
    factors: dict[str, float] = field(default_factory=dict)  # points per factor, for the UI breakdown


def _neg_share(neg: int, total: int, prior: float = 0.3, strength: float = 20.0) -> float:
    """Negative share shrunk toward a prior so ten mentions cannot look like a trend."""
    return (neg + prior * strength) / (total + strength)


def open_ended_hashtag_reason(tag: str) -> str | None:
    """Why a hashtag invites hijacking (question/story style), or None.

    >>> open_ended_hashtag_reason("#AskJPM")
    'a question-style hashtag (#AskJPM) invites hijacking'
    >>> open_ended_hashtag_reason("#McDStories")
    'a story-style hashtag (#McDStories) invites people to share bad experiences'
    """
    t = tag.strip()
    if not t:
        return None
    shown = t if t.startswith("#") else "#" + t
    bare = t.lstrip("#")
    low = bare.lower()
    if _OPEN_PREFIX.match(bare) and (low.startswith(("ask", "tell")) or len(bare) > 5):
        return f"a question-style hashtag ({shown}) invites hijacking"
    if _OPEN_SUFFIX.search(bare):
        return f"a story-style hashtag ({shown}) invites people to share bad experiences"
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", bare).replace("_", " ").lower()
    for phrase in _OPEN_PHRASES:
        if re.search(rf"\b{re.escape(phrase)}\b", spaced):
            return f"an open-ended hashtag ({shown}) asks the public to fill in the blank"
    return None


def temperature_check(
    brand: BrandStats,
    terms: list[TermStats] | None = None,
    hashtags: list[str] | None = None,
    brand_name: str = "this brand",
) -> TemperatureResult:
    """Risk score 0-100 and reasons, strongest first.

    Points: brand mood up to 35, negative-volume surge up to 20, campaign terms
    up to 25, open-ended hashtag 15 (+5 if the mood is already bad), open
    incidents up to 20. Capped at 100.
    """
    factors: dict[str, float] = {}
    reasons: list[tuple[float, str]] = []  # (points, reason), in the order found

    mood_pts, base_share = _mood_points(brand, brand_name, reasons)
    factors["mood"] = round(mood_pts, 1)
    surge_pts = _surge_points(brand, reasons)
    factors["surge"] = round(surge_pts, 1)
    term_pts = _term_points(terms or [], base_share, reasons)
    factors["terms"] = round(term_pts, 1)

    tag_pts = 0.0
    for tag in hashtags or []:
        why = open_ended_hashtag_reason(tag)
        if why:
            tag_pts = 15.0 + (5.0 if mood_pts >= 10 or term_pts >= 10 else 0.0)
            reasons.append((tag_pts, why))
    factors["hashtag"] = tag_pts

    inc_pts = min(20.0, 10.0 * brand.open_incidents)
    if inc_pts:
        n = brand.open_incidents
        reasons.append((inc_pts, f"{n} open incident{'s' if n != 1 else ''} in the war room"))
    factors["incidents"] = inc_pts

    score = int(round(min(100.0, mood_pts + surge_pts + term_pts + tag_pts + inc_pts)))
    level = "calm" if score < 25 else "warm" if score < 50 else "hot" if score < 75 else "boiling"
    reasons.sort(key=lambda r: -r[0])
    text = [r for _, r in reasons]
    if not text and brand.baseline_total == 0:
        text = [f"nothing around the campaign looks risky; {brand_name} has no baseline yet to say what is usual"]
    elif not text:
        text = [f"the mood toward {brand_name} is normal and nothing around the campaign looks risky"]
    return TemperatureResult(score=score, level=level, reasons=text, factors=factors)


def _mood_points(brand: BrandStats, brand_name: str, reasons: list[tuple[float, str]]) -> tuple[float, float]:
    """Points for the mood toward the brand (recent negative share against its usual), and that usual share."""
    recent_share = _neg_share(brand.recent_negative, brand.recent_total)
    base_share = _neg_share(brand.baseline_negative, brand.baseline_total)
    mood_ratio = recent_share / max(base_share, 0.02)
    mood_pts = 0.0
    # without baseline mentions "usual" is only the prior: a ratio against it would be invented
    if brand.baseline_total and mood_ratio > 1.1:
        mood_pts = min(35.0, (mood_ratio - 1.0) * 25.0)
        reasons.append(
            (
                mood_pts,
                f"the mood toward {brand_name} is {mood_ratio:.1f}× more negative than usual "
                f"({recent_share:.0%} negative vs {base_share:.0%})",
            )
        )
    # already very negative even if not worse than usual
    if recent_share >= 0.5 and mood_pts < 10:
        extra = min(10.0, (recent_share - 0.5) * 40.0)
        mood_pts += extra
        reasons.append((extra, f"{recent_share:.0%} of recent mentions of {brand_name} are negative"))
    return mood_pts, base_share


def _surge_points(brand: BrandStats, reasons: list[tuple[float, str]]) -> float:
    """Points for a surge of negative volume: recent negatives a day against the baseline's.

    No baseline mentions means no usual daily volume: any ratio would compare
    against zero and read as a huge surge, so the factor stays out.
    """
    if brand.baseline_total == 0:
        return 0.0
    recent_rate = brand.recent_negative / max(brand.recent_days, 1e-6)
    base_rate = brand.baseline_negative / max(brand.baseline_days, 1e-6)
    surge = (recent_rate + 1.0) / (base_rate + 1.0)
    surge_pts = 0.0
    if surge > 1.3 and brand.recent_negative >= 10:
        surge_pts = min(20.0, (surge - 1.0) * 10.0)
        reasons.append((surge_pts, f"negative mentions are running at {surge:.1f}× the usual daily volume"))
    return surge_pts


def _term_points(terms: list[TermStats], base_share: float, reasons: list[tuple[float, str]]) -> float:
    """Points for the most negative conversation around a campaign term (each negative term gives a reason)."""
    term_pts = 0.0
    for t in terms:
        share = _neg_share(t.recent_negative, t.recent_total)
        base = _neg_share(t.baseline_negative, t.baseline_total) if t.baseline_total else base_share
        if t.recent_total >= 5 and share >= 0.4:
            pts = min(25.0, (share - 0.3) * 50.0 * min(1.0, t.recent_total / 50.0) + max(0.0, share - base) * 20)
            if pts > term_pts:
                term_pts = pts
            reasons.append(
                (
                    pts,
                    f"conversation around “{t.term}” is {share:.0%} negative ({t.recent_negative} of "
                    f"{t.recent_total} recent mentions)",
                )
            )
    return term_pts
