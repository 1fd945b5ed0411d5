"""The private servers of the fault tests, started once per test process: a PostgreSQL cluster with a migrated
template database (each test gets a copy, made in a fraction of a second) and a redis-server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.faults.fleet import Fleet, fleet_env
from tests.faults.servers import PrivatePostgres, PrivateRedis
from tests.processes import run


@pytest.fixture(scope="session")
def private_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PrivatePostgres, PrivateRedis]]:
    pg = PrivatePostgres()
    redis = PrivateRedis()
    try:
        pg.start()
        redis.start()
        pg.execute("CREATE DATABASE hubbub_template")
        env = fleet_env(tmp_path_factory.mktemp("template"), pg.url("hubbub_template"), redis.url, "template")
        done = run(env, "-m", "hubbub", "migrate", timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        yield pg, redis
    finally:
        redis.close()
        pg.close()


@pytest.fixture
def make_fleet(private_servers: tuple[PrivatePostgres, PrivateRedis], tmp_path: Path) -> Iterator[Callable[..., Fleet]]:
    """`make_fleet(name, **env)`: a fleet on a fresh copy of the template database; its processes are
    stopped and its database dropped afterwards (the servers are started again if the test left them down)."""
    pg, redis = private_servers
    made: list[Fleet] = []

    def make(name: str, **extra_env: str) -> Fleet:
        fleet = Fleet(f"faults_{name}", pg, redis, tmp_path, extra_env)
        made.append(fleet)
        return fleet

    yield make
    for fleet in made:
        if redis.proc is None:
            redis.start()
        for role in list(fleet.procs):
            fleet.stop(role)
        try:
            pg.start()
        except RuntimeError:
            pass  # already running
        fleet.close()
