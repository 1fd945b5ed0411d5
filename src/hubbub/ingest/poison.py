"""Poison rows: every kind of bad JSON Lines row ingest must survive, and the run that proves it does.

Why in the package: the regression tests (`tests/ingest/test_poison_import.py`) and the security benchmark
(`benchmarks/poison_import.py`, called by `benchmarks/security.py`) must exercise the same rows through the
same road: `run_import` (parse → quarantine → accept → process), then the sweep.

Two families. *Poison* rows cannot become a mention and must be quarantined with their reason and line:
a JSON nested 5,000 deep, a date of 1e308, invalid JSON, wrong types, a missing field, a count above 2^63,
a line of over a megabyte, a line that is not an object, bytes that are not UTF-8. *Repairable* rows are good
mentions whose text holds what a database refuses (a lone surrogate, a NUL): `accept()` repairs them, and
they must reach the inbox. One of each used to stall ingest; neither may now.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hubbub.connectors.csv_import import MAX_LINE
from hubbub.inbox.models import Message
from hubbub.ingest.importing import run_import
from hubbub.ingest.models import QuarantinedEvent, RawEvent
from hubbub.ingest.services import process_pending

_BASE = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def _poison_lines(i: int, brand: str) -> dict[str, bytes]:
    """One line of every poison kind, with ids unique to `i`."""
    ok = {"created_at": "2026-11-02T08:00:00Z", "brand": brand, "author_id": f"p{i}"}
    pid = f"poison-{i}"

    def dump(obj: dict[str, Any]) -> bytes:
        return json.dumps(obj).encode()

    deep = "[" * 5000 + "]" * 5000
    return {
        "deep_nesting": f'{{"id": "{pid}", "text": "deep", "meta": {deep}}}'.encode(),
        "date_1e308": dump({**ok, "id": pid, "text": "far future", "created_at": 1e308}),
        "invalid_json": f'{{"id": "{pid}", "text": "unterminated'.encode(),
        "wrong_type": dump({**ok, "id": pid, "text": {"not": "a string"}}),
        "missing_field": dump({"id": pid, "text": "who wrote this?", "created_at": ok["created_at"], "brand": brand}),
        "int_above_2_63": dump({**ok, "id": pid, "text": "famous", "followers": 2**70}),
        "huge_string": dump({**ok, "id": pid, "text": "x" * (MAX_LINE + 10)}),
        "non_object": dump([pid, "a list, not an object"]),  # type: ignore[arg-type]
        "invalid_utf8": f'{{"id": "{pid}", "text": "caf'.encode() + b"\xe9 \xff" + b'", "author_id": "u"}',
    }


POISON_KINDS = tuple(_poison_lines(0, "b"))
REPAIRABLE_KINDS = ("lone_surrogate", "nul")


@dataclass
class Corpus:
    """What a written file holds: the good rows' ids (repairable ones among them) and the poison lines."""

    path: Path
    good_ids: list[str] = field(default_factory=list)
    repaired_ids: list[str] = field(default_factory=list)
    poison_lines: dict[int, str] = field(default_factory=dict)  # line number → kind


def write_corpus(path: Path, n_good: int, poison_share: float, brand: str = "acme-air") -> Corpus:
    """A JSON Lines file of `n_good` good mentions with `poison_share` × n_good poison rows spread through
    it (every kind in turn); one good row in 50 is repairable (a lone surrogate or a NUL in its text)."""
    n_poison = round(n_good * poison_share)
    every = max(1, n_good // max(1, n_poison))
    corpus = Corpus(path)
    line = 0
    with path.open("wb") as fh:
        for i in range(n_good):
            if len(corpus.poison_lines) < n_poison and i % every == every // 2:
                kind = POISON_KINDS[len(corpus.poison_lines) % len(POISON_KINDS)]
                fh.write(_poison_lines(i, brand)[kind] + b"\n")
                line += 1
                corpus.poison_lines[line] = kind
            fh.write(_good_line(i, brand, corpus) + b"\n")
            line += 1
    return corpus


def _good_line(i: int, brand: str, corpus: Corpus) -> bytes:
    ext = f"good-{i}"
    corpus.good_ids.append(ext)
    text = f"@AcmeAir flight {i % 300} was late and bag {i % 97} is lost"
    if i % 50 == 7:
        text += " \ud800 broken emoji" if i % 100 == 7 else " with a \x00 NUL"
        corpus.repaired_ids.append(ext)
    created = (_BASE + timedelta(seconds=i)).isoformat()
    obj = {"id": ext, "text": text, "created_at": created, "brand": brand, "author_id": f"c{i % 1500}"}
    return json.dumps(obj).encode()  # ensure_ascii: the surrogate and the NUL travel as \ud800 and \u0000


def run_poison_import(org_id: int, workdir: Path, n_good: int = 20_000, poison_share: float = 0.01) -> dict[str, Any]:
    """Import a poisoned file into organisation `org_id` (which must have the brand `acme-air`), sweep, and
    count what a user would check: every good row in the inbox, every poison row in quarantine with its
    line, nothing left pending; a poisoned raw event stored earlier by another path is quarantined by the
    sweep too (`stored_poison_quarantined`)."""
    corpus = write_corpus(workdir / "poisoned.jsonl", n_good, poison_share)
    stored_poison = _store_old_poison(org_id)
    started = time.perf_counter()
    report = run_import(org_id, "jsonl", corpus.path)
    process_pending(organization_id=org_id)  # what the sweeper does for this organisation
    seconds = time.perf_counter() - started
    stored = set(
        Message.objects.filter(organization_id=org_id, external_id__in=corpus.good_ids).values_list(
            "external_id", flat=True
        )
    )
    entries = dict(
        QuarantinedEvent.objects.filter(organization_id=org_id, source="import:jsonl").values_list("location", "reason")
    )
    quarantined_lines = {int(loc.rsplit(":", 1)[1]) for loc in entries if loc.startswith(f"{corpus.path.name}:")}
    pending = RawEvent.objects.filter(organization_id=org_id, state=RawEvent.State.PENDING)
    return {
        "good_rows": len(corpus.good_ids),
        "poison_rows": len(corpus.poison_lines),
        "repairable_rows": len(corpus.repaired_ids),
        "imported": report.imported,
        "rejected": report.rejected,
        "good_rows_stored": len(stored),
        "repairable_rows_stored": len(stored.intersection(corpus.repaired_ids)),
        "poison_rows_quarantined": len(quarantined_lines & set(corpus.poison_lines)),
        "poison_rows_without_reason": sum(1 for line in corpus.poison_lines if not entries.get(_loc(corpus, line))),
        "stored_poison_quarantined": QuarantinedEvent.objects.filter(raw_event_id=stored_poison).count(),
        "poison_rows_pending_after_sweep": pending.filter(external_id__startswith="poison-").count(),
        "pending_after_sweep": pending.count(),
        "seconds": round(seconds, 2),
        "rows_per_s": round((len(corpus.good_ids) + len(corpus.poison_lines)) / seconds, 1),
    }


def _store_old_poison(org_id: int) -> int:
    """A raw event written without `accept()`, as rows from before its normalisation are: readable, but its
    date (the last minute of year 9999) breaks the batch step's clock arithmetic. The sweep must get past it."""
    payload = {
        "network": "x",
        "external_id": "poison-stored",
        "text": "from the far future",
        "created_at": "9999-12-31T23:59:00+00:00",
        "author_id": "zed",
        "brand_slug": "acme-air",
    }
    raw = RawEvent.objects.create(
        organization_id=org_id, network="x", external_id="poison-stored", source="old", payload=payload
    )
    return raw.pk


def _loc(corpus: Corpus, line: int) -> str:
    return f"{corpus.path.name}:{line}"
