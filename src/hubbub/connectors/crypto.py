"""Channel credentials are stored encrypted (Fernet), keyed from the install secret.

`HUBBUB_CREDENTIALS_KEY` (a Fernet key) overrides the derived key so production
can rotate it independently of Django's SECRET_KEY.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


def _fernet() -> Fernet:
    key = os.environ.get("HUBBUB_CREDENTIALS_KEY")
    if not key:
        digest = hashlib.sha256(("hubbub-credentials:" + settings.SECRET_KEY).encode()).digest()
        key = base64.urlsafe_b64encode(digest).decode()
    return Fernet(key.encode())


def encrypt_json(data: dict[str, Any]) -> str:
    return _fernet().encrypt(json.dumps(data).encode()).decode()


def decrypt_json(token: str) -> dict[str, Any]:
    if not token:
        return {}
    try:
        return dict(json.loads(_fernet().decrypt(token.encode())))
    except InvalidToken as exc:
        raise ValueError("Channel credentials cannot be decrypted with the current key") from exc
