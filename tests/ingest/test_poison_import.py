"""Done when: one bad mention never stalls ingest. A JSON Lines import with 1% poison rows of every kind
imports every good row, quarantines every poison row with its reason and line, and leaves nothing pending."""

from __future__ import annotations

import pytest

from hubbub.inbox.models import Message
from hubbub.ingest.models import QuarantinedEvent
from hubbub.ingest.poison import POISON_KINDS, run_poison_import, write_corpus

pytestmark = pytest.mark.django_db


def _check(outcome: dict[str, object]) -> None:
    assert outcome["good_rows_stored"] == outcome["good_rows"]
    assert outcome["repairable_rows_stored"] == outcome["repairable_rows"]
    assert outcome["poison_rows_quarantined"] == outcome["poison_rows"]
    assert outcome["poison_rows_without_reason"] == 0
    assert outcome["stored_poison_quarantined"] == 1
    assert outcome["poison_rows_pending_after_sweep"] == 0
    assert outcome["pending_after_sweep"] == 0
    assert outcome["imported"] == outcome["good_rows"] and outcome["rejected"] == outcome["poison_rows"]


def test_two_thousand_rows_with_every_kind_of_poison(acme, tmp_path):
    outcome = run_poison_import(acme["org"].pk, tmp_path, n_good=2_000, poison_share=0.01)
    assert outcome["poison_rows"] == 20 and outcome["repairable_rows"] == 40
    _check(outcome)
    reasons = " | ".join(QuarantinedEvent.objects.values_list("reason", flat=True))
    for expected in (
        "JSON nested too deep",
        "out of range as epoch seconds",
        "invalid JSON",
        "text must be a string",
        "missing author_id",
        "followers out of range",
        "line too long",
        "line is not a JSON object",
        "invalid UTF-8: byte 0xe9",
    ):
        assert expected in reasons
    # the repaired texts read as the customer wrote them, minus what no database can hold
    texts = Message.objects.filter(external_id__in=["good-7", "good-57"]).values_list("external_id", "text")
    assert dict(texts) == {
        "good-7": "@AcmeAir flight 7 was late and bag 7 is lost \ufffd broken emoji",
        "good-57": "@AcmeAir flight 57 was late and bag 57 is lost with a  NUL",
    }


def test_the_corpus_holds_every_kind_in_turn(tmp_path):
    corpus = write_corpus(tmp_path / "c.jsonl", n_good=1_000, poison_share=0.02)
    assert sorted(set(corpus.poison_lines.values())) == sorted(POISON_KINDS)
    assert len(corpus.poison_lines) == 20 and len(corpus.good_ids) == 1_000


@pytest.mark.slow
def test_twenty_thousand_rows_with_one_percent_poison(acme, tmp_path):
    outcome = run_poison_import(acme["org"].pk, tmp_path, n_good=20_000, poison_share=0.01)
    assert outcome["poison_rows"] == 200
    _check(outcome)
