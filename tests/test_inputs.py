"""`hubbub.inputs`: a form is read into the same schema as the API's body, and a bad value says which field and
why, in the words the API's 422 uses."""

from __future__ import annotations

from typing import Annotated

import pytest
from django.http import QueryDict
from pydantic import AfterValidator, BaseModel, Field

from hubbub.inputs import InvalidInput, SplitIds, Words, checked, form_input, refuse


def _named(value: str) -> str:
    if not value.strip():
        raise refuse("A {thing} needs a name.")  # braces kept as typed
    return value.strip()


class Sample(BaseModel):
    name: Annotated[str, AfterValidator(_named)]
    brand_id: int | None = None
    warn_at_pct: int = Field(75, ge=1, le=99)
    is_active: bool = True
    notify: bool = False
    roles: list[str] = []
    words: Words = []
    ids: Annotated[list[int], SplitIds] = []


def _form(text: str) -> QueryDict:
    return QueryDict(text)


def test_a_form_reads_like_a_json_body() -> None:
    form = _form(
        "name=+Ops+&brand_id=3&warn_at_pct=80&is_active=on&roles=agent&roles=supervisor&words=a,+b&ids=1+2,%233"
    )
    got = form_input(Sample, form)
    assert got == Sample(
        name="Ops",
        brand_id=3,
        warn_at_pct=80,
        is_active=True,
        roles=["agent", "supervisor"],
        words=["a", "b"],
        ids=[1, 2, 3],
    )
    assert got == checked(
        Sample,
        {
            "name": "Ops",
            "brand_id": 3,
            "warn_at_pct": 80,
            "roles": ["agent", "supervisor"],
            "words": ["a", "b"],
            "ids": [1, 2, 3],
        },
    )


def test_html_habits_empty_box_unticked_checkbox_and_defaults() -> None:
    got = form_input(Sample, _form("name=x&brand_id=&warn_at_pct="))
    assert (got.brand_id, got.warn_at_pct, got.is_active, got.roles) == (None, 75, False, [])
    assert form_input(Sample, _form("name=x"), keep_defaults=["is_active"]).is_active is True
    assert form_input(Sample, _form("name=x&brand_id=1"), brand_id=7).brand_id == 7  # what the view knows wins


def test_a_bad_value_names_its_field_with_the_apis_message() -> None:
    with pytest.raises(InvalidInput) as caught:
        form_input(Sample, _form("name=+&warn_at_pct=120&brand_id=abc"))
    exc = caught.value
    assert exc.errors == {
        "name": "A {thing} needs a name.",
        "brand_id": "Input should be a valid integer, unable to parse string as an integer",
        "warn_at_pct": "Input should be less than or equal to 99",
    }
    assert str(exc) == (
        "A {thing} needs a name. Brand id: Input should be a valid integer, unable to parse string as an integer. "
        "Warn at pct: Input should be less than or equal to 99."
    )
    assert exc.data["warn_at_pct"] == "120"  # as typed, to show the form again
    assert isinstance(exc, ValueError)  # callers that catch a service's ValueError show it as they did


def test_a_check_beyond_the_schema_refuses_one_field_in_its_own_words() -> None:
    exc = InvalidInput.of("brand_id", "Unknown brand.")
    assert (exc.errors, str(exc)) == ({"brand_id": "Unknown brand."}, "Unknown brand.")
