"""An endpoint's signing secret, encrypted at rest with the install's credentials key (connectors.crypto)."""

from __future__ import annotations

from hubbub.api.webhook_models import WebhookEndpoint
from hubbub.connectors.crypto import decrypt_json, encrypt_json


def seal(secret: str) -> str:
    return encrypt_json({"secret": secret})


def secret_of(endpoint: WebhookEndpoint) -> str:
    return str(decrypt_json(endpoint.secret_encrypted)["secret"])
