"""The feed connector reading real kinds of feeds (a WordPress blog, a Discourse forum, a review site's Atom feed)
from a local web site with ETag/Last-Modified and 304s; feedparser and the outbound client run unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from hubbub.connectors import feeds
from hubbub.connectors.base import ChannelError, OutboundReply
from hubbub.connectors.html_text import html_to_text
from hubbub.connectors.models import Channel, ChannelStatus
from hubbub.connectors.outbound import PermanentDeliveryError
from hubbub.inbox.models import Conversation, Message
from hubbub.ingest.channel_intake import poll_channel_now
from hubbub.ingest.models import QuarantinedEvent, RawEvent
from tests.fakes.feeds import FEEDS, FakeFeedSite


@pytest.fixture
def site(settings: Any) -> Iterator[FakeFeedSite]:
    with FakeFeedSite() as fake:
        settings.OUTBOUND_ALLOW = [f"127.0.0.1:{fake.port}"]
        yield fake  # type: ignore[misc]


def _channel(acme: dict[str, Any], network: str, url: str, keywords: str = "", brand: str = "Acme Air") -> Channel:
    ch = Channel(organization=acme["org"], brand=acme["brands"][brand], network=network, name=url)
    ch.credentials = {"url": url, "keywords": keywords} if keywords else {"url": url}
    ch.save()
    return ch


def _reload(channel: Channel) -> Channel:
    return Channel.objects.get(pk=channel.pk)


def test_blog_posts_arrive_with_author_text_link_and_date(site: FakeFeedSite, acme: dict[str, Any]) -> None:
    channel = _channel(acme, "rss", site.serve_file("/feed/", "wordpress-blog.rss"))

    outcome = poll_channel_now(channel)

    assert outcome.ok and outcome.new == 3
    post = Message.objects.get(url="https://runwaynotes.example/2026/11/30/acme-air-lyon-delays/")
    assert post.author is not None and post.author.handle == "Martha Kent"
    assert post.text.startswith("Acme Air’s new Lyon route: a week of delays\n\nI flew Acme Air’s new Lyon service")
    assert "Has anyone had a refund for the 90-minute delay on Tuesday?" in post.text
    assert "document.write" not in post.text and "wp-block-image" not in post.text and "<" not in post.text
    assert post.created_at == datetime(2026, 11, 30, 8, 12, 44, tzinfo=UTC)
    assert post.network == "rss" and post.external_id == "https://runwaynotes.example/?p=4812" and post.lang == "en"
    # the house threading rule: an author's new post joins their open conversation with the brand
    martha = Conversation.objects.get(network="rss", brand__slug="acme-air", author__handle="Martha Kent")
    assert martha.message_count == 2
    assert Conversation.objects.filter(network="rss").count() == 2


def test_unchanged_feed_costs_a_304_and_stores_nothing_twice(site: FakeFeedSite, acme: dict[str, Any]) -> None:
    channel = _channel(acme, "review", site.serve_file("/review/acme-air.example/feed.atom", "reviews.atom"))
    assert poll_channel_now(channel).new == 2

    again = poll_channel_now(_reload(channel))

    assert again.ok and again.events == 0
    assert site.not_modified == 1
    assert _reload(channel).cursor["etag"].startswith('"')
    assert RawEvent.objects.filter(network="review").count() == 2


def test_changed_feed_hands_on_only_the_new_entries(site: FakeFeedSite, acme: dict[str, Any]) -> None:
    path = "/review/acme-air.example/feed.atom"
    channel = _channel(acme, "review", site.serve_file(path, "reviews.atom"))
    poll_channel_now(channel)
    newer = (
        (FEEDS / "reviews.atom")
        .read_text()
        .replace(
            "<entry>",
            """<entry>
    <title type="text">★★☆☆☆ Seat would not recline</title>
    <link rel="alternate" type="text/html" href="https://www.trustedstars.example/reviews/65f2b7"/>
    <id>tag:trustedstars.example,2026-11-30:review/65f2b7</id>
    <published>2026-11-30T10:00:00Z</published>
    <author><name>Ken W.</name></author>
    <content type="html">Row 14, eleven hours.</content>
  </entry>
  <entry>""",
            1,
        )
    )
    site.serve(path, newer.encode(), "application/atom+xml")

    outcome = poll_channel_now(_reload(channel))

    assert outcome.events == 1 and outcome.new == 1
    review = Message.objects.get(author__handle="Ken W.")
    assert review.text == "★★☆☆☆ Seat would not recline\n\nRow 14, eleven hours."
    priya = Message.objects.get(author__handle="Priya S.")
    assert "refund within 7 days & I am still waiting. Six weeks." in priya.text and "onerror" not in priya.text


def test_cursor_survives_a_restart(site: FakeFeedSite, acme: dict[str, Any]) -> None:
    url = site.serve_file("/latest.rss", "discourse-latest.rss")
    channel = _channel(acme, "forum", url)
    poll_channel_now(channel)
    site.serve("/latest.rss", (FEEDS / "discourse-latest.rss").read_bytes() + b"\n")  # new ETag, same entries

    # a new process: the channel and its cursor come from the database, the site answers 200 this time
    outcome = poll_channel_now(Channel.objects.get(pk=channel.pk))

    assert outcome.ok and outcome.events == 0 and site.not_modified == 0
    assert Message.objects.filter(network="forum").count() == 3
    assert QuarantinedEvent.objects.filter(source="forum").count() == 1  # the broken entry is held once


def test_malformed_entry_is_quarantined_while_the_others_arrive(site: FakeFeedSite, acme: dict[str, Any]) -> None:
    channel = _channel(acme, "forum", site.serve_file("/latest.rss", "discourse-latest.rss"))

    outcome = poll_channel_now(channel)

    assert outcome.ok and outcome.new == 3
    topic = Message.objects.get(external_id="community.flyers.example-topic-9812")
    assert topic.author is not None and topic.author.handle == "jpdupont"
    assert topic.text.startswith("Acme Air lost my bag at CDG – who do I call?\n\nFlew AC482 yesterday")
    [held] = QuarantinedEvent.objects.filter(source="forum")
    assert held.location.endswith("/latest.rss#entry-3") and "neither an id (guid) nor a link" in held.reason
    assert "@ghost" in held.raw


def test_keyword_filter_uses_the_listening_query_language(site: FakeFeedSite, acme: dict[str, Any]) -> None:
    url = site.serve_file("/latest.rss", "discourse-latest.rss")
    channel = _channel(acme, "forum", url, keywords='("acme air" OR acme*) -rail')

    assert poll_channel_now(channel).new == 1
    assert list(Message.objects.values_list("external_id", flat=True)) == ["community.flyers.example-topic-9812"]


def test_invalid_keyword_filter_fails_the_poll_with_the_reason(site: FakeFeedSite, acme: dict[str, Any]) -> None:
    channel = _channel(acme, "forum", site.serve_file("/latest.rss", "discourse-latest.rss"), keywords="(acme OR")
    outcome = poll_channel_now(channel)
    assert not outcome.ok and "keyword filter is not a valid query" in outcome.error
    assert Message.objects.count() == 0 and site.requests == []


def test_feed_at_a_private_address_is_refused_by_the_outbound_policy(site: FakeFeedSite, acme: dict[str, Any]) -> None:
    channel = _channel(acme, "rss", "http://10.20.30.40/feed/")
    outcome = poll_channel_now(channel)
    assert not outcome.ok
    assert outcome.error == "Could not fetch the feed: this address is not allowed: private network"
    assert _reload(channel).status == ChannelStatus.DEGRADED
    metadata = _channel(acme, "rss", "http://169.254.169.254/latest/meta-data/")
    with pytest.raises(ChannelError, match="link-local"):
        feeds.FeedConnector("rss").check(metadata)


def test_site_errors_say_why_and_wait_as_asked(site: FakeFeedSite, acme: dict[str, Any]) -> None:
    channel = _channel(acme, "rss", site.serve_file("/feed/", "wordpress-blog.rss"))
    site.statuses["/feed/"] = (503, {"Retry-After": "120"})
    with pytest.raises(ChannelError, match="HTTP 503") as busy:
        feeds.FeedConnector("rss").poll(channel, {})
    assert busy.value.retry_after == 120
    site.statuses["/feed/"] = (410, {})
    with pytest.raises(ChannelError, match="not at this address any more"):
        feeds.FeedConnector("rss").poll(channel, {})


def test_a_page_that_is_not_a_feed_is_named_as_such(site: FakeFeedSite, acme: dict[str, Any]) -> None:
    url = site.serve("/blog", b"<html><head><title>Blog</title></head><body>Hi</body></html>", "text/html")
    with pytest.raises(ChannelError, match="does not serve an RSS or Atom feed"):
        feeds.FeedConnector("rss").check(_channel(acme, "rss", url))


def test_check_names_the_feed(site: FakeFeedSite, acme: dict[str, Any]) -> None:
    channel = _channel(acme, "review", site.serve_file("/f.atom", "reviews.atom"))
    assert feeds.FeedConnector("review").check(channel) == "Reviews of Acme Air | TrustedStars (2 entries) at 127.0.0.1"


def test_feeds_take_no_replies(acme: dict[str, Any]) -> None:
    reply = OutboundReply("k", "thanks", "rss", "acme-air", 1, "https://runwaynotes.example/?p=4812", {}, "")
    with pytest.raises(PermanentDeliveryError, match="reply on the site itself: follow the link"):
        feeds.FeedConnector("rss").send_reply(_channel(acme, "rss", "https://runwaynotes.example/feed/"), reply)


def test_html_to_text_drops_markup_scripts_and_decodes_entities() -> None:
    fragment = "<p>Fish &amp; chips &amp;lt;3</p><script>alert('x')</script><style>p{}</style><ul><li>one</li><li>two"
    assert html_to_text(fragment) == "Fish & chips &lt;3\n\none\n\ntwo"


def test_a_latin_1_forum_feed_reads_as_written(site: FakeFeedSite, acme: dict[str, Any]) -> None:
    document = """<?xml version="1.0" encoding="ISO-8859-1"?>
<rss version="2.0"><channel><title>Forum des voyageurs</title><link>https://forum.voyageurs.example/</link>
<language>fr-FR</language>
<item><title>Vol annulé à Orly</title><link>https://forum.voyageurs.example/viewtopic.php?t=4410</link>
<author>elodie@voyageurs.example (Élodie)</author><pubDate>Mon, 30 Nov 2026 07:00:00 +0100</pubDate>
<description>&lt;p&gt;Acme a annulé mon vol, café offert mais aucune nouvelle du remboursement.&lt;/p&gt;</description>
</item></channel></rss>""".encode("iso-8859-1")
    channel = _channel(acme, "forum", site.serve("/rss.php", document, "application/rss+xml; charset=ISO-8859-1"))

    assert poll_channel_now(channel).new == 1

    topic = Message.objects.get(network="forum")
    assert (
        topic.text == "Vol annulé à Orly\n\nAcme a annulé mon vol, café offert mais aucune nouvelle du remboursement."
    )
    assert topic.lang == "fr" and topic.created_at == datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    assert topic.author is not None and topic.author.handle == "Élodie"
