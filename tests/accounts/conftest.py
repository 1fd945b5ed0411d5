"""Helpers for the sign-in tests: real TOTP codes computed from the device's secret, as an app would."""

from __future__ import annotations

import time

from django_otp.oath import TOTP, totp
from django_otp.plugins.otp_totp.models import TOTPDevice


def code_for(device: TOTPDevice) -> str:
    """The code an authenticator app shows for this device now (time_machine moves "now" in the tests)."""
    device.refresh_from_db()
    return str(totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)).zfill(device.digits)


def wrong_code(device: TOTPDevice) -> str:
    """A code of the right length that is none of those accepted now (the current one and its neighbours)."""
    accepted = set()
    for steps in (-1, 0, 1):
        generator = TOTP(device.bin_key, device.step, device.t0, device.digits)
        generator.time = time.time() + steps * device.step
        accepted.add(str(generator.token()).zfill(device.digits))
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in accepted)
