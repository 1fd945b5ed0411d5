"""Start-up of Hubbub's processes: load what they need once, then settle the heap.

Python's cyclic garbage collector walks every tracked object of the oldest generation now
and then; in a worker that is Django, scikit-learn and the model, in a web process Django
and every page's module, none of which will ever be garbage. `gc.freeze()` after loading
moves them out of the collector's sight, and a larger first-generation threshold stops it
from starting a collection every 700 of the small objects a batch allocates by the hundred
thousand. In a worker that gave about 5 % more mentions per second. In a web process a full
collection of the unfrozen heap (~170,000 objects) stops every request for about as long
as the webhook route's whole latency budget, so one of them in a run set its p99.
"""

from __future__ import annotations

import gc
import os
from pathlib import Path
from typing import TYPE_CHECKING

from hubbub.analysis.services import get_analyzer

if TYPE_CHECKING:
    from hubbub.connectors.email_watchers import EmailWatchers

GC_THRESHOLDS = (10_000, 20, 20)
PYTHON_GC_THRESHOLDS = (700, 10, 10)  # CPython's own


#: Analysed once at start-up. The fast vectorisers build their n-gram lookup tables on first use
#: (~0.1 s each for the word and the topic tables); a negative complaint reaches the topic model too.
WARM_UP_TEXTS = (
    "@airline my flight was cancelled and my bag is lost, still waiting for a refund! why?",
    "thanks for the great service today :)",
)


def warm_up_worker() -> None:
    """Load the model and build its lazy tables (start-up cost, not the first batch's), then freeze
    what start-up allocated, those tables included."""
    get_analyzer().analyze_batch(list(WARM_UP_TEXTS))
    settle_heap()


def settle_heap(raise_thresholds: bool = True) -> None:
    """Collect start-up's garbage, then freeze what is left and (a worker) raise the collector's thresholds.

    A web process keeps the default thresholds: under ASGI each request's database connection lives in a
    context of its own and is closed when the collector frees it, so collecting less often let a loaded web
    process hold more than PostgreSQL's 100 connections (`benchmarks/load.py` failed with "too many
    clients")."""
    gc.collect()
    gc.freeze()
    # set either way: `hubbub serve` with its worker warms the worker up first, in the same process
    gc.set_threshold(*(GC_THRESHOLDS if raise_thresholds else PYTHON_GC_THRESHOLDS))


def prepare_multiprocess_metrics() -> None:
    """Give the web processes one directory for their Prometheus counters, so a scrape of any of them sees
    all of them (`hubbub.metrics.registry`). Set before the processes start: the client library picks its
    storage when first imported. An operator's own `PROMETHEUS_MULTIPROC_DIR` (shared with a worker on the
    same host) is kept as it is; the default one under the data directory is emptied, as the library asks
    between runs."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    directory = Path(os.environ.get("HUBBUB_DATA_DIR", ".hubbub")).resolve() / "metrics"
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)


def start_email_watchers() -> EmailWatchers | None:
    """Start this worker process's IMAP IDLE watchers (`connectors.email_watchers`), unless `EMAIL_IDLE` is off;
    the caller `close()`s them when the worker stops, which hands the channels to another process at once."""
    from django.conf import settings  # after Django's set-up: the CLI imports this module before it

    from hubbub.ingest.channel_intake import email_watchers  # models: after Django's set-up, as above

    if not settings.EMAIL_IDLE:
        return None
    watchers = email_watchers()
    watchers.start()
    return watchers
