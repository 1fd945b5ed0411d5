"""The demo's past week as a care team lived it: the brands' answers on X, and a CSAT survey of the customers.

Why: Reports, SLA and Voice of the customer describe what a team did and what its customers said. A history
of mentions nobody answered shows SLA 0 % in red, no response times and empty CSAT, which teaches a visitor
nothing. Both parts enter through the roads a real team's data takes:
- the answers are the brands' own posts, imported with the history as a connected account's timeline brings
  them (direction "out", in reply to the customer's tweet). Ingest threads them, sets first-response times
  and stops the SLA clocks at the time each was posted (`workflow.services.sla_hooks.on_brand_answers`);
- the survey is a CSV export, imported as `hubbub import surveys` imports one, comments analysed on the way.
The texts come from templates (no real agent's or customer's words); the draws are seeded, so every demo
shows the same week. Some complaints go unanswered, some answers are late and some customers are unhappy:
a team's real week is not all green.
"""

from __future__ import annotations

import csv
import math
import random
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hubbub.connectors.events import InboundEvent
from hubbub.crm.models import Customer
from hubbub.insights import importing as survey_importing

#: Chance that a brand answered a tweet, by what the tweet asks for (care teams answer complaints first).
ANSWER_CHANCE = {"complaint": 0.85, "question": 0.75, "other": 0.35}
#: Minutes to the answer: log-normal, quickest for complaints (which the routing makes urgent), so most meet
#: their target and a tail does not.
MEDIAN_ANSWER_MINUTES = {"complaint": 12.0, "question": 20.0, "other": 45.0}
ANSWER_SPREAD = 0.9
MIN_ANSWER_MINUTES, MAX_ANSWER_MINUTES = 2.0, 16 * 60.0
#: Share of answered customers (those with a CRM record, so with an e-mail) who filled in the survey.
SURVEY_SHARE = 0.4
AGENTS = ("DM", "JR", "KL", "SP", "TW")

_COMPLAINT = re.compile(
    r"\b(delay\w*|cancel\w*|lost|bag\w*|luggage|wait\w*|hold|worst|never|rude|stuck|late|missed|broken|refund)\b", re.I
)
_ANSWERS = {
    "bag": "So sorry your bag didn't make it with you. Please DM us your file reference and we'll chase it.",
    "delay": "We're sorry about the delay, and we know how frustrating it is. DM us your confirmation code and "
    "we'll look at your options.",
    "cancel": "Sorry your flight was cancelled. DM us your confirmation code and we'll get you rebooked.",
    "refund": "We can help with that refund: please DM us your confirmation code and the card's last 4 digits.",
    "hold": "Sorry for the wait on the phone. DM us the details and we'll take it from here.",
    "question": "Happy to help! DM us your confirmation code and we'll check for you.",
    "complaint": "That isn't the experience we want for you. Please DM us the details so we can make it right.",
    "other": "Thanks for flying with us, we appreciate you taking the time to share this!",
}
_COMMENTS = {
    5: ["Quick and friendly answer on Twitter, sorted in minutes.", "Great help from the social team.", ""],
    4: ["Got an answer fast, the fix took a bit longer.", "Helpful, thanks.", ""],
    3: ["Answered, but I had to repeat my booking details twice.", "OK in the end.", ""],
    2: ["Took hours to hear back and the flight was already gone.", "Slow answer, no real help."],
    1: ["Nobody could tell me where my bag was.", "Still waiting for the refund they promised.", "Terrible."],
}


@dataclass
class History:
    """The history with the brands' answers merged in (in time order), and who was answered how fast."""

    events: list[InboundEvent]
    answered: list[tuple[InboundEvent, InboundEvent, float]]  # (customer's tweet, its answer, minutes to answer)


def need(text: str) -> str:
    """What a tweet asks of the brand, well enough to choose whether and how to answer it."""
    if _COMPLAINT.search(text):
        return "complaint"
    return "question" if "?" in text else "other"


def _answer_text(ev: InboundEvent, kind: str, rng: random.Random) -> str:
    lowered = ev.text.lower()
    topic = next((k for k in ("bag", "cancel", "refund", "hold", "delay") if k in lowered), kind)
    return f"@{ev.author_handle} {_ANSWERS[topic]} ^{rng.choice(AGENTS)}"


def with_brand_answers(history: list[InboundEvent], handles: dict[str, str], rng: random.Random) -> History:
    """The brands' answers to the history's customers, as their own timelines would bring them: only those
    posted before the history ends (a later one has not happened yet when the demo starts)."""
    if not history:
        return History([], [])
    end = history[-1].created_at
    answers: list[InboundEvent] = []
    answered: list[tuple[InboundEvent, InboundEvent, float]] = []
    for ev in history:
        handle = handles.get(ev.brand_slug)
        if ev.direction != "in" or not handle or ev.author_handle.casefold() == handle.casefold():
            continue
        kind = need(ev.text)
        if rng.random() >= ANSWER_CHANCE[kind]:
            continue
        minutes = math.exp(rng.gauss(math.log(MEDIAN_ANSWER_MINUTES[kind]), ANSWER_SPREAD))
        minutes = min(max(minutes, MIN_ANSWER_MINUTES), MAX_ANSWER_MINUTES)
        at = ev.created_at + timedelta(minutes=minutes)
        if at >= end:
            continue
        answer = InboundEvent(
            network=ev.network,
            external_id=f"{ev.external_id}-answer",
            text=_answer_text(ev, kind, rng),
            created_at=at,
            author_id=handle,
            author_handle=handle,
            author_name=handle,
            brand_slug=ev.brand_slug,
            direction="out",
            in_reply_to=ev.external_id,
        )
        answers.append(answer)
        answered.append((ev, answer, minutes))
    events = sorted(history + answers, key=lambda e: e.created_at)
    return History(events, answered)


def _score(minutes: float, rng: random.Random) -> int:
    """Satisfaction falls with the wait for an answer, with the spread real surveys have."""
    base = 4.6 if minutes <= 30 else 4.0 if minutes <= 60 else 3.0 if minutes <= 180 else 2.2
    return min(5, max(1, round(rng.gauss(base, 0.9))))


def survey_rows(history: History, org_id: int, rng: random.Random) -> list[dict[str, str]]:
    """One CSAT response from a share of the answered customers who have a CRM record (the demo's customers
    are named after their handles), a few hours after the answer."""
    emails = dict(Customer.objects.filter(organization_id=org_id).values_list("name", "email"))
    rows: list[dict[str, str]] = []
    asked: set[str] = set()  # a survey tool asks each customer once a week
    for tweet, answer, minutes in history.answered:
        email = emails.get(tweet.author_handle)
        if not email or email in asked or rng.random() >= SURVEY_SHARE:
            continue
        asked.add(email)
        score = _score(minutes, rng)
        submitted: datetime = answer.created_at + timedelta(hours=rng.uniform(1, 20))
        if submitted >= history.events[-1].created_at:
            continue
        rows.append(
            {
                "Response ID": f"demo-csat-{tweet.external_id}",
                "Submitted At": submitted.isoformat(),
                "CSAT": str(score),
                "Email": email,
                "Brand": answer.brand_slug,
                "Channel": "x",
                "Comment": rng.choice(_COMMENTS[score]),
            }
        )
    return rows


def import_survey(org_id: int, rows: list[dict[str, str]]) -> dict[str, Any]:
    """Import the rows as the survey tool's CSV export, through the survey importer."""
    if not rows:
        return {"imported": 0}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "demo_csat_export.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        return survey_importing.run(org_id, path, scale="csat")
