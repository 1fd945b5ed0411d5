"""`breakable`: long runs without a space become breakable anywhere; everything stays escaped."""

from __future__ import annotations

from django.template import Context, Template

RENDER = Template("{% load text_tags %}{{ text|breakable|linebreaksbr }}")


def test_a_long_run_is_wrapped_and_escaped_with_the_rest() -> None:
    run = "ก" * 250 + "<script>"
    html = RENDER.render(Context({"text": f"<b>hi</b>\nsee {run} & done"}))
    assert html == (f'&lt;b&gt;hi&lt;/b&gt;<br>see <span class="longword">{"ก" * 250}&lt;script&gt;</span> &amp; done')


def test_ordinary_text_is_left_as_it_was() -> None:
    text = "A sentence with words, and a link https://example.com/a/b?c=d of normal length."
    assert RENDER.render(Context({"text": text})) == text.replace("&", "&amp;")
