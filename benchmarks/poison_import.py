"""Poison rows: a JSON Lines import with a share of every kind of bad row must import every good row,
quarantine every bad one with its reason, and leave nothing pending after the sweep.

    python benchmarks/poison_import.py [--good 20000] [--share 0.01] [--database-url URL]

`run()` is the plain function other benchmarks call (`benchmarks/security.py`): it makes its own temporary
data directory (and Django, unless one is already set up) and its own organisation, so it counts only its
own rows. The rows and the counting live in `hubbub.ingest.poison`, shared with the tests. Writes
benchmarks/results/poison_import.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "poison_import.json"


def run(n_good: int = 20_000, poison_share: float = 0.01, database_url: str | None = None) -> dict[str, Any]:
    """Import `n_good` good rows with `poison_share` × n_good poison rows, sweep, and count: among the
    figures `poison_rows_pending_after_sweep` (must be 0) and `good_rows_stored` (must be `good_rows`)."""
    data_dir = tempfile.mkdtemp(prefix="hubbub-poison-")
    try:
        _ensure_django(data_dir, database_url)
        from hubbub.ingest.poison import run_poison_import
        from hubbub.tenancy.models import Brand, Organization

        slug = f"poison-{uuid.uuid4().hex[:8]}"
        org = Organization.objects.create(slug=slug, name="Poison bench")
        Brand.objects.create(organization=org, name="Acme Air", slug="acme-air", handles=["AcmeAir"])
        return run_poison_import(org.pk, Path(data_dir), n_good=n_good, poison_share=poison_share)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def _ensure_django(data_dir: str, database_url: str | None) -> None:
    """Set Django up on `data_dir` unless the caller already did (then its database is used)."""
    from django.apps import apps

    if apps.ready:
        return
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _common import setup_django

    setup_django(data_dir, database_url)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--good", type=int, default=20_000)
    parser.add_argument("--share", type=float, default=0.01)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    figures = run(args.good, args.share, args.database_url)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
