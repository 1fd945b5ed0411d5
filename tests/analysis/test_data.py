"""Splits are fixed before modelling and near-duplicates never straddle them."""

from __future__ import annotations

import collections

from hubbub.analysis import data
from hubbub.analysis.types import INTENTS, JOURNEY_STAGES


def test_near_duplicates_share_a_split() -> None:
    a = data.split_of("@united lost my bag AGAIN!! http://t.co/x")
    b = data.split_of("@AmericanAir lost my bag again")
    assert a == b


def test_split_proportions(shared_data: str) -> None:
    rows = data.load_airline(shared_data)
    counts = collections.Counter(r.split for r in rows)
    assert 0.65 < counts["train"] / len(rows) < 0.75
    assert 0.12 < counts["test"] / len(rows) < 0.18
    groups: dict[str, set[str]] = {}
    for r in rows:
        groups.setdefault(data.normalise_for_grouping(r.text), set()).add(r.split)
    assert all(len(s) == 1 for s in groups.values())


def test_gold_set_is_large_varied_and_valid() -> None:
    gold = data.load_gold()
    assert len(gold) >= 600
    assert {g.source.split("_")[0] for g in gold} == {"airline", "twcs"}
    assert all(g.intent in INTENTS and g.journey_stage in JOURNEY_STAGES for g in gold)
    assert all(g.text.strip() for g in gold)
    held_out = [g for g in gold if g.split == "eval"]
    assert 0.25 < len(held_out) / len(gold) < 0.45
