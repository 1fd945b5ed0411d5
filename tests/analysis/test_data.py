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


def test_round4_gold_file_is_frozen_with_its_written_split() -> None:
    """The round-4 file loads, every label is allowed, and the split column is the seeded rule it was written by."""
    import csv

    from hubbub.analysis.types import SENTIMENTS

    rows, sentiment = data.load_gold2()
    assert len(rows) >= 350
    assert all(g.intent in INTENTS and g.journey_stage in JOURNEY_STAGES for g in rows)
    assert set(sentiment.values()) <= set(SENTIMENTS) and len(sentiment) == len(rows)
    assert all(g.split == data.gold2_split_of(g.source, g.id) for g in rows)
    held_out = [g for g in rows if g.split == "eval"]
    assert 0.2 < len(held_out) / len(rows) < 0.4
    with data.gold2_path().open(encoding="utf-8", newline="") as fh:
        assert {r["labelled_by"] for r in csv.DictReader(fh)} == {"human:ml-engineer-round4"}
    # no message is in both gold files, and rare classes are present in both portions
    first = {(g.source, g.id) for g in data.load_gold()} | {g.id for g in data.load_gold()}
    assert not any(g.id in first for g in rows)
    for label in ("suggestion", "spam", "other", "question"):
        assert {g.split for g in rows if g.intent == label} == {"train", "eval"}


def test_round4_airline_rows_come_from_train_or_dev_only() -> None:
    """Training the intent head on them must not put airline *test* tweets into the feature vocabulary."""
    rows, _ = data.load_gold2()
    assert all(data.split_of(g.text) in ("train", "dev") for g in rows if g.source.startswith("airline"))


def test_round5_gold_file_is_training_only_and_never_touches_a_held_out_row() -> None:
    """Round 5 adds training rows only: the held-out rows of the earlier files stay the one frozen test set.

    No round-5 row may be a held-out row or a near-duplicate of one (else the model would be tested on what it
    learned), and its airline rows come from the airline train/dev splits only, like round 4's.
    """
    from hubbub.analysis.types import SENTIMENTS

    rows, sentiment = data.load_gold3()
    assert len(rows) >= 1000
    assert {g.split for g in rows} == {"train"}
    assert all(g.intent in INTENTS and g.journey_stage in JOURNEY_STAGES for g in rows)
    assert set(sentiment.values()) <= set(SENTIMENTS) and len(sentiment) == len(rows)
    earlier = data.load_gold() + data.load_gold2()[0]
    held_out_keys = {data.normalise_for_grouping(g.text) for g in earlier if g.split == "eval"}
    earlier_ids = {g.id for g in earlier}
    assert not any(g.id in earlier_ids for g in rows)
    assert not any(data.normalise_for_grouping(g.text) in held_out_keys for g in rows)
    assert all(data.split_of(g.text) in ("train", "dev") for g in rows if g.source.startswith("airline"))
    # it exists to feed the rare classes
    counts = collections.Counter(g.intent for g in rows)
    assert counts["suggestion"] >= 25 and counts["spam"] >= 100


def test_round6_gold_file_is_training_only_and_new() -> None:
    """Round 6 (sixth iteration) adds training rows only, none of them a held-out row, an earlier gold row or a
    near-duplicate of either; airline rows from the train/dev splits only; every row labelled by a person."""
    from hubbub.analysis.types import SENTIMENTS

    rows, sentiment = data.load_gold4()
    assert len(rows) >= 850
    assert {g.split for g in rows} == {"train"}
    assert all(g.intent in INTENTS and g.journey_stage in JOURNEY_STAGES for g in rows)
    assert set(sentiment.values()) <= set(SENTIMENTS) and len(sentiment) == len(rows)
    earlier = data.load_gold() + data.load_gold2()[0] + data.load_gold3()[0]
    earlier_keys = {data.normalise_for_grouping(g.text) for g in earlier}
    assert not any(g.id in {e.id for e in earlier} for g in rows)
    assert not any(data.normalise_for_grouping(g.text) in earlier_keys for g in rows)
    assert len({data.normalise_for_grouping(g.text) for g in rows}) == len(rows)
    assert all(data.split_of(g.text) in ("train", "dev") for g in rows if g.source.startswith("airline"))


def test_second_annotator_labelled_every_held_out_row_blind() -> None:
    """The agreement file covers exactly the held-out rows of both earlier files, with allowed labels."""
    second = data.load_agreement()
    held_out = {(g.source, g.id) for g in data.load_gold() + data.load_gold2()[0] if g.split == "eval"}
    assert set(second) == held_out
    assert all(i in INTENTS and j in JOURNEY_STAGES for i, j in second.values())
