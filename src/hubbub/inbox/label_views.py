"""The "why this label" form of the thread pane: an agent corrects a message's labels.

The form itself (`{% correct_labels_form %}`) and its choices belong to the analysis app; saving it changes
the inbox's message, so the view is the inbox's and calls `inbox.actions.labels.do_correct_label`.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_POST

from hubbub.inbox.actions.labels import do_correct_label
from hubbub.inbox.inputs import LabelsIn
from hubbub.inbox.models import Direction, Message
from hubbub.inbox.views import after_action
from hubbub.inputs import form_input
from hubbub.tenancy.scoping import Scope, get_scoped_or_404
from hubbub.web.views.common import scoped_view


@require_POST
@scoped_view
def correct(request: HttpRequest, scope: Scope, message_id: int) -> HttpResponse:
    """Apply the labels of the form; unchanged labels count as confirmed."""
    message = get_scoped_or_404(
        Message.objects.select_related("conversation"), scope, id=message_id, direction=Direction.IN
    )
    changed: list[str] = []
    try:
        # every label checked before any is applied; a label left empty (no topic for a message that is not
        # a complaint) is left as it is
        for name, value in form_input(LabelsIn, request.POST).given().items():
            old = str(getattr(message, name) or "")
            do_correct_label(scope, message, name, value)
            if value != old:
                changed.append(name.replace("_", " "))
        messages.success(request, f"Corrected {', '.join(changed)}." if changed else "Labels confirmed.")
    except ValueError as exc:  # InvalidInput: the label and why, as the action would say it
        messages.error(request, str(exc))
    return after_action(request, scope, message.conversation_id)
