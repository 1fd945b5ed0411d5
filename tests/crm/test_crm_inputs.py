"""One rule, two front doors: the customer pages read the API's own inputs (`crm.inputs`), so a bad value posted
from a form and the same value sent to the API are refused with the same message, and nothing is saved."""

from __future__ import annotations

import pytest

from hubbub.crm import services
from hubbub.crm.inputs import CustomerIn
from hubbub.crm.models import Customer, Interaction
from hubbub.inputs import InvalidInput
from tests.two_doors import api_client, api_field_error, flashed, post_json, web_client

pytestmark = pytest.mark.django_db


def test_a_customer_with_nothing_to_know_them_by(acme) -> None:  # type: ignore[no-untyped-def]
    agent = acme["users"]["agent"]
    api = post_json(api_client(agent, acme["org"]), "/api/v1/customers", {"name": "  ", "location": "Oslo"})
    assert api.status_code == 422
    said = api.json()["detail"][0]["msg"]
    assert said == "Give at least a name, an email, a phone number, a handle or an external id."
    answer = web_client(agent).post("/customers/new/", {"name": "  ", "location": "Oslo", "handles": ""})
    assert flashed(answer) == [f"Customer not added: {said}"]
    assert not Customer.objects.exists()


def test_a_name_longer_than_its_column(acme) -> None:  # type: ignore[no-untyped-def]
    agent = acme["users"]["agent"]
    long = "A" * 201
    said = api_field_error(post_json(api_client(agent, acme["org"]), "/api/v1/customers", {"name": long}), "name")
    answer = web_client(agent).post("/customers/new/", {"name": long})
    assert flashed(answer) == [f"Customer not added: Name: {said}."]  # once cut to 200 without a word
    assert not Customer.objects.exists()


def test_a_merge_that_names_no_customer(acme, scope_of) -> None:  # type: ignore[no-untyped-def]
    agent = acme["users"]["agent"]
    ann = services.create_customer(scope_of(agent), CustomerIn(name="Ann"))
    api = post_json(api_client(agent, acme["org"]), f"/api/v1/customers/{ann.pk}/merge", {"other_id": "#7x"})
    said = api_field_error(api, "other_id")
    answer = web_client(agent).post(f"/customers/{ann.pk}/merge/", {"other_id": "#7x"})
    assert flashed(answer) == [f"Nothing was merged: Customer to merge in: {said}."]


def test_an_interaction_says_what_its_service_says(acme, scope_of) -> None:  # type: ignore[no-untyped-def]
    agent = acme["users"]["agent"]
    ann = services.create_customer(scope_of(agent), CustomerIn(name="Ann"))
    with pytest.raises(InvalidInput) as caught:
        services.log_interaction(scope_of(agent), ann, "phone", "  ")
    answer = web_client(agent).post(f"/customers/{ann.pk}/interactions/", {"kind": "phone", "text": "  "})
    assert flashed(answer) == [str(caught.value)] == ["Write what happened."]
    answer = web_client(agent).post(f"/customers/{ann.pk}/interactions/", {"kind": "phone", "score": "five"})
    assert flashed(answer) == ["Score: Input should be a valid integer, unable to parse string as an integer."]
    assert not Interaction.objects.exists()


@pytest.mark.parametrize("handles", [[True], [3, "ann"], [None], [["nested"]]])
def test_handles_that_are_not_text_are_refused_not_a_server_error(acme, handles) -> None:  # type: ignore[no-untyped-def]
    """Found by the API fuzz: a JSON `true` among the handles reached `str.lstrip` and answered 500."""
    api = post_json(
        api_client(acme["users"]["agent"], acme["org"]), "/api/v1/customers", {"name": "Ann", "handles": handles}
    )
    assert api.status_code == 422, api.content
    assert not Customer.objects.exists()
