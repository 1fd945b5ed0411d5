"""Run as a separate process by the fault tests, on the fleet's own database (not the test's):

`setup X_USER_ID X_API_URL X_TOKEN`: an organisation with a brand whose X account is connected (the fake X in the
test process), an agent and an admin; prints the agent's API token and both users' session keys. (The test reads
what Hubbub holds afterwards with plain SQL: `fleet.Fleet.report`.)"""

from __future__ import annotations

import json
import os
import sys
from importlib import import_module


def setup(x_user_id: str, api_url: str, token: str) -> dict[str, object]:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model

    from hubbub.api.models import ApiToken
    from hubbub.connectors.models import Channel
    from hubbub.tenancy.models import Brand, Membership, Organization

    org = Organization.objects.create(slug="faults", name="Faults")
    brand = Brand.objects.create(organization=org, name="Acme Air", slug="acme-air", handles=["AcmeAir"])
    channel = Channel(organization=org, brand=brand, network="x", name="@AcmeAir", account_id=x_user_id)
    channel.credentials = {"access_token": token, "user_id": x_user_id, "api_url": api_url}
    channel.save()
    sessions = {}
    users = {}
    for role in ("agent", "admin"):
        user = get_user_model().objects.create_user(username=f"faults-{role}", password="pw-faults-12345")
        Membership.objects.create(user=user, organization=org, role=role)
        store = import_module(settings.SESSION_ENGINE).SessionStore()  # type: ignore[attr-defined]
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.save()
        sessions[role] = store.session_key
        users[role] = user
    _, key = ApiToken.issue(users["agent"], org.pk, "faults")
    return {"token": key, "sessions": sessions, "organization": org.pk}


def main(command: str, *args: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hubbub.settings")
    import django

    django.setup()
    assert command == "setup", command
    print(json.dumps(setup(*args)))


if __name__ == "__main__":
    main(sys.argv[1], *sys.argv[2:])
