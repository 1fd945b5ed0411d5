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
import json, os, sys, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hubbub.settings")
django.setup()
import hubbub.urls  # every page's module, as a web process imports them
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


def test_a_web_process_starts_without_the_classifiers_or_network_libraries(tmp_path: Path) -> None:
    env = {**os.environ, "HUBBUB_DATA_DIR": str(tmp_path), "HUBBUB_SECRET_KEY": "test"}
    env.pop("DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert "django" in loaded and "hubbub" in loaded
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


@pytest.mark.parametrize("network", ["mastodon", "bluesky"])
def test_a_deferred_network_is_listed_and_loads_when_asked_for(network: str) -> None:
    assert network in registered_networks()
    connector = connector_for(network)
    assert connector is not None and connector.network == network
    assert connector_for(network) is connector  # imported once, then the registry answers
