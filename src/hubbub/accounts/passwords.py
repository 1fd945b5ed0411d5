"""Password rules: the project's validators (settings.AUTH_PASSWORD_VALIDATORS), for the CLI and every form."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError


def password_problems(password: str, user: Any = None) -> list[str]:
    """Each rule the password breaks, in the validators' own words ("This password is too short. It must contain
    at least 10 characters."); empty when it passes. `user` (saved or not) lets the similarity rule compare the
    password with the username and email."""
    try:
        validate_password(password, user)
    except ValidationError as exc:
        return list(exc.messages)
    return []
