"""Passwords follow the project's rules wherever they are set: the CLI, an admin's new user, the set-password
link; the refusal names the rule."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from typer.testing import CliRunner

from hubbub.accounts.passwords import password_problems
from hubbub.cli import app


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("password", "rule"),
    [("a", "too short"), ("password123", "too common"), ("8203948571029", "entirely numeric")],
)
def test_cli_refuses_a_weak_password_and_names_the_rule(password: str, rule: str) -> None:
    res = CliRunner().invoke(app, ["user", "add", "newbie", "--role", "agent", "--org", "cli", "--password", password])
    assert res.exit_code != 0
    assert rule in " ".join(res.output.split())
    assert not get_user_model().objects.filter(username="newbie").exists()


@pytest.mark.django_db
def test_cli_refuses_a_password_like_the_username() -> None:
    res = CliRunner().invoke(app, ["user", "add", "margaretha", "--org", "cli", "--password", "margaretha1"])
    assert res.exit_code != 0 and "too similar to the username" in " ".join(res.output.split())


@pytest.mark.django_db
def test_cli_accepts_a_good_password() -> None:
    res = CliRunner().invoke(
        app, ["user", "add", "newbie", "--role", "agent", "--org", "cli", "--password", "tangerine-owl-47"]
    )
    assert res.exit_code == 0, res.output
    assert get_user_model().objects.get(username="newbie").check_password("tangerine-owl-47")


@pytest.mark.django_db
def test_the_demo_password_passes_the_rules(settings, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from hubbub.demo import DEMO_USERS, demo_password

    monkeypatch.delenv("HUBBUB_DEMO_PASSWORD", raising=False)
    settings.DATA_DIR = tmp_path
    password = demo_password()
    User = get_user_model()
    for username, _role in DEMO_USERS:
        assert password_problems(password, User(username=username, email=f"{username}@hubbub.local")) == []
