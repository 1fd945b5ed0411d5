"""The outbound client: which addresses it refuses, that it connects to what it checked, and its limits."""

from __future__ import annotations

from collections.abc import Iterator
from ipaddress import ip_address
from pathlib import Path

import httpx
import pytest

from hubbub import outbound_http
from hubbub.outbound_http import (
    OutboundError,
    OutboundRefused,
    OutboundTimeout,
    OutboundTooLarge,
    address_problem,
    literal_address,
    outbound_client,
    outbound_session,
    validate_user_url,
)
from tests.security.servers import CountingServer
from tests.security.tls import make_tls


@pytest.fixture
def server() -> Iterator[CountingServer]:
    with CountingServer() as s:
        yield s


@pytest.fixture
def allow(settings):  # type: ignore[no-untyped-def]
    def _allow(*entries: str) -> None:
        settings.OUTBOUND_ALLOW = list(entries)

    return _allow


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("169.254.169.254", "link-local"),
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("100.64.0.1", "CGNAT"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "link-local"),
        ("::127.0.0.1", "loopback"),
        ("64:ff9b::10.0.0.1", "private"),
        ("2002:7f00:1::", "loopback"),
        ("fc00::1", "private"),
        ("fe80::1", "link-local"),
        ("fec0::1", "private"),
        ("ff02::1", "multicast"),
    ],
)
def test_non_public_addresses_are_refused_with_their_reason(address: str, reason: str) -> None:
    problem = address_problem(ip_address(address))
    assert problem is not None and reason in problem


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700:4700::1111", "::ffff:93.184.215.14"])
def test_public_addresses_pass(address: str) -> None:
    assert address_problem(ip_address(address)) is None


@pytest.mark.parametrize("spelling", ["2130706433", "0177.0.0.1", "127.1", "0x7f.1", "0x7f000001", "127.0.0.1."])
def test_odd_ipv4_spellings_are_read_as_the_address_they_mean(spelling: str) -> None:
    assert literal_address(spelling) == ip_address("127.0.0.1")


@pytest.mark.parametrize("name", ["example.com", "cafe", "add.be", "1e100.net"])
def test_names_are_not_taken_for_addresses(name: str) -> None:
    assert literal_address(name) is None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://2130706433/", "loopback"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://user:pass@example.com/", "user names and passwords"),
        ("file:///etc/passwd", "only http and https"),
        ("gopher://example.com/", "only http and https"),
        ("http:///nohost", "no host"),
    ],
)
def test_save_time_check_says_why_an_address_is_refused(url: str, reason: str) -> None:
    with pytest.raises(OutboundRefused) as refused:
        validate_user_url(url)
    assert reason in str(refused.value)
    assert str(refused.value).startswith("this address is not allowed: ")


def test_save_time_check_refuses_a_name_that_resolves_to_a_private_address(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(outbound_http, "resolve_name", lambda host, port: ["93.184.215.14", "10.0.0.7"])
    with pytest.raises(OutboundRefused, match="private network"):
        validate_user_url("https://hooks.example.com/x")


def test_save_time_check_keeps_a_public_address(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(outbound_http, "resolve_name", lambda host, port: ["93.184.215.14"])
    assert validate_user_url("  https://hooks.example.com/x ") == "https://hooks.example.com/x"


def test_a_loopback_server_is_not_reached_unless_the_operator_allows_it(server, allow) -> None:  # type: ignore[no-untyped-def]
    with outbound_client() as client, pytest.raises(OutboundRefused, match="loopback"):
        client.get(server.url())
    assert server.hits == 0

    allow(f"127.0.0.1:{server.port + 1}")  # another port of the same host stays closed
    with outbound_client() as client, pytest.raises(OutboundRefused):
        client.get(server.url())
    assert server.hits == 0

    allow(f"127.0.0.1:{server.port}")
    with outbound_client() as client:
        assert client.get(server.url()).text == "xx"
    assert server.hits == 1


@pytest.mark.parametrize("entry", ["127.0.0.0/8", "127.0.0.1"])
def test_allow_list_takes_networks_and_bare_addresses(server, allow, entry: str) -> None:  # type: ignore[no-untyped-def]
    allow(entry)
    with outbound_client() as client:
        assert client.get(server.url()).status_code == 200


def test_a_bad_allow_list_entry_is_named(allow) -> None:  # type: ignore[no-untyped-def]
    allow("not-an-address:80")
    with pytest.raises(ValueError, match="not-an-address"):
        validate_user_url("http://127.0.0.1/")


def test_the_connection_goes_to_the_address_that_was_checked(monkeypatch, allow) -> None:  # type: ignore[no-untyped-def]
    """DNS rebinding: the name answers an allowed address for the check, a forbidden one right after."""
    with CountingServer("127.0.0.1") as good, CountingServer("127.0.0.2") as evil:
        evil_port = evil.port
        answers = iter([["127.0.0.1"], ["127.0.0.2"], ["127.0.0.2"]])
        monkeypatch.setattr(outbound_http, "resolve_name", lambda host, port: next(answers))
        allow(f"127.0.0.1:{good.port}", f"127.0.0.1:{evil_port}")
        with outbound_client() as client:
            assert client.get(f"http://rebind.test:{good.port}/ok").status_code == 200
        assert good.hits == 1 and good.hosts == [f"rebind.test:{good.port}"]
        # The next lookup answers 127.0.0.2, which is not allowed: refused before any connect.
        with outbound_client() as client, pytest.raises(OutboundRefused):
            client.get(f"http://rebind.test:{evil_port}/ok")
        assert evil.hits == 0


def test_tls_to_a_pinned_address_checks_the_certificate_for_the_name(monkeypatch, allow, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tls = make_tls("pinned.test", tmp_path)
    seen_sni: list[str | None] = []
    tls.server.sni_callback = lambda sock, name, ctx: seen_sni.append(name)  # type: ignore[assignment,misc]
    with CountingServer(tls=tls.server) as server:
        monkeypatch.setattr(outbound_http, "resolve_name", lambda host, port: ["127.0.0.1"])
        allow(f"127.0.0.1:{server.port}")
        with outbound_client(verify=tls.client) as client:
            assert client.get(f"https://pinned.test:{server.port}/ok").text == "xx"
        assert seen_sni == ["pinned.test"]
        with outbound_client(verify=tls.client) as client, pytest.raises(OutboundError):
            client.get(f"https://127.0.0.1:{server.port}/ok")  # the certificate names pinned.test, not the IP


def test_every_redirect_hop_is_checked(server, allow) -> None:  # type: ignore[no-untyped-def]
    with CountingServer() as internal:
        allow(f"127.0.0.1:{server.port}")
        with outbound_client() as client, pytest.raises(OutboundRefused, match="loopback"):
            client.get(server.url(f"/redirect?to={internal.url('/admin')}"))
        assert server.hits == 1 and internal.hits == 0


def test_redirects_stop_after_five_hops(server, allow) -> None:  # type: ignore[no-untyped-def]
    allow(f"127.0.0.1:{server.port}")
    url = server.url("/ok")
    for _ in range(6):
        url = server.url("/redirect?to=" + httpx.URL(url).raw_path.decode().replace("&", "%26"))
    with outbound_client() as client, pytest.raises(OutboundError, match="too many redirects"):
        client.get(url)


@pytest.mark.parametrize("path", ["/big", "/drip"])
def test_a_body_over_the_limit_stops_the_read(server, allow, path: str) -> None:  # type: ignore[no-untyped-def]
    allow(f"127.0.0.1:{server.port}")
    with outbound_client(max_bytes=100_000) as client:
        assert len(client.get(server.url(f"{path}?n=100000")).content) == 100_000
        with pytest.raises(OutboundTooLarge) as too_large:
            client.get(server.url(f"{path}?n=5000000"))
    assert too_large.value.outcome == "failed: response larger than 100000 bytes"


def test_a_server_that_never_answers_times_out(server, allow) -> None:  # type: ignore[no-untyped-def]
    allow(f"127.0.0.1:{server.port}")
    with outbound_client(timeout=httpx.Timeout(5.0, read=0.2)) as client, pytest.raises(OutboundTimeout) as slow:
        client.get(server.url("/slow"))
    assert str(slow.value) == "failed: timed out"


def test_the_client_cannot_be_given_a_transport_that_skips_the_policy() -> None:
    with pytest.raises(TypeError, match="bypass"):
        outbound_client(transport=httpx.HTTPTransport())


def test_requests_session_applies_the_same_policy(server, allow, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    session = outbound_session()
    for url in (server.url(), "file:///etc/passwd", f"http://user:pw@127.0.0.1:{server.port}/"):
        with pytest.raises(OutboundRefused):
            session.get(url)
    assert server.hits == 0
    allow(f"127.0.0.1:{server.port}")
    assert session.get(server.url()).text == "xx"
    with CountingServer() as internal, pytest.raises(OutboundRefused):
        session.get(server.url(f"/redirect?to={internal.url('/admin')}"))
    assert internal.hits == 0
    with pytest.raises(OutboundTooLarge):
        outbound_session(max_bytes=1000).get(server.url("/drip?n=50000"))
    streamed = outbound_session(max_bytes=1000).get(server.url("/drip?n=50000"), stream=True)
    with pytest.raises(OutboundTooLarge):
        b"".join(streamed.iter_content(256))
    with pytest.raises(OutboundTimeout):
        outbound_session(timeout=(5.0, 0.2)).get(server.url("/slow"))


def test_requests_session_connects_to_the_checked_address(monkeypatch, allow) -> None:  # type: ignore[no-untyped-def]
    with CountingServer("127.0.0.1") as good, CountingServer("127.0.0.2") as evil:
        answers = iter([["127.0.0.1"], ["127.0.0.2"]])
        monkeypatch.setattr(outbound_http, "resolve_name", lambda host, port: next(answers))
        allow(f"127.0.0.1:{good.port}")
        assert outbound_session().get(f"http://rebind.test:{good.port}/ok").status_code == 200
        with pytest.raises(OutboundRefused):
            outbound_session().get(f"http://rebind.test:{evil.port}/ok")
        assert good.hits == 1 and evil.hits == 0


def test_a_body_still_arriving_after_the_deadline_is_cut(server, allow) -> None:  # type: ignore[no-untyped-def]
    """A server that drips bytes just inside each read timeout still meets the overall deadline."""
    allow(f"127.0.0.1:{server.port}")
    with outbound_client(deadline_seconds=-1) as client, pytest.raises(OutboundTimeout):
        client.get(server.url("/drip?n=1000"))


def test_a_name_that_does_not_resolve_now_is_kept_and_checked_again_when_used(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def nxdomain(host: str, port: int) -> list[str]:
        raise OSError("name not known")

    monkeypatch.setattr(outbound_http, "resolve_name", nxdomain)
    assert validate_user_url("https://hooks.example.com/x") == "https://hooks.example.com/x"
    with outbound_client() as client, pytest.raises(OutboundError, match="name not found"):
        client.post("https://hooks.example.com/x")
