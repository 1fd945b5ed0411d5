"""The assembled REST API: the NinjaAPI of `hubbub.api` with every app's router mounted under /api/v1/.

A project module (like `urls` and `cli`): it may import any app, so the `api` app itself stays low in the
tree and imports none of the apps whose endpoints it serves. The order of the routers is the order of the
paths in the OpenAPI spec.
"""

from __future__ import annotations

from hubbub.api.api import api
from hubbub.api.webhook_api import router as webhooks_router
from hubbub.crm import api as crm_api
from hubbub.inbox import api as inbox_api
from hubbub.insights import api as insights_api
from hubbub.insights import survey_api
from hubbub.listening import api as listening_api
from hubbub.workflow import api as workflow_api

api.add_exception_handler(inbox_api.ConversationMerged, inbox_api.conversation_merged_handler(api))

for _router in (
    inbox_api.router,
    workflow_api.router,
    crm_api.router,
    listening_api.router,
    insights_api.router,
    survey_api.router,
    webhooks_router,
):
    api.add_router("/v1", _router)

__all__ = ["api"]
