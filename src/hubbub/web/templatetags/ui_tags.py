"""The design system's template tags: icons, network marks and avatars.

`{% icon "inbox" %}` inlines one SVG of `static/hubbub/icons/` (Lucide, vendored; see VENDORED.md), hidden from
screen readers: an icon only repeats the words beside it. An icon that stands alone names itself with
`label="…"`, read out instead (a visually hidden text). Inlined rather than `<img>` or `<use>`, so it takes the
text colour (`currentColor`) of either theme and costs no request.

`{% network_icon c.network %}` is the mark of the network a message came from, with its name for screen
readers and as a tooltip. Lucide has no logos of brands, so X, Facebook, Instagram, Threads, Mastodon and
Bluesky get simple monochrome marks of our own (`mark-*.svg`); the others Lucide's generic icons.

`{% avatar author %}` is a circle with the author's initials, coloured by a hash of network and handle: the same
author has the same colour on every page and every day, without storing anything.
"""

from __future__ import annotations

import re
import zlib
from functools import cache
from pathlib import Path

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from hubbub.connectors.models import Network

register = template.Library()

ICONS = Path(__file__).resolve().parent.parent / "static" / "hubbub" / "icons"
_INNER = re.compile(r"<svg\b[^>]*>(.*)</svg>", re.DOTALL)
# one shape for every icon: the stroke style of Lucide, sized by CSS (.icon) to the text around it
_SVG = (
    '<svg class="icon icon-{name}" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2"'
    ' stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false">{inner}</svg>'
)

NETWORK_MARKS: dict[str, tuple[str, str]] = {
    Network.X: ("mark-x", Network.X.label),
    Network.FACEBOOK: ("mark-facebook", Network.FACEBOOK.label),
    Network.INSTAGRAM: ("mark-instagram", Network.INSTAGRAM.label),
    Network.THREADS: ("mark-threads", Network.THREADS.label),
    Network.MASTODON: ("mark-mastodon", Network.MASTODON.label),
    Network.BLUESKY: ("mark-bluesky", Network.BLUESKY.label),
    Network.RSS: ("rss", Network.RSS.label),
    Network.FORUM: ("messages-square", Network.FORUM.label),
    Network.REVIEW: ("star", Network.REVIEW.label),
    Network.EMAIL: ("mail", Network.EMAIL.label),
    Network.OTHER: ("globe", Network.OTHER.label),
}
FILE_MARK = "file-spreadsheet"  # a network we do not know: a file import (csv, jsonl) names its own source
AVATAR_COLOURS = 12  # .av-0 … .av-11 in app.css, each dark enough for white initials in both themes


@cache
def svg(name: str) -> str:
    """The markup of icon `name`; a name without a file is an error of the template that asks for it."""
    path = ICONS / f"{name}.svg"
    if not re.fullmatch(r"[a-z0-9-]+", name) or not path.is_file():
        raise template.TemplateSyntaxError(f"no icon {name!r} in {ICONS}")
    found = _INNER.search(path.read_text(encoding="utf-8"))
    inner = re.sub(r"\s*\n\s*", "", found.group(1)) if found else ""
    return _SVG.format(name=name, inner=inner)


@register.simple_tag
def icon(name: str, label: str = "") -> SafeString:
    """Icon `name`, hidden from screen readers; with `label`, that text is read out in its place."""
    markup = mark_safe(svg(name))  # our own files, read from the package
    if label:
        return format_html('{}<span class="sr-only">{}</span>', markup, label)
    return markup


def network_mark(network: str) -> tuple[str, str]:
    """(icon, readable name) of a network value as stored on messages and conversations."""
    if network in NETWORK_MARKS:
        return NETWORK_MARKS[network]
    return FILE_MARK, (network or "file").upper()


@register.filter
def network_name(network: str) -> str:
    """The readable name of a network value ("x": "X / Twitter")."""
    return network_mark(network)[1]


@register.simple_tag
def network_icon(network: str, named: bool = True) -> SafeString:
    """The network's mark, named for screen readers; `named=False` where its name is written beside it."""
    name, label = network_mark(network)
    return format_html(
        '<span class="net net-{}" title="{}">{}{}</span>',
        re.sub(r"[^a-z0-9-]", "", (network or "file").lower()),
        label,
        mark_safe(svg(name)),
        format_html('<span class="sr-only">{}</span>', label) if named else "",
    )


def _words(name: str) -> list[str]:
    """Words split at anything but letters and digits, and at a capital after a small letter ("JetBlue")."""
    words: list[str] = []
    for chunk in re.split(r"[\W_]+", name):
        start = 0
        for i in range(1, len(chunk)):
            if chunk[i].isupper() and chunk[i - 1].islower():
                words.append(chunk[start:i])
                start = i
        if chunk:
            words.append(chunk[start:])
    return words


def initials(name: str) -> str:
    """Up to two letters: the first of the first two words ("Ann Smith", "ann_smith", "AnnSmith": "AS"),
    or the first two of a single word ("delta": "DE")."""
    words = _words(name or "")
    if not words:
        return "?"
    if len(words) == 1:
        return words[0][:2].upper()
    return (words[0][0] + words[1][0]).upper()


def avatar_colour(network: str, handle: str) -> int:
    """Which of the avatar colours: stable across processes and releases (crc32, not Python's `hash`)."""
    return zlib.crc32(f"{network}:{handle.lower()}".encode()) % AVATAR_COLOURS


@register.simple_tag
def avatar(author: object, size: str = "") -> SafeString:
    """The author's initials in a coloured circle; decorative (the name is written beside it)."""
    handle = str(getattr(author, "handle", "") or "")
    name = str(getattr(author, "display_name", "") or "") or handle
    network = str(getattr(author, "network", "") or "")
    return format_html(
        '<span class="avatar av-{}{}" aria-hidden="true">{}</span>',
        avatar_colour(network, handle),
        f" avatar-{size}" if size in ("sm", "lg") else "",
        initials(name),
    )
