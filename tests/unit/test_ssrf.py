"""The prober's SSRF guard (pure): URL forms, address ranges, playlist rewriting; and how a
ProbeJob opts out."""

from __future__ import annotations

from ipaddress import ip_address
from typing import Any

import pytest

from playout.api.probejob import ProbeJob
from playout.controller.builders.probejob import probe_args
from playout.media.metadata import metadata_command
from playout.prober.guard import (
    Refused,
    address_refusal,
    connected_address,
    is_playlist_start,
    refusal_message,
    rewrite_playlist,
    target,
)


def test_ffmpeg_is_given_no_way_around_the_relay() -> None:
    """Its whitelist for URLs has neither TLS nor files: only plain HTTP to the relay."""
    command = metadata_command("ffprobe", "http://127.0.0.1:1/x/http/example.com/a.mkv")
    whitelist = command[command.index("-protocol_whitelist") + 1].split(",")
    for name in ("file", "https", "tls", "hls", "concat", "subfile", "httpproxy", "data"):
        assert name not in whitelist


def refused(text: str, *, allow_private: bool = False) -> str | None:
    return address_refusal(ip_address(text), allow_private=allow_private)


@pytest.mark.parametrize(
    "address",
    ["93.184.216.34", "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "2a00:1450:4001:82b::200e"],
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert refused(address) is None


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.7", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "private"),  # shared address space (carrier-grade NAT)
        ("198.18.0.1", "private"),  # benchmarking
        ("192.0.2.1", "private"),  # documentation
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        # IPv6 forms that reach an IPv4 address
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.1.2.3", "private"),
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
        ("64:ff9b::a00:1", "private"),  # NAT64 of 10.0.0.1
    ],
)
def test_private_ranges_are_refused_unless_allowed(address: str, kind: str) -> None:
    message = refused(address)
    assert message is not None and f"is a {kind} address" in message, message
    assert "spec.allowPrivateAddresses: true" in message
    assert "--allow-private-addresses" in message
    assert refused(address, allow_private=True) is None


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("169.254.169.254", "a cloud metadata address"),
        ("169.254.170.2", "a cloud metadata address"),
        ("100.100.100.200", "a cloud metadata address"),
        ("fd00:ec2::254", "a cloud metadata address"),
        ("::ffff:169.254.169.254", "a cloud metadata address"),
        ("0.0.0.0", "the unspecified address"),
        ("::", "the unspecified address"),
        ("224.0.0.1", "a multicast address"),
        ("ff02::1", "a multicast address"),
        ("240.0.0.1", "a reserved address"),
        ("255.255.255.255", "a reserved address"),
    ],
)
def test_some_addresses_are_never_reached(address: str, kind: str) -> None:
    for allow_private in (False, True):
        message = refused(address, allow_private=allow_private)
        assert message is not None and kind in message, message
        assert "never connects there" in message
        assert "allowPrivateAddresses" not in message  # there is no fix to offer


def test_embedded_ipv4_addresses_are_unwrapped() -> None:
    assert connected_address(ip_address("::ffff:8.8.8.8")) == ip_address("8.8.8.8")
    assert connected_address(ip_address("2002:0808:0808::1")) == ip_address("8.8.8.8")
    assert connected_address(ip_address("64:ff9b::808:808")) == ip_address("8.8.8.8")
    assert connected_address(ip_address("2001::")) != ip_address("2001::")  # Teredo
    assert connected_address(ip_address("2606:4700::1")) == ip_address("2606:4700::1")
    assert "(that is 127.0.0.1)" in (refused("::ffff:7f00:1") or "")


@pytest.mark.parametrize(
    ("url", "host", "port", "path", "authority"),
    [
        ("http://Example.COM/a.mkv", "example.com", 80, "/a.mkv", "example.com"),
        ("https://example.com:8443/x?y=1&z", "example.com", 8443, "/x?y=1&z", "example.com:8443"),
        ("http://[2001:db8::1]:8080/", "2001:db8::1", 8080, "/", "[2001:db8::1]:8080"),
        ("https://example.com", "example.com", 443, "/", "example.com"),
        ("http://bücher.example/é.mkv", "xn--bcher-kva.example", 80, "/%C3%A9.mkv", None),
        ("http://example.com/a%20b.mkv#part", "example.com", 80, "/a%20b.mkv", None),
    ],
)
def test_where_a_url_leads(
    url: str, host: str, port: int, path: str, authority: str | None
) -> None:
    found = target(url)
    assert (found.host, found.port, found.request_path) == (host, port, path)
    if authority is not None:
        assert found.authority == authority


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "only http and https URLs are probed"),
        ("concat:/a.ts|/b.ts", "only http and https URLs are probed"),
        ("subfile:,,start,0,end,0,,:/etc/passwd", "only http and https URLs are probed"),
        ("hls+http://example.com/a.m3u8", "only http and https URLs are probed"),
        ("gopher://example.com/", "only http and https URLs are probed"),
        ("ftp://example.com/a.mkv", "only http and https URLs are probed"),
        ("http://user:secret@example.com/a.mkv", "credentials in the URL"),
        ("http://example.com@127.0.0.1/a.mkv", "credentials in the URL"),
        ("http:///a.mkv", "has no host"),
        ("http://example.com:99999/", "not a valid host and port"),
        ("http://exa mple.com/", "whitespace or control characters"),
        ("http://example.com/a\r\nX-Injected: 1", "whitespace or control characters"),
        ("http://example.com/\x00", "whitespace or control characters"),
        ("http://exa%6dple.com/", "is not a host name"),
    ],
)
def test_urls_a_probe_never_opens(url: str, reason: str) -> None:
    with pytest.raises(Refused, match=reason):
        target(url)


def test_a_refusal_names_the_field() -> None:
    message = refusal_message("http://10.0.0.1/a.mkv", refused("10.0.0.1") or "")
    assert message.startswith("spec.source.url: refused to open http://10.0.0.1/a.mkv: ")


PLAYLIST = """\ufeff#EXTM3U
#EXT-X-TARGETDURATION:2
#EXT-X-KEY:METHOD=AES-128,URI="key.bin",IV=0x1
#EXT-X-MAP:URI=init.mp4
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="en",URI="https://cdn.example/en.m3u8"
#EXTINF:2.0,
seg1.ts
#EXTINF:2.0,
  /abs/seg2.ts\r
#EXTINF:2.0,
//other.example/seg3.ts
#EXTINF:2.0,
file:///etc/passwd
#EXTINF:2.0,
http://127.0.0.1:6379/seg5.ts
"""


def test_every_uri_of_a_playlist_is_rewritten() -> None:
    text, uris = rewrite_playlist(
        PLAYLIST, base="https://media.example/live/index.m3u8", local=lambda uri: f"LOCAL<{uri}>"
    )
    assert uris == [
        "https://media.example/live/key.bin",
        "https://media.example/live/init.mp4",
        "https://cdn.example/en.m3u8",
        "https://media.example/live/seg1.ts",
        "https://media.example/abs/seg2.ts",
        "https://other.example/seg3.ts",
        "http://127.0.0.1:6379/seg5.ts",
    ]
    lines = text.splitlines()
    assert lines[0] == "#EXTM3U"
    assert (
        '#EXT-X-KEY:METHOD=AES-128,URI="LOCAL<https://media.example/live/key.bin>",IV=0x1' in lines
    )
    assert '#EXT-X-MAP:URI="LOCAL<https://media.example/live/init.mp4>"' in lines
    assert "LOCAL<https://media.example/abs/seg2.ts>" in lines
    assert "file:///etc/passwd" in lines  # left for the whitelist to refuse, and named
    uri_lines = [line for line in lines if line and not line.startswith("#")]
    assert all(line.startswith("LOCAL<") or line == "file:///etc/passwd" for line in uri_lines)


def test_a_bad_uri_in_a_playlist_refuses_it() -> None:
    with pytest.raises(Refused, match="credentials"):
        rewrite_playlist(
            "#EXTM3U\nhttp://a@b.example/x.ts\n", base="http://c.example/", local=target_url
        )


def target_url(uri: str) -> str:
    return target(uri).url


def test_playlists_are_recognised_generously() -> None:
    assert is_playlist_start(b"#EXTM3U\n")
    assert is_playlist_start(b"\xef\xbb\xbf\r\n  #EXTM3U\n")
    assert not is_playlist_start(b"\x00\x00\x00\x18ftypmp42")
    assert not is_playlist_start(b"G@\x11\x10")


def test_the_job_passes_the_opt_out(probejob_body: dict[str, Any]) -> None:
    probejob_body["spec"]["source"] = {"url": "https://media.example/a.mkv"}
    assert "--allow-private-addresses" not in probe_args(ProbeJob.model_validate(probejob_body))
    probejob_body["spec"]["allowPrivateAddresses"] = True
    assert "--allow-private-addresses" in probe_args(ProbeJob.model_validate(probejob_body))


def test_a_channel_ref_is_always_private(probejob_body: dict[str, Any]) -> None:
    probejob_body["spec"]["source"] = {"channelRef": {"name": "classics"}}
    assert "--allow-private-addresses" in probe_args(ProbeJob.model_validate(probejob_body))
