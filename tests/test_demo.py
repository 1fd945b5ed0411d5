"""`hubbub demo --no-serve` builds a working demo from an empty directory, and running it again adds nothing."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def test_demo_loads_real_tweets_users_and_customers(tmp_path):
    env = {**os.environ, "HUBBUB_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "hubbub", "demo", "--no-serve"], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    printed = json.loads(done.stdout.strip().splitlines()[-1])
    assert printed["login"] == "admin" and printed["password"]
    db = sqlite3.connect(tmp_path / "hubbub.sqlite3")
    brands = {
        r[0]
        for r in db.execute(
            "SELECT b.name FROM tenancy_brand b JOIN tenancy_organization o ON o.id = b.organization_id "
            "WHERE o.slug = 'skyline-agency'"
        )
    }
    assert brands == {"Virgin America", "United", "Southwest", "JetBlue", "US Airways", "American"}
    # the data set's artefacts are gone from what a visitor reads (GLOB: case-sensitive; "late flight" is real)
    artefacts = "SELECT COUNT(*) FROM inbox_message WHERE text GLOB '*Late Flight*' OR text GLOB '*Cancelled Flight*'"
    assert db.execute(artefacts).fetchone()[0] == 0
    # the history was routed into the teams' queues by the demo's rules
    queues = dict(
        db.execute(
            "SELECT t.name, COUNT(*) FROM inbox_conversation c JOIN tenancy_team t ON t.id = c.team_id GROUP BY t.name"
        ).fetchall()
    )
    assert queues.get("Baggage", 0) > 100 and queues.get("Care", 0) > 1000, queues
    # the history teaches the detectors; it raises no alert of its own
    assert db.execute("SELECT COUNT(*) FROM listening_alert").fetchone()[0] == 0
    # a lived-in week: the brands answered most complaints (some late), and customers answered a CSAT survey
    skyline = "(SELECT id FROM tenancy_organization WHERE slug = 'skyline-agency')"
    answered = db.execute(
        f"SELECT COUNT(*) FROM inbox_conversation WHERE organization_id = {skyline} AND first_response_at IS NOT NULL"
    ).fetchone()[0]
    assert answered > 3000, answered
    outcomes = dict(
        db.execute(
            "SELECT outcome, COUNT(*) FROM workflow_slaclock WHERE metric = 'first_response' AND state = 'stopped' "
            f"AND organization_id = {skyline} GROUP BY outcome"
        ).fetchall()
    )
    assert outcomes.get("met", 0) > outcomes.get("breached", 0) > 100, outcomes
    scores = dict(
        db.execute(
            f"SELECT CAST(score AS INTEGER), COUNT(*) FROM insights_surveyresponse WHERE organization_id = {skyline} "
            "GROUP BY 1"
        ).fetchall()
    )
    assert sum(scores.values()) > 200 and scores.get(5, 0) > 0 and scores.get(1, 0) + scores.get(2, 0) > 0, scores
    roles = {r[0] for r in db.execute("SELECT role FROM tenancy_membership")}
    assert roles == {"admin", "supervisor", "agent", "analyst"}
    messages = db.execute("SELECT COUNT(*) FROM inbox_message").fetchone()[0]
    assert messages > 12_000 + 4_000  # every airline tweet plus the TWCS sample
    linked = db.execute("SELECT COUNT(*) FROM crm_socialprofile WHERE customer_id IS NOT NULL").fetchone()[0]
    assert linked > 1000
    again = subprocess.run(
        [sys.executable, "-m", "hubbub", "demo", "--no-serve"], env=env, capture_output=True, text=True, timeout=600
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert db.execute("SELECT COUNT(*) FROM inbox_message").fetchone()[0] == messages
    assert db.execute("SELECT COUNT(*) FROM insights_surveyresponse").fetchone()[0] == sum(scores.values())
