"""The prober's guard against server-side request forgery. Pure: which URLs a probe may
open, which addresses it may connect to, and the URIs an HLS playlist makes it open.
`playout.prober.relay` applies these rules to every connection a probe makes.

Whoever may create a ProbeJob chooses its URL, and the prober runs inside the cluster:
unguarded, it would fetch from the cluster's services, the node and the cloud's metadata
endpoint and put what it read in the report. So a probe opens http(s) only and connects to
public addresses only, unless `spec.allowPrivateAddresses` opts out; cloud metadata
endpoints and addresses that are not one host are refused even then."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, IPv6Network, ip_address
from urllib.parse import quote, urljoin, urlsplit

IPAddress = IPv4Address | IPv6Address

SCHEMES = {"http": 80, "https": 443}
FIELD = "spec.source.url"
OPT_OUT = (
    "set spec.allowPrivateAddresses: true (playout probe --allow-private-addresses) "
    "if it is meant to be probed"
)

# Instance metadata services hand out cloud credentials: AWS, GCP, Azure and OpenStack at
# 169.254.169.254 (AWS also on IPv6), ECS task and EKS pod identity agents, Alibaba Cloud.
METADATA_ADDRESSES = frozenset(
    ip_address(text)
    for text in (
        "169.254.169.254", "169.254.170.2", "169.254.170.23", "100.100.100.200",
        "fd00:ec2::254", "fd00:ec2::23",
    )
)  # fmt: skip
# IPv6 forms that carry an IPv4 address the connection really goes to.
_NAT64 = IPv6Network("64:ff9b::/96")

# Characters kept as they are when a URL goes into a request line; `%` keeps what the URL
# already encodes.
_URL_SAFE = "/%:@!$&'()*+,;=-._~?"
_HOST_NAME = re.compile(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?$")
# ffmpeg reads an attribute's value quoted or up to the next comma.
_URI_ATTRIBUTE = re.compile(r'\bURI=("[^"]*"|[^,\s]*)')


class Refused(ValueError):
    """A URL a probe may not open; the message says why and, where there is one, the fix."""


@dataclass(frozen=True)
class Target:
    """Where one request goes, as the relay sends it."""

    url: str
    scheme: str
    host: str
    """Lowercase and IDNA-encoded; an IPv6 address without brackets."""
    port: int
    request_path: str
    """Path and query, percent-encoded ASCII: what goes in the request line."""

    @property
    def address(self) -> IPAddress | None:
        """The host when it is an address rather than a name."""
        try:
            return ip_address(self.host)
        except ValueError:
            return None

    @property
    def authority(self) -> str:
        """The Host header: the port only when it is not the scheme's own."""
        host = f"[{self.host}]" if isinstance(self.address, IPv6Address) else self.host
        return host if self.port == SCHEMES[self.scheme] else f"{host}:{self.port}"


def target(url: str) -> Target:
    """Where `url` leads, or `Refused` when a probe may not open it (its address is
    judged separately, once the name is resolved)."""
    if any(character <= " " or character == "\x7f" for character in url):
        raise Refused(f"{url!r} has whitespace or control characters")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise Refused(f"{url}: only http and https URLs are probed")
    if "@" in parts.netloc:
        raise Refused(f"{url}: credentials in the URL (user@host) are not supported")
    try:
        port = parts.port or SCHEMES[scheme]
        host = (parts.hostname or "").encode("idna").decode("ascii").lower()
    except (ValueError, UnicodeError) as problem:
        raise Refused(f"{url}: not a valid host and port ({problem})") from problem
    if not host:
        raise Refused(f"{url} has no host")
    try:
        ip_address(host)
    except ValueError:
        if not _HOST_NAME.match(host):
            raise Refused(f"{url}: {host!r} is not a host name") from None
    path = quote(parts.path or "/", safe=_URL_SAFE)
    query = f"?{quote(parts.query, safe=_URL_SAFE)}" if parts.query else ""
    return Target(url, scheme, host, port, path + query)


def connected_address(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 one stands for (mapped, 6to4, Teredo, NAT64), else itself."""
    if isinstance(address, IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address.teredo is not None:
            return address.teredo[1]
        if address in _NAT64:
            return IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def _never(address: IPAddress) -> str | None:
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if address.is_unspecified:
        return "the unspecified address (it reaches this host)"
    if address.is_multicast:
        return "a multicast address"
    reserved = address.is_reserved and not address.is_loopback  # IPv6's ::/8 holds ::1
    if reserved or address == IPv4Address("255.255.255.255"):
        return "a reserved address"
    return None


def _private(address: IPAddress) -> str | None:
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if not address.is_global:
        return "a private address"
    return None


def address_refusal(address: IPAddress, *, allow_private: bool) -> str | None:
    """Why a probe may not connect to `address`, or None when it may."""
    real = connected_address(address)
    shown = str(address) if real == address else f"{address} (that is {real})"
    never = _never(real)
    if never:
        return f"{shown} is {never}: a probe never connects there"
    kind = _private(real)
    if kind and not allow_private:
        return f"{shown} is {kind}: a probe connects to public addresses only; {OPT_OUT}"
    return None


def refusal_message(url: str, reason: str) -> str:
    """A refusal as the report says it: the field, what was refused and why."""
    return f"{FIELD}: refused to open {url}: {reason}"


def rewrite_playlist(text: str, *, base: str, local: Callable[[str], str]) -> tuple[str, list[str]]:
    """An HLS playlist with every http(s) URI it names (segments, variants, keys, maps,
    renditions) resolved against `base` and replaced by `local(uri)`, and those URIs.

    Lines are split and joined here, so ffmpeg reads exactly the lines that were
    rewritten. URIs of another scheme stay as written: ffmpeg's protocol whitelist refuses
    them and the `hlsSequence` check names them."""
    found: list[str] = []

    def replaced(uri: str) -> str:
        absolute = urljoin(base, uri.strip())
        if urlsplit(absolute).scheme.lower() not in SCHEMES:
            return uri.strip()
        found.append(absolute)
        return local(absolute)

    def attribute(match: re.Match[str]) -> str:
        return f'URI="{replaced(match.group(1).strip(chr(34)))}"'

    lines = []
    for raw in text.lstrip("\ufeff").splitlines():
        line = raw.strip()
        if line.startswith("#"):
            lines.append(_URI_ATTRIBUTE.sub(attribute, line))
        elif line:
            lines.append(replaced(line))
        else:
            lines.append("")
    return "\n".join(lines) + "\n", found


def is_playlist_start(data: bytes) -> bool:
    """Whether a body is an HLS playlist, judged as generously as ffmpeg could be."""
    return data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"#EXTM3U")
