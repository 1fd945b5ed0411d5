"""The composer's heartbeat: records that this agent is writing and warns of the others."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from hubbub.inbox.models import Conversation
from hubbub.tenancy.scoping import Scope, get_scoped_or_404
from hubbub.web.views.common import scoped_view
from hubbub.workflow.services.presence import touch_composer


@require_POST
@scoped_view
def composing(request: HttpRequest, scope: Scope, conversation_id: int) -> HttpResponse:
    conv = get_scoped_or_404(Conversation.objects.all(), scope, id=conversation_id)
    others = touch_composer(scope, conv)
    return render(request, "workflow/_collision.html", {"others": others})
