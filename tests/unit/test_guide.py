"""The guide IPTV clients read: episode numbers from file names, an XMLTV document that the
real DTD accepts, and an M3U entry whose attributes survive any name."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from lxml import etree

from playout.streamer.guide import (
    Episode,
    GuideChannel,
    GuideProgramme,
    episode_of,
    render_m3u,
    render_xmltv,
)
from tests.xmltv import assert_valid, parse, xmltv_dtd

T0 = datetime(2026, 11, 21, 20, 0, 0, tzinfo=UTC)
CHANNEL = GuideChannel(
    id="classics.tv",
    display_name="Classics",
    number="101",
    icon="https://tv.example.org/logos/classics.png",
    group="Comedy",
)


@pytest.fixture(scope="module")
def dtd() -> etree.DTD:
    return xmltv_dtd()


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


# --- episode numbers ----------------------------------------------------------------------

EPISODES = [
    ("shows/Cheers/Cheers S01E02.mkv", Episode(1, 2)),
    ("Cheers s1e2.mkv", Episode(1, 2)),
    ("Cheers.S03E10.720p.x264.mkv", Episode(3, 10)),
    ("Cheers S01E02E03.mkv", Episode(1, 2)),
    ("Cheers S01E02-E03.mkv", Episode(1, 2)),
    ("Cheers S01 E02.mkv", Episode(1, 2)),
    ("The Daily Show S2019E05.mkv", Episode(2019, 5)),
    ("Cheers 1x02 Sam's Women.avi", Episode(1, 2)),
    ("Cheers - 11x104.mkv", Episode(11, 104)),
    ("shows/Cheers/Season 2/03 - Title.mkv", Episode(2, 3)),
    ("shows/Cheers/Season 02/03.Title.mkv", Episode(2, 3)),
    ("shows/Cheers/season 1/Episode 02.mkv", Episode(1, 2)),
    ("shows/Cheers/Season 1/Episode 02/video.mkv", Episode(1, 2)),
    ("shows/Cheers/Series 3/Ep 4 - Title.mkv", Episode(3, 4)),
    ("shows/Cheers/S02/E07.mkv", Episode(2, 7)),
    ("shows/Cheers/Staffel 4/12 Titel.mkv", Episode(4, 12)),
    ("shows\\Cheers\\Season 2\\03 - Title.mkv", Episode(2, 3)),
    ("shows/Cheers/Season 2/Cheers S05E06.mkv", Episode(5, 6)),  # the file name wins
    ("Cheers Season 1 Episode 2", Episode(1, 2)),
    ("Cheers Episode 5.mkv", Episode(None, 5)),
    ("Cheers Ep 5.mkv", Episode(None, 5)),
    ("Cheers Ep.05.mkv", Episode(None, 5)),
    ("Cheers - E05.mkv", Episode(None, 5)),
    # a number in a folder that does not say season is no episode
    ("shows/Cheers/03 - Title.mkv", None),
    ("shows/Cheers/Season 2/Title.mkv", None),
    ("shows/Cheers/Season 2", None),
    # years, resolutions, codecs and titles with numbers
    ("movies/1984 (1984).mkv", None),
    ("movies/Blade Runner 2049 (2017).mkv", None),
    ("movies/Movie.2019.1080p.BluRay.x264.mkv", None),
    ("movies/Movie 720.mkv", None),
    ("movies/Movie.2160p.HEVC.10bit.mkv", None),
    ("Cheers.S01E02.1080p.WEB-DL.DDP5.1.H.264.mkv", Episode(1, 2)),
    ("shows/Cheers/Season 2/1080p.mkv", None),
    ("shows/Cheers/Season 2/720p.mkv", None),
    ("movies/WALL-E 2008.mkv", None),
    ("movies/Movie.E-AC3.mkv", None),
    ("News 24x7.mkv", None),
    ("movies/Clip 1920x1080.mp4", None),
    ("movies/Clip 640x480 4x3.mp4", None),
    ("movies/101 Dalmatians.mkv", None),
    ("movies/Deep 5.mkv", None),
    ("movies/Keep 3.mkv", None),
    ("Up Next: Cheers", None),
    ("", None),
]


@pytest.mark.parametrize(("name", "expected"), EPISODES)
def test_episode_of(name: str, expected: Episode | None) -> None:
    assert episode_of(name) == expected


@pytest.mark.parametrize(
    ("episode", "xmltv_ns", "onscreen"),
    [
        (Episode(1, 2), "0.1.", "S01E02"),
        (Episode(1, 1), "0.0.", "S01E01"),
        (Episode(2, 10), "1.9.", "S02E10"),
        (Episode(12, 104), "11.103.", "S12E104"),
        (Episode(None, 5), ".4.", "E05"),
        (Episode(0, 3), None, "S00E03"),  # specials: no zero-based form
        (Episode(1, 0), None, "S01E00"),
    ],
)
def test_episode_numbers(episode: Episode, xmltv_ns: str | None, onscreen: str) -> None:
    assert episode.xmltv_ns == xmltv_ns
    assert episode.onscreen == onscreen


# --- XMLTV --------------------------------------------------------------------------------

ODD = "Tom & Jerry <Live> \"Special\" 'quoted'\x00\x07\x1b\ufffe\udc80 ✓ 🎬"


def lineup() -> list[GuideProgramme]:
    return [
        GuideProgramme(
            "Cheers",
            at(0),
            at(25),
            episode=Episode(1, 2),
            sub_title="Sam's Women",
            category="Comedy",
            description="Line one,\nline two & <three>.",
        ),
        GuideProgramme(ODD, at(25), at(26.5), sub_title=ODD, category=ODD, description=ODD),
        GuideProgramme("Cheers", at(26.5), at(50), episode=Episode(None, 5)),
        GuideProgramme("Pilot", at(50), at(80), episode=Episode(0, 1)),
        GuideProgramme("A film", at(80), at(200)),
    ]


def test_guide_validates_against_the_dtd(dtd: etree.DTD) -> None:
    assert_valid(render_xmltv(CHANNEL, lineup()), dtd)


def test_the_dtd_rejects_what_clients_would_misread(dtd: etree.DTD) -> None:
    """The validation is not vacuous: a category before the desc breaks the DTD's order."""
    document = render_xmltv(CHANNEL, lineup()[:1])
    misordered = re.sub(
        r"(<desc>.*?</desc>)(\s*)(<category>.*?</category>)", r"\3\2\1", document, flags=re.S
    )
    assert misordered != document
    assert not dtd.validate(parse(misordered))


def test_minimal_guides_validate(dtd: etree.DTD) -> None:
    bare = GuideChannel(id="bare", display_name="Bare")
    assert_valid(render_xmltv(bare, []), dtd)
    assert_valid(render_xmltv(bare, [GuideProgramme("Only", at(0), at(1))]), dtd)


def test_channel_element() -> None:
    document = render_xmltv(CHANNEL, [], generator="playout/0.1.0")
    assert document.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<tv ')
    tv = parse(document)
    assert tv.get("generator-info-name") == "playout/0.1.0"
    (channel,) = tv.findall("channel")
    assert channel.get("id") == "classics.tv"
    assert [(child.tag, child.text, child.get("src")) for child in channel] == [
        ("display-name", "Classics", None),
        ("display-name", "101", None),
        ("icon", None, "https://tv.example.org/logos/classics.png"),
    ]


def test_programme_elements_in_dtd_order() -> None:
    first = parse(render_xmltv(CHANNEL, lineup())).findall("programme")[0]
    assert dict(first.attrib) == {
        "start": "20261121200000 +0000",
        "stop": "20261121202500 +0000",
        "channel": "classics.tv",
    }
    assert [(child.tag, child.get("system"), child.text) for child in first] == [
        ("title", None, "Cheers"),
        ("sub-title", None, "Sam's Women"),
        ("desc", None, "Line one,\nline two & <three>."),
        ("category", None, "Comedy"),
        ("episode-num", "xmltv_ns", "0.1."),
        ("episode-num", "onscreen", "S01E02"),
    ]


def test_episode_nums_without_a_zero_based_form() -> None:
    programmes = parse(render_xmltv(CHANNEL, lineup())).findall("programme")
    assert [(e.get("system"), e.text) for e in programmes[2].findall("episode-num")] == [
        ("xmltv_ns", ".4."),
        ("onscreen", "E05"),
    ]
    assert [(e.get("system"), e.text) for e in programmes[3].findall("episode-num")] == [
        ("onscreen", "S00E01")
    ]
    assert programmes[4].find("episode-num") is None


def test_odd_characters_are_escaped_or_dropped() -> None:
    document = render_xmltv(CHANNEL, lineup())
    document.encode("utf-8")  # no lone surrogate survives
    programme = parse(document).findall("programme")[1]
    expected = "Tom & Jerry <Live> \"Special\" 'quoted' ✓ 🎬"
    for tag in ("title", "sub-title", "desc", "category"):
        assert programme.findtext(tag) == expected


def test_single_line_elements_lose_their_newlines() -> None:
    programme = GuideProgramme("Two\nlines\r\n\tand tabs ", at(0), at(1), sub_title="a\nb")
    element = parse(render_xmltv(CHANNEL, [programme])).find("programme")
    assert element is not None
    assert element.findtext("title") == "Two lines and tabs"
    assert element.findtext("sub-title") == "a b"


def test_empty_optional_fields_are_left_out() -> None:
    programme = GuideProgramme("T", at(0), at(1), sub_title=" ", category="\x00", description="")
    element = parse(render_xmltv(CHANNEL, [programme])).find("programme")
    assert element is not None
    assert [child.tag for child in element] == ["title"]


def test_times_are_utc_whatever_the_zone() -> None:
    berlin = timezone(timedelta(hours=1))
    programme = GuideProgramme("T", datetime(2026, 11, 21, 21, 0, 0, tzinfo=berlin), at(90))
    element = parse(render_xmltv(CHANNEL, [programme])).find("programme")
    assert element is not None
    assert (element.get("start"), element.get("stop")) == (
        "20261121200000 +0000",
        "20261121213000 +0000",
    )


def test_programmes_meet_exactly_and_never_overlap(dtd: etree.DTD) -> None:
    ms = timedelta(milliseconds=1)
    programmes = [
        GuideProgramme("ends 0.4 s late", at(0), at(10) + 400 * ms),
        GuideProgramme("starts 0.2 s after", at(10) + 600 * ms, at(20) + 501 * ms),
        GuideProgramme("starts before that ends", at(20), at(30)),
        GuideProgramme("too short to list", at(30), at(30) + 200 * ms),
        GuideProgramme("after a real gap", at(40), at(50)),
    ]
    document = render_xmltv(CHANNEL, programmes[::-1])
    assert_valid(document, dtd)
    listed = [
        (p.findtext("title"), p.get("start"), p.get("stop"))
        for p in parse(document).findall("programme")
    ]
    assert listed == [
        ("ends 0.4 s late", "20261121200000 +0000", "20261121201000 +0000"),
        ("starts 0.2 s after", "20261121201000 +0000", "20261121202000 +0000"),
        ("starts before that ends", "20261121202000 +0000", "20261121203000 +0000"),
        ("after a real gap", "20261121204000 +0000", "20261121205000 +0000"),
    ]


def test_same_start_keeps_the_later_listed() -> None:
    programmes = [GuideProgramme("first", at(0), at(5)), GuideProgramme("second", at(0), at(9))]
    listed = parse(render_xmltv(CHANNEL, programmes)).findall("programme")
    assert [p.findtext("title") for p in listed] == ["second"]


@pytest.mark.parametrize(
    ("start", "stop", "message"),
    [
        (datetime(2026, 1, 1, 20), datetime(2026, 1, 1, 21), "time zone"),
        (at(5), at(5), "stops before it starts"),
        (at(5), at(4), "stops before it starts"),
    ],
)
def test_programme_times_are_checked(start: datetime, stop: datetime, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GuideProgramme("T", start, stop)


@pytest.mark.parametrize("icon", ["logos/classics.png", "/logos/x.png", "file:///x.png"])
def test_channel_icon_must_be_an_absolute_url(icon: str) -> None:
    with pytest.raises(ValueError, match="absolute URL"):
        GuideChannel(id="x", display_name="X", icon=icon)


# --- M3U ----------------------------------------------------------------------------------

# How Jellyfin reads an EXTINF line: key="value" pairs, the name after the last comma.
ATTRIBUTE = re.compile(r'([a-z0-9\-_]+)="([^"]+)"', re.IGNORECASE)


def read_extinf(line: str) -> tuple[dict[str, str], str]:
    assert line.startswith("#EXTINF:-1 ")
    attributes = dict(ATTRIBUTE.findall(line))
    rest = ATTRIBUTE.sub("", line)
    return attributes, rest.split(",")[-1].strip()


def test_m3u_entry() -> None:
    text = render_m3u(
        CHANNEL,
        stream_url="https://tv.example.org/classics/live/index.m3u8",
        guide_url="https://tv.example.org/classics/xmltv.xml",
    )
    header, extinf, url, end = text.split("\n")
    assert header == (
        '#EXTM3U url-tvg="https://tv.example.org/classics/xmltv.xml"'
        ' x-tvg-url="https://tv.example.org/classics/xmltv.xml"'
    )
    assert extinf == (
        '#EXTINF:-1 tvg-id="classics.tv" tvg-name="Classics" tvg-chno="101"'
        ' tvg-logo="https://tv.example.org/logos/classics.png" group-title="Comedy",Classics'
    )
    assert (url, end) == ("https://tv.example.org/classics/live/index.m3u8", "")


def test_m3u_is_quote_safe() -> None:
    channel = GuideChannel(
        id="odd",
        display_name='Tom, "Jerry"\n#EXTINF:-1 & co',
        icon='https://tv.example.org/logo "1".png',
        group='Kids, "Family"',
    )
    text = render_m3u(
        channel,
        stream_url='https://tv.example.org/live/index.m3u8?x="1"\n#EXTM3U',
        guide_url="https://tv.example.org/guide näme.xml",
    )
    lines = text.splitlines()
    assert len(lines) == 3
    attributes, name = read_extinf(lines[1])
    assert attributes == {
        "tvg-id": "odd",
        "tvg-name": "Tom, 'Jerry' #EXTINF:-1 & co",
        "tvg-logo": "https://tv.example.org/logo%20%221%22.png",
        "group-title": "Kids, 'Family'",
    }
    assert name == "Tom 'Jerry' #EXTINF:-1 & co"
    assert lines[2] == "https://tv.example.org/live/index.m3u8?x=%221%22%0A#EXTM3U"
    assert 'url-tvg="https://tv.example.org/guide%20n%C3%A4me.xml"' in lines[0]


def test_m3u_leaves_out_what_is_unknown() -> None:
    channel = GuideChannel(id="bare", display_name="Bare")
    text = render_m3u(channel, stream_url="http://h/live/index.m3u8", guide_url="http://h/x")
    assert text.splitlines()[1] == '#EXTINF:-1 tvg-id="bare" tvg-name="Bare",Bare'
