"""Ingest throughput with the accurate tier refining in the background (issue 19: no worse than 90 %).

    python benchmarks/refinement.py [--mentions 6000] [--rounds 2]

Self-contained (temporary data directory, embedded SQLite, the packaged airline tweets). Mentions arrive in
chunks of one ingest batch (accept, then process, as a webhook burst and its task); each round measures the
worker's ingest alone, then the same with a second thread running the refinement loop as the periodic task
does (`ingest.refinement.refine` at nice 19, as `refine_in_background` runs it: it takes a batch whenever no
raw event waits). Rounds alternate so the
machine's load falls on both alike. Writes `benchmarks/results/refinement.json`:
- `ingest_mentions_per_s_alone`, `ingest_mentions_per_s_refining` (best of the rounds), and their ratio
  `ingest_ratio_with_refinement`;
- `refined_per_cpu_s`: mentions the refinement relabelled per CPU-second of its thread.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import threading
import time
from pathlib import Path

from _common import replicated_airline_events, seed_airline_org, setup_django

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "refinement.json"


def _ingest(org_pk: int, events: list, batch: int) -> float:  # type: ignore[type-arg]
    from hubbub.ingest.services import accept, process_batch

    t = time.perf_counter()
    for i in range(0, len(events), batch):
        process_batch(accept(org_pk, events[i : i + batch], "bench").raw_ids)
    return len(events) / (time.perf_counter() - t)


def main() -> dict[str, float]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mentions", type=int, default=6000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="hubbub-bench-")
    setup_django(data_dir)
    from django.conf import settings
    from django.db import connection

    from hubbub.analysis.services import get_accurate_analyzer
    from hubbub.ingest import refinement
    from hubbub.runtime import warm_up_worker

    org = seed_airline_org()[0]
    warm_up_worker()
    assert get_accurate_analyzer() is not None, "the accurate tier did not load"
    events = replicated_airline_events(args.mentions * 2 * args.rounds)
    alone: list[float] = []
    refining: list[float] = []
    refined = {"n": 0, "cpu": 0.0}
    for r in range(args.rounds):
        chunk = events[r * 2 * args.mentions : (r * 2 + 1) * args.mentions]
        alone.append(_ingest(org.pk, chunk, settings.INGEST_BATCH_SIZE))
        stop = threading.Event()

        def loop(stop: threading.Event) -> None:
            refinement.lowest_priority()  # as `refine_in_background` runs it
            while not stop.is_set():
                res = refinement.refine(cpu_budget=1.0)
                refined["n"] += res.messages
                refined["cpu"] += res.cpu_seconds
                if res.stopped != "budget":
                    time.sleep(0.05)  # ingest busy (or nothing left): look again shortly, as a worker would
            connection.close()

        worker = threading.Thread(target=loop, args=(stop,))
        worker.start()
        chunk = events[(r * 2 + 1) * args.mentions : (r * 2 + 2) * args.mentions]
        refining.append(_ingest(org.pk, chunk, settings.INGEST_BATCH_SIZE))
        stop.set()
        worker.join()
    res = {
        "mentions_per_round": args.mentions,
        "ingest_mentions_per_s_alone": round(max(alone), 1),
        "ingest_mentions_per_s_refining": round(max(refining), 1),
        "ingest_ratio_with_refinement": round(max(refining) / max(alone), 3),
        "refined_mentions": refined["n"],
        "refined_per_cpu_s": round(refined["n"] / refined["cpu"], 1) if refined["cpu"] else 0.0,
    }
    shutil.rmtree(data_dir, ignore_errors=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    for k, v in res.items():
        print(f"{k:<34}{v:>12}")
    return res


if __name__ == "__main__":
    main()
