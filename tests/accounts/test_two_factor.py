"""Two-factor sign-in: a user enrols an authenticator app from their own page, signing in then asks for its
code after the password, and an organisation's admin can require it of its admins and supervisors."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from hubbub.accounts.two_factor import DEVICE_NAME
from hubbub.tenancy.models import AuditEvent
from tests.accounts.conftest import code_for, wrong_code

PASSWORD = "pw-12345678"
STEP = timedelta(seconds=31)  # a code is used once; the next sign-in needs the next time step's


def _password_sign_in(username: str) -> Client:
    client = Client()
    r = client.post("/login/", {"username": username, "password": PASSWORD}, REMOTE_ADDR="10.3.3.3")
    assert r.status_code == 302
    return client


def _enrol(client: Client) -> TOTPDevice:
    page = client.get("/account/two-factor/")
    assert page.status_code == 200 and "<svg" in page.content.decode()
    device = TOTPDevice.objects.filter(confirmed=False).latest("id")
    secret = re.search(r'<code id="totp-secret">([A-Z2-7 ]+)</code>', page.content.decode())
    assert secret and secret.group(1).replace(" ", "") in device.config_url  # the secret shown is the QR code's
    r = client.post("/account/two-factor/", {"action": "confirm", "code": code_for(device)})
    assert r.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    return device


@pytest.mark.django_db
def test_enrolled_user_needs_the_code_after_the_password(acme):  # type: ignore[no-untyped-def]
    device = _enrol(_password_sign_in("acme-supervisor"))
    assert device.name == DEVICE_NAME
    assert AuditEvent.objects.filter(verb="two_factor.enrolled", actor__username="acme-supervisor").exists()
    with time_machine.travel(timezone.now() + STEP):
        client = _password_sign_in("acme-supervisor")
        inbox = client.get("/")
        assert inbox.status_code == 302 and inbox["Location"].startswith("/login/code/")
        assert client.get("/api/v1/conversations").status_code == 403  # the API with the session too
        refused = client.post("/login/code/", {"code": wrong_code(device), "next": "/"})
        assert refused.status_code == 400 and "did not match" in refused.content.decode()
    with time_machine.travel(timezone.now() + 3 * STEP):  # past the throttle of the wrong code
        r = client.post("/login/code/", {"code": code_for(device), "next": "/"})
        assert r.status_code == 302 and r["Location"] == "/"
        assert client.get("/").status_code == 200


@pytest.mark.django_db
def test_a_code_is_used_once(acme):  # type: ignore[no-untyped-def]
    device = _enrol(_password_sign_in("acme-admin"))
    with time_machine.travel(timezone.now() + STEP):
        code = code_for(device)
        first = _password_sign_in("acme-admin")
        assert first.post("/login/code/", {"code": code}).status_code == 302
        second = _password_sign_in("acme-admin")
        assert second.post("/login/code/", {"code": code}).status_code == 400


@pytest.mark.django_db
def test_the_django_admin_login_does_not_skip_the_code(acme):  # type: ignore[no-untyped-def]
    user = acme["users"]["admin"]
    user.is_staff = user.is_superuser = True
    user.save()
    _enrol(_password_sign_in("acme-admin"))
    with time_machine.travel(timezone.now() + STEP):
        client = Client()
        client.post("/admin/login/", {"username": "acme-admin", "password": PASSWORD}, REMOTE_ADDR="10.3.3.3")
        r = client.get("/admin/")
        assert r.status_code == 302 and r["Location"].startswith("/login/code/")


@pytest.mark.django_db
def test_turning_it_off_needs_a_current_code(acme):  # type: ignore[no-untyped-def]
    client = _password_sign_in("acme-agent")
    device = _enrol(client)
    with time_machine.travel(timezone.now() + STEP):
        client = _password_sign_in("acme-agent")
        client.post("/login/code/", {"code": code_for(device)})
    with time_machine.travel(timezone.now() + 2 * STEP):
        refused = client.post("/account/two-factor/", {"action": "remove", "code": wrong_code(device)})
        assert refused.status_code == 400 and TOTPDevice.objects.filter(pk=device.pk).exists()
    with time_machine.travel(timezone.now() + 4 * STEP):
        r = client.post("/account/two-factor/", {"action": "remove", "code": code_for(device)})
        assert r.status_code == 302 and not TOTPDevice.objects.filter(user__username="acme-agent").exists()
    assert AuditEvent.objects.filter(verb="two_factor.removed", actor__username="acme-agent").exists()


@pytest.mark.django_db
def test_required_two_factor_sends_admins_and_supervisors_to_enrol_first(acme):  # type: ignore[no-untyped-def]
    admin = _password_sign_in("acme-admin")
    page = admin.get("/settings/users/").content.decode()
    assert "Require two-factor for admins and supervisors" in page
    r = admin.post("/settings/security/", {"require_two_factor": "on"})
    assert r.status_code == 302
    event = AuditEvent.objects.get(verb="security.two_factor_required")
    assert event.data == {"required": True} and event.actor == acme["users"]["admin"]
    # the admin who set it, without a device, is sent to enrol before anything else
    r = admin.get("/")
    assert r.status_code == 302 and r["Location"].startswith("/account/two-factor/")
    assert "requires two-factor" in admin.get(r["Location"]).content.decode()
    supervisor = _password_sign_in("acme-supervisor")
    assert supervisor.get("/settings/users/").status_code == 302
    # agents and analysts are not held
    assert _password_sign_in("acme-agent").get("/").status_code == 200
    # once enrolled (which also verifies this session), the admin gets in
    _enrol(admin)
    assert admin.get("/").status_code == 200


@pytest.mark.django_db
def test_admin_resets_a_members_lost_device(acme):  # type: ignore[no-untyped-def]
    _enrol(_password_sign_in("acme-supervisor"))
    admin = _password_sign_in("acme-admin")
    member = acme["users"]["supervisor"].memberships.get()
    r = admin.post(f"/settings/users/{member.pk}/", {"action": "reset_two_factor"})
    assert r.status_code == 302
    assert not TOTPDevice.objects.filter(user=acme["users"]["supervisor"]).exists()
    assert AuditEvent.objects.filter(verb="two_factor.reset", target_id=str(member.pk)).exists()
    assert _password_sign_in("acme-supervisor").get("/").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["config", "qrcode"])
def test_the_admin_never_shows_a_members_second_factor_secret(acme, page):  # type: ignore[no-untyped-def]
    """Whoever runs the Django admin must not read another user's TOTP secret (config page, QR code), and an
    unknown device id is refused the same way, not answered with a server error."""
    member = acme["users"]["agent"]
    device = TOTPDevice.objects.create(user=member, name=DEVICE_NAME, confirmed=True)
    root = acme["users"]["admin"]
    root.is_staff = root.is_superuser = True
    root.save()
    client = Client(raise_request_exception=False)
    client.force_login(root)
    for pk in (device.pk, 987654):
        r = client.get(f"/admin/otp_totp/totpdevice/{pk}/{page}/")
        assert r.status_code == 403, (pk, r.status_code)
        assert device.key not in r.content.decode()
