"""Panels beside a conversation's thread, added by the apps above the inbox.

The inbox knows nothing of customers, orders or loyalty: those belong to `crm`, which sits above it.
So the thread pane shows whatever panels are registered here. An app registers its panel once, in its
`AppConfig.ready` (`crm` adds the customer panel: `hubbub.crm.apps`), with a template and a function
that returns the template's context for one conversation. The thread renders without any panel: a panel
is an addition, never something the inbox needs.

Each panel's context is merged into the thread pane's, so a panel names its keys after itself
(`crm_customer`, `crm_orders`, …) and its template can still use the thread's (`conv`, `author`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hubbub.tenancy.scoping import Scope

if TYPE_CHECKING:
    from hubbub.inbox.models import Conversation

PanelContext = Callable[[Scope, "Conversation"], Mapping[str, Any]]


@dataclass(frozen=True)
class ConversationPanel:
    name: str
    template: str
    context: PanelContext


_panels: dict[str, ConversationPanel] = {}


def register_conversation_panel(name: str, template: str, context_fn: PanelContext) -> None:
    """Show `template` beside every conversation's thread, with `context_fn(scope, conversation)` added
    to the thread's context. Panels show in the order registered; registering a name again replaces that
    panel in its place (a reloaded app config does not add it twice)."""
    _panels[name] = ConversationPanel(name, template, context_fn)


def conversation_panels() -> list[ConversationPanel]:
    """The panels registered, in order."""
    return list(_panels.values())


def panels_context(scope: Scope, conversation: Conversation) -> dict[str, Any]:
    """What the thread pane needs for its panels: each panel's context, and `conversation_panels`, the
    panels to render (their templates, in order)."""
    panels = conversation_panels()
    ctx: dict[str, Any] = {"conversation_panels": panels}
    for panel in panels:
        ctx.update(panel.context(scope, conversation))
    return ctx
