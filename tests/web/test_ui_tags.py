"""The design system's template tags: icons are inline SVG hidden from screen readers, every network has a
mark and a readable name, an author's avatar has stable initials and colour."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.template import Context, Template, TemplateSyntaxError

from hubbub.connectors.models import Network
from hubbub.web.templatetags.ui_tags import ICONS, avatar_colour, initials, network_mark, svg


def render(source: str, **context: object) -> str:
    return Template("{% load ui_tags %}" + source).render(Context(context))


def test_an_icon_is_inline_svg_hidden_from_screen_readers() -> None:
    html = render('{% icon "inbox" %}')
    assert html.startswith('<svg class="icon icon-inbox"') and 'aria-hidden="true"' in html
    assert "<!--" not in html and "<path" in html


def test_an_icon_with_a_label_is_read_out_by_its_label() -> None:
    html = render('{% icon "menu" label="Menu" %}')
    assert html.endswith('<span class="sr-only">Menu</span>')


def test_an_unknown_icon_is_an_error_of_the_template() -> None:
    with pytest.raises(TemplateSyntaxError):
        render('{% icon "no-such-icon" %}')
    with pytest.raises(TemplateSyntaxError):
        svg("../app")


@pytest.mark.parametrize("network", [n.value for n in Network] + ["csv", ""])
def test_every_network_has_a_vendored_mark_and_a_name(network: str) -> None:
    name, label = network_mark(network)
    assert (ICONS / f"{name}.svg").is_file() and label
    html = render("{% network_icon n %}", n=network)
    assert f'title="{label}"' in html and f'<span class="sr-only">{label}</span>' in html


def test_a_network_mark_beside_its_written_name_is_not_read_twice() -> None:
    html = render("{% network_icon n named=False %}", n="x")
    assert "sr-only" not in html and 'title="X / Twitter"' in html


def test_a_network_name_is_escaped_where_it_is_shown() -> None:
    assert "<b>" not in render("{% network_icon n %}", n="<b>")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Ann Smith", "AS"),
        ("ann_smith", "AS"),
        ("AnnSmith", "AS"),
        ("delta", "DE"),
        ("JetBlue", "JB"),
        ("", "?"),
        ("Zoë Ōta", "ZŌ"),
        ("user12345", "US"),
    ],
)
def test_initials(name: str, expected: str) -> None:
    assert initials(name) == expected


def test_an_avatar_has_the_same_colour_for_the_same_author_and_is_decorative() -> None:
    author = SimpleNamespace(handle="ana", display_name="Ana Lima", network="x")
    html = render("{% avatar a %}", a=author)
    assert f'class="avatar av-{avatar_colour("x", "ana")}"' in html and ">AL<" in html and 'aria-hidden="true"' in html
    assert avatar_colour("x", "ana") == avatar_colour("x", "ANA")
    assert len({avatar_colour("x", f"user{i}") for i in range(200)}) == 12  # all colours in use
