"""A web process holds only what pages need: the classifiers' scikit-learn and the networks' client libraries
are imported by the processes that label or talk to a network (about 100 MB per web process saved)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hubbub.connectors.base import connector_for, registered_networks

HEAVY = ("sklearn", "scipy", "atproto_client", "mastodon")

_PROBE = """
import gc, json, sys
import hubbub.asgi  # what uvicorn imports in each web process: Django, every page's module, the hooks route
from django.template import engines
engines["django"]  # imports every template tag library, as the first page rendered does
modules = sorted({m.split(".")[0] for m in sys.modules})
print(json.dumps({"modules": modules, "frozen": gc.get_freeze_count(), "thresholds": gc.get_threshold()}))
"""


def test_a_web_process_starts_lean_and_with_its_heap_frozen(tmp_path: Path) -> None:
    env = {**os.environ, "HUBBUB_DATA_DIR": str(tmp_path), "HUBBUB_SECRET_KEY": "test"}
    env.pop("DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    loaded = set(probe["modules"])
    assert "django" in loaded and "hubbub" in loaded
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))
    # start-up's objects are out of the garbage collector's sight: a full collection of them would stall
    # every request in flight (`runtime.settle_heap`)
    assert probe["frozen"] > 50_000
    # ...but collected as often as Python does by default: a request's database connection is closed when the
    # collector frees it, and collecting less often ran PostgreSQL out of connections under load
    assert tuple(probe["thresholds"]) == (700, 10, 10)


@pytest.mark.parametrize("network", ["mastodon", "bluesky"])
def test_a_deferred_network_is_listed_and_loads_when_asked_for(network: str) -> None:
    assert network in registered_networks()
    connector = connector_for(network)
    assert connector is not None and connector.network == network
    assert connector_for(network) is connector  # imported once, then the registry answers
