"""`rows.row_class` and its readers: the hot path's plain rows are named, typed, checked against the model at
import, and built from fetched values without any caller indexing a tuple."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from hubbub.crm.models import Customer, SocialProfile
from hubbub.db import fast_update
from hubbub.rows import columns, fetch_rows, read_columns, row_class, rows_by_key, rows_in, values_rows


@row_class(SocialProfile)
class Profile:
    pk: int
    network: str
    external_id: str
    followers: int
    is_brand_account: bool
    last_seen_at: datetime | None
    seen: int = 0  # not a column: starts at its default, never read


@row_class(SocialProfile)
class ProfileWithCustomer:
    pk: int
    customer__tier: str | None
    customer__lifetime_value: Decimal | None


def test_a_row_class_names_its_columns_and_reads_only_the_fields_without_a_default() -> None:
    assert columns(Profile) == (
        "id",
        "network",
        "external_id",
        "followers",
        "is_brand_account",
        "last_seen_at",
        "seen",
    )
    assert read_columns(Profile) == columns(Profile)[:-1]
    assert not hasattr(Profile(1, "x", "a", 0, False, None), "__dict__")  # slotted


def test_a_field_the_model_does_not_have_fails_at_import_with_its_name() -> None:
    with pytest.raises(TypeError, match="Renamed.follower_count is not a field of SocialProfile"):

        @row_class(SocialProfile)
        class Renamed:
            pk: int
            follower_count: int

    with pytest.raises(TypeError, match="Lookup.customer__shoe_size"):

        @row_class(SocialProfile)
        class Lookup:
            pk: int
            customer__shoe_size: int


@pytest.mark.django_db
def test_the_readers_build_named_rows_with_aware_dates_and_booleans(acme) -> None:  # type: ignore[no-untyped-def]
    org = acme["org"]
    seen = datetime.fromisoformat("2026-11-01T09:00:00+00:00")
    customer = Customer.objects.create(organization=org, name="Dan", tier="loyal", lifetime_value=Decimal("12.50"))
    dan = SocialProfile.objects.create(
        organization=org, network="x", external_id="u1", handle="dan", customer=customer, last_seen_at=seen
    )
    SocialProfile.objects.create(organization=org, network="x", external_id="u2", handle="eve", is_brand_account=True)

    by_key = rows_by_key(Profile, org.pk, [("x", "u1"), ("x", "u2"), ("x", "nobody"), ("mastodon", "u1")])
    assert sorted(by_key) == [("x", "u1"), ("x", "u2")]
    row = by_key[("x", "u1")]
    assert (row.pk, row.last_seen_at, row.is_brand_account, row.seen) == (dan.pk, seen, False, 0)
    assert by_key[("x", "u2")].is_brand_account is True

    assert [r.external_id for r in rows_in(Profile, "id", [dan.pk])] == ["u1"]
    assert [r.external_id for r in fetch_rows(Profile, "handle = %s", ["eve"])] == ["u2"]
    (joined,) = values_rows(ProfileWithCustomer, SocialProfile.objects.filter(pk=dan.pk))
    assert (joined.customer__tier, joined.customer__lifetime_value) == ("loyal", Decimal("12.50"))


@pytest.mark.django_db
def test_rows_of_another_organisation_are_never_found_by_key(make_org) -> None:  # type: ignore[no-untyped-def]
    mine, theirs = make_org("mine")["org"], make_org("theirs")["org"]
    SocialProfile.objects.create(organization=theirs, network="x", external_id="u1", handle="dan")
    assert rows_by_key(Profile, mine.pk, [("x", "u1")]) == {}


@pytest.mark.django_db
def test_a_row_is_written_back_like_a_model_object(acme) -> None:  # type: ignore[no-untyped-def]
    org = acme["org"]
    stored = SocialProfile.objects.create(organization=org, network="x", external_id="u1", handle="dan")
    row = rows_by_key(Profile, org.pk, [("x", "u1")])[("x", "u1")]
    row.followers = 42
    fast_update([row], ["followers"])  # type: ignore[list-item]
    stored.refresh_from_db()
    assert stored.followers == 42
