"""The channel's listings for IPTV clients and FAST distributors: an XMLTV guide and the M3U
entry that points at it.

Pure (no I/O): the server decides what airs when, this module gets the formats right, which
is where clients are strict: the DTD's element order, zero-based xmltv_ns numbers, XML 1.0's
character set, and programmes that meet exactly (clients drop or misplace overlapping ones).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlsplit
from xml.etree import ElementTree

# Everything but the characters XML 1.0 allows: C0 controls other than tab and newlines,
# lone surrogates (what undecodable file names decode to), U+FFFE and U+FFFF.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_WHOLE_SECOND = timedelta(seconds=1)
# Characters a URL keeps as they are in an M3U attribute or line; everything else, quotes,
# spaces and non-ASCII included, is percent-encoded.
_URL_SAFE = "/:?#[]@!$&'()*+,;=%~"

_FLAGS = re.ASCII | re.IGNORECASE
# S01E02, s1e2, S01.E02, S01E02E03 (the first); the season may be a year (S2019E05).
_SXXEYY = re.compile(r"(?<![a-z0-9])s([0-9]{1,4})[ ._-]?e([0-9]{1,4})(?![0-9])", _FLAGS)
# 1x02: two digits for the episode, so that 1920x1080, 16x9 and x264 never match.
_NXNN = re.compile(r"(?<![a-z0-9])([0-9]{1,2})x([0-9]{2,3})(?![a-z0-9])", _FLAGS)
# "Season 1 Episode 2", "Series 3, Ep 4".
_SEASON_EPISODE = re.compile(
    r"(?<![a-z])(?:season|series)[ ._-]*([0-9]{1,4})[ ._,-]*(?:episode|ep)[ ._-]*([0-9]{1,4})"
    r"(?![0-9])",
    _FLAGS,
)
# A folder that says season: "Season 2", "Series 3", "Staffel 1", "S02".
_SEASON_FOLDER = re.compile(
    r"(?:season|series|staffel|saison|temporada|stagione|s)[ ._-]*([0-9]{1,4})", _FLAGS
)
# "Episode 5", "Ep. 5", "ep05", "E05".
_EPISODE = re.compile(r"(?<![a-z0-9])(?:(?:episode|ep)[ ._-]*#?|e)([0-9]{1,4})(?![0-9])", _FLAGS)
# "03 - Title", "03. Title", "3": trusted only inside a season folder.
_LEADING_NUMBER = re.compile(r"([0-9]{1,3})(?=[ ._)\]-]|$)")


@dataclass(frozen=True)
class Episode:
    """An episode number as people write it: one-based, the season when known."""

    season: int | None
    episode: int

    @property
    def onscreen(self) -> str:
        """The form players print: "S01E02", or "E05" without a season."""
        season = "" if self.season is None else f"S{self.season:02d}"
        return f"{season}E{self.episode:02d}"

    @property
    def xmltv_ns(self) -> str | None:
        """The DTD's zero-based "season.episode.part" with the part left out: S01E02 is
        "0.1.", an unknown season is left out too (".4."). None for a season or episode 0
        (specials, pilots), which the zero-based form cannot say."""
        if self.episode < 1 or (self.season is not None and self.season < 1):
            return None
        season = "" if self.season is None else str(self.season - 1)
        return f"{season}.{self.episode - 1}."


def episode_of(name: str) -> Episode | None:
    """The episode number in a media path or title, which clients group and label episodes
    by; None rather than a guess, so a year (1984) or a resolution (720, 1080p) is never one.
    """
    parts = [part.strip() for part in re.split(r"[/\\]", name) if part.strip()]
    for part in reversed(parts):
        for pattern in (_SXXEYY, _NXNN, _SEASON_EPISODE):
            if match := pattern.search(part):
                return Episode(int(match[1]), int(match[2]))
    folders = [
        (index, folder)
        for index, part in enumerate(parts[:-1])
        if (folder := _SEASON_FOLDER.fullmatch(part))
    ]
    if folders:
        index, folder = folders[-1]
        for part in reversed(parts[index + 1 :]):
            if match := _EPISODE.search(part) or _LEADING_NUMBER.match(part):
                return Episode(int(folder[1]), int(match[1]))
        return None
    for part in reversed(parts):
        if match := _EPISODE.search(part):
            return Episode(None, int(match[1]))
    return None


@dataclass(frozen=True)
class GuideChannel:
    """The channel as guides and playlists list it."""

    id: str
    """The XMLTV channel id; the M3U's tvg-id repeats it so that clients match the two."""
    display_name: str
    number: str | None = None
    icon: str | None = None
    """An absolute URL: clients fetch the logo from wherever they run."""
    group: str | None = None

    def __post_init__(self) -> None:
        if not _line(self.id):
            raise ValueError("a guide channel needs an id")
        if self.icon is not None:
            url = urlsplit(self.icon)
            if url.scheme not in ("http", "https") or not url.netloc:
                raise ValueError(f"the channel icon must be an absolute URL: {self.icon!r}")


@dataclass(frozen=True)
class GuideProgramme:
    """One listing: what airs from start to stop."""

    title: str
    start: datetime
    stop: datetime
    episode: Episode | None = None
    sub_title: str | None = None
    category: str | None = None
    description: str | None = None

    def __post_init__(self) -> None:
        if self.start.utcoffset() is None or self.stop.utcoffset() is None:
            raise ValueError("programme times need a time zone (a naive time is ambiguous)")
        if self.stop <= self.start:
            raise ValueError(f"programme {self.title!r} stops before it starts")


def render_xmltv(
    channel: GuideChannel, programmes: Sequence[GuideProgramme], *, generator: str = "playout"
) -> str:
    """A complete XMLTV document (to be served as UTF-8) that validates against the DTD."""
    tv = ElementTree.Element("tv", {"generator-info-name": _line(generator)})
    channel_id = _line(channel.id)
    listing = ElementTree.SubElement(tv, "channel", {"id": channel_id})
    _add(listing, "display-name", channel.display_name)
    # A second display-name that is a number is where Plex and Jellyfin read the number.
    _add(listing, "display-name", channel.number)
    if channel.icon:
        ElementTree.SubElement(listing, "icon", {"src": _url(channel.icon)})
    for programme, start, stop in _timeline(programmes):
        times = {"start": _xmltv_time(start), "stop": _xmltv_time(stop), "channel": channel_id}
        item = ElementTree.SubElement(tv, "programme", times)
        # The DTD's order: title, sub-title, desc, ..., category, ..., episode-num.
        ElementTree.SubElement(item, "title").text = _line(programme.title)
        _add(item, "sub-title", programme.sub_title)
        if description := _paragraph(programme.description or ""):
            ElementTree.SubElement(item, "desc").text = description
        _add(item, "category", programme.category)
        if programme.episode is not None:
            if numbers := programme.episode.xmltv_ns:
                _add(item, "episode-num", numbers, system="xmltv_ns")
            _add(item, "episode-num", programme.episode.onscreen, system="onscreen")
    ElementTree.indent(tv)
    body = ElementTree.tostring(tv, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'


def render_m3u(channel: GuideChannel, *, stream_url: str, guide_url: str) -> str:
    """The channel's M3U entry with the attributes Jellyfin, TiviMate and the M3U tuners
    in front of Plex read, and the guide's URL under both names that clients look for."""
    attributes = {
        "tvg-id": channel.id,
        "tvg-name": channel.display_name,
        "tvg-chno": channel.number,
        "tvg-logo": _url(channel.icon) if channel.icon else None,
        "group-title": channel.group,
    }
    # An empty value is left out: Jellyfin's parser does not see `key=""`, and misreads the
    # rest of the line.
    listed = " ".join(
        f'{key}="{text}"' for key, value in attributes.items() if (text := _m3u_text(value))
    )
    # Jellyfin takes the name after the last comma: one in the name would cut it short.
    name = " ".join(_m3u_text(channel.display_name).replace(",", " ").split())
    guide = _url(guide_url)
    return (
        f'#EXTM3U url-tvg="{guide}" x-tvg-url="{guide}"\n'
        f"#EXTINF:-1 {listed},{name}\n"
        f"{_url(stream_url)}\n"
    )


def _timeline(
    programmes: Sequence[GuideProgramme],
) -> list[tuple[GuideProgramme, datetime, datetime]]:
    """Programmes in order, in whole seconds (the XMLTV resolution), back to back where they
    touch: where one overlaps the next or leaves less than a second, the first ends exactly
    where the next starts, so both print the same time and no client sees a sliver of gap
    or two programmes at once. The later start wins, as what airs next starts when it does.
    """
    timeline: list[tuple[GuideProgramme, datetime, datetime]] = []
    for programme in sorted(programmes, key=lambda p: p.start):
        start, stop = _whole_second(programme.start), _whole_second(programme.stop)
        if timeline and timeline[-1][1] == start:
            timeline.pop()  # starts in the same second: replaced by the later one
        if timeline and start - timeline[-1][2] <= _WHOLE_SECOND:
            previous, previous_start, previous_stop = timeline[-1]
            start = min(start, previous_stop)
            timeline[-1] = (previous, previous_start, start)
        if stop > start:
            timeline.append((programme, start, stop))
    return timeline


def _whole_second(moment: datetime) -> datetime:
    return (moment.astimezone(UTC) + timedelta(microseconds=500_000)).replace(microsecond=0)


def _xmltv_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%S +0000")


def _add(parent: ElementTree.Element, tag: str, text: str | None, **attributes: str) -> None:
    """A one-line element, left out when there is nothing to say."""
    if value := _line(text or ""):
        ElementTree.SubElement(parent, tag, attributes).text = value


def _line(text: str) -> str:
    """Text XML 1.0 can carry, on one line: the DTD allows newlines in `desc` only."""
    return " ".join(_NOT_XML.sub("", text).split())


def _paragraph(text: str) -> str:
    return _NOT_XML.sub("", text).strip()


def _m3u_text(text: str | None) -> str:
    """One line, no double quote: M3U attributes have no escapes, a quote ends the value."""
    return _line(text or "").replace('"', "'")


def _url(url: str) -> str:
    return quote(_NOT_XML.sub("", url).strip(), safe=_URL_SAFE)
