"""Two-factor sign-in with a TOTP authenticator app (django-otp): enrolment, verification, removal, and an
organisation's requirement for its admins and supervisors. Each change is audited in the organisation."""

from __future__ import annotations

from base64 import b32encode
from collections.abc import Iterable
from typing import Any

import segno
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from hubbub.accounts.models import SecurityPolicy
from hubbub.tenancy.models import Role
from hubbub.tenancy.scoping import Scope, require_role
from hubbub.tenancy.services import audit

DEVICE_NAME = "Authenticator app"


def confirmed_device(user: Any) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).first()


def enrolled_user_ids(user_ids: Iterable[int]) -> set[int]:
    """Which of these users have two-factor on (one query for a whole page of members)."""
    found = TOTPDevice.objects.filter(user_id__in=list(user_ids), confirmed=True).values_list("user_id", flat=True)
    return set(found)


def session_verified(user: Any) -> bool:
    """Whether this session gave a code (OTPMiddleware puts the verifying device on the user)."""
    return getattr(user, "otp_device", None) is not None


def pending_device(user: Any) -> TOTPDevice:
    """The device being enrolled: kept until confirmed, so reloading the page shows the same QR code."""
    device = TOTPDevice.objects.filter(user_id=user.pk, confirmed=False).order_by("-id").first()
    return device or TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


def qr_svg(device: TOTPDevice) -> str:
    """The otpauth:// URI as an inline SVG QR code, drawn here: the secret never goes to a QR service."""
    return str(segno.make(device.config_url, error="m").svg_inline(scale=5, dark="#111827", light="#ffffff"))


def secret_text(device: TOTPDevice) -> str:
    """The secret in base32, in groups of four, for apps that cannot scan."""
    secret = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def code_refusal(device: TOTPDevice, code: str) -> str | None:
    """None when `code` is the device's current code (it is then used up); otherwise why not, for the form."""
    allowed, details = device.verify_is_allowed()
    if not allowed:
        return "Too many wrong codes. Wait a minute, then enter the code your app shows now."
    if device.verify_token(code.replace(" ", "")):
        return None
    return "That code did not match. Enter the 6-digit code your app shows now (codes change every 30 seconds)."


def confirm_enrolment(scope: Scope, device: TOTPDevice, code: str) -> str | None:
    """Turn two-factor on for the scope's user once they prove the app holds the secret; None when it is on."""
    refusal = code_refusal(device, code)
    if refusal:
        return refusal
    with transaction.atomic():
        TOTPDevice.objects.filter(user_id=device.user_id).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        audit(scope.organization_id, scope.user, "two_factor.enrolled", scope.membership)
    return None


def remove_own_device(scope: Scope, code: str) -> str | None:
    """Turn the scope user's two-factor off, proven with a current code (a stolen session alone cannot)."""
    device = confirmed_device(scope.user)
    if device is None:
        return "Two-factor sign-in is not on."
    refusal = code_refusal(device, code)
    if refusal:
        return refusal
    with transaction.atomic():
        TOTPDevice.objects.filter(user_id=scope.user.pk).delete()
        audit(scope.organization_id, scope.user, "two_factor.removed", scope.membership)
    return None


def reset_member_device(scope: Scope, member: Any) -> int:
    """An admin's reset for a member who lost their phone; they enrol again at their next sign-in if required."""
    require_role(scope, Role.ADMIN)
    with transaction.atomic():
        removed, _ = TOTPDevice.objects.filter(user_id=member.user_id).delete()
        audit(scope.organization_id, scope.user, "two_factor.reset", member, username=member.user.get_username())
    return int(removed)


def requires_two_factor(organization_id: int) -> bool:
    return SecurityPolicy.objects.filter(organization_id=organization_id, require_two_factor=True).exists()


def must_enrol(scope: Scope | None) -> bool:
    """Admins and supervisors of an organisation that requires two-factor, without a confirmed device yet."""
    if scope is None or not scope.can(Role.SUPERVISOR) or not requires_two_factor(scope.organization_id):
        return False
    return confirmed_device(scope.user) is None


def set_requirement(scope: Scope, required: bool) -> None:
    """Require (or stop requiring) two-factor for the organisation's admins and supervisors."""
    require_role(scope, Role.ADMIN)
    with transaction.atomic():
        policy, _ = SecurityPolicy.objects.get_or_create(organization_id=scope.organization_id)
        if policy.require_two_factor == required:
            return
        policy.require_two_factor = required
        policy.save(update_fields=["require_two_factor", "updated_at"])
        audit(scope.organization_id, scope.user, "security.two_factor_required", policy, required=required)
