"""The API fuzzed from its own OpenAPI document: no request, however odd, gets a server error, and every
answer is one the document declares (status code, content type, body schema).

Why: the earlier run (4,310 generated requests over 72 operations) found six distinct 500s, all from user
input: integers beyond the database's, a duplicate name, a query nested 5,000 deep, a HubSpot failure. This
gate keeps that class closed for every endpoint, including the ones added later: the operations are read
from the document, not listed here.

Deterministic (hypothesis derandomised, no example database) and bounded: a fixed number of generated cases
per operation, positive and negative, with no shrinking (a failure is reported with its request, not
minimised). `fuzz_api` is a plain function so `benchmarks/security.py` can run it against a live server.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks

from hubbub.crm.inputs import CustomerIn

EXAMPLES_PER_MODE = 15  # per operation, once valid (positive) and once invalid (negative) input
LIVE_TIMEOUT_S = 60  # seconds a live server has for one answer on the shared, loaded machine
EXAMPLES_ON_REAL_ROWS = 5  # per operation whose path names rows the caller has (valid input around them)
# Storing HubSpot credentials makes every later sync call the address generated for them: a fuzz run has no
# HubSpot. The sync itself is fuzzed (it answers 400 "not connected", or 502 when HubSpot fails).
SKIPPED_OPERATIONS = {"POST /api/v1/crm/hubspot/connect"}
CHECK_NAMES = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)


@dataclass
class FuzzResult:
    requests: int = 0
    server_errors: int = 0
    failures: dict[str, str] = field(default_factory=dict)  # "METHOD path: check" → the first such failure
    statuses: Counter[int] = field(default_factory=Counter)  # how many answers of each status code


def _checks() -> list[Any]:
    load_all_checks()
    return [CHECKS.get_one(name) for name in CHECK_NAMES]


def fuzz_api(
    schema: Any,
    token: str,
    examples: int = EXAMPLES_PER_MODE,
    real: dict[str, Any] | None = None,
    **call: Any,
) -> FuzzResult:
    """Send `examples` generated requests per operation and mode (positive, negative) of the loaded
    schemathesis `schema`, with the bearer `token`; count them, the 5xx answers, and the failed checks.

    Random ids mostly name nothing (a 404 before any work is done), so an operation whose path parameters
    are all in `real` (parameter name → a value naming a row of the caller's) also gets valid requests on
    that row, which reach the code behind the lookup. `call` goes to each request (a live server's timeout)."""
    result = FuzzResult()
    checks = _checks()
    headers = {"Authorization": f"Bearer {token}"}

    def send(case: Any) -> None:
        _send(case, headers, checks, result, call)

    for loaded in schema.get_all_operations():
        operation = loaded.ok()
        if operation is None or operation.label in SKIPPED_OPERATIONS:
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz_operation(operation.as_strategy(mode), examples, send)
        names = [p.name for p in operation.path_parameters]
        if names and real and all(n in real for n in names):
            rows = {n: real[n] for n in names}
            _fuzz_operation(operation.as_strategy(path_parameters=rows), EXAMPLES_ON_REAL_ROWS, send)
    return result


def _fuzz_operation(strategy: Any, examples: int, send: Callable[[Any], None]) -> None:
    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: bounded time, the failure is kept as found
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        send(case)

    run()


def _send(case: Any, headers: dict[str, str], checks: list[Any], result: FuzzResult, call: dict[str, Any]) -> None:
    try:
        response = case.call(headers=headers, **call)
    except requests.RequestException as exc:  # no answer (a live server's timeout): recorded, the run goes on
        result.requests += 1
        key = f"{case.operation.label}: {type(exc).__name__}"
        result.failures.setdefault(key, f"no answer for {case.as_curl_command()}\n{exc}"[:2000])
        return
    result.requests += 1
    result.statuses[response.status_code] += 1
    if response.status_code >= 500:
        result.server_errors += 1
    try:
        case.validate_response(response, checks=checks, headers=headers)
    except Exception as exc:  # noqa: BLE001 - a failed check is recorded, the run goes on
        key = f"{case.operation.label}: {type(exc).__name__}"
        result.failures.setdefault(key, f"{response.status_code} for {case.as_curl_command()}\n{exc}"[:2000])


def run_schemathesis(base_url: str, token: str, examples: int = EXAMPLES_PER_MODE) -> tuple[int, int]:
    """`(requests, server_errors)` of a fuzz run against a live Hubbub at `base_url` (benchmarks/security.py);
    prints the answers by status and every failed check. A request gets a minute (the machine is shared)."""
    schema = schemathesis.openapi.from_url(f"{base_url}/api/openapi.json")
    result = fuzz_api(schema, token, examples, timeout=LIVE_TIMEOUT_S)
    print(f"schemathesis: answers by status {dict(sorted(result.statuses.items()))}")
    for key, failure in result.failures.items():
        print(f"  failed {key}: {failure.splitlines()[0]}")
    return result.requests, result.server_errors


# --------------------------------------------------------------------------- the gate


@pytest.fixture
def seeded(acme: dict[str, Any], make_event: Any, ingest: Any, scope_of: Any) -> tuple[str, dict[str, Any]]:
    """An admin's token in an organisation with conversations, a customer, a listening query and a team,
    and the path parameters that name them, so that requests reach the work behind the lookups."""
    from hubbub.api.models import ApiToken
    from hubbub.crm import services as crm
    from hubbub.inbox.models import Conversation
    from hubbub.listening import services as listening

    ingest(acme["org"], [make_event(f"@AcmeAir delay number {i}", author=f"user{i}") for i in range(5)])
    admin = acme["users"]["admin"]
    customer = crm.create_customer(
        scope_of(admin), CustomerIn(name="Ann Lee", email="ann@example.com", handles=["user1"])
    )
    brand = acme["brands"]["Acme Air"].pk
    query = listening.save_query(scope_of(admin), brand_id=brand, name="Delays", query="delay*")
    real = {
        "conversation_id": Conversation.objects.order_by("id").values_list("id", flat=True).first(),
        "customer_id": customer.pk,
        "query_id": query.pk,
        "team_id": acme["team"].pk,
        "name": "volume",
    }
    return ApiToken.issue(admin, acme["org"].pk, "fuzz")[1], real


@pytest.mark.slow
@pytest.mark.django_db
def test_no_generated_request_gets_a_server_error_or_an_undeclared_answer(seeded: tuple[str, Any]) -> None:
    from django.core.wsgi import get_wsgi_application

    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())
    token, real = seeded
    result = fuzz_api(schema, token, real=real)
    print(f"{result.requests} requests, answers by status: {dict(sorted(result.statuses.items()))}")
    assert result.requests >= 2000
    assert sum(n for status, n in result.statuses.items() if status < 300) >= 300  # not only refusals
    assert result.server_errors == 0 and result.failures == {}, "\n\n".join(
        f"{k}\n{v}" for k, v in result.failures.items()
    )
