"""WebVTT cues read and cut into segments, and where an item's subtitles come from."""

from __future__ import annotations

import json
from pathlib import Path

from playout.media.metadata import MediaInfo, parse_metadata
from playout.media.webvtt import Cue, parse, segment
from playout.streamer.subtitles import SubtitleSource, sources_for

DOCUMENT = """WEBVTT

1
00:00:01.000 --> 00:00:02.500 align:start
First line
second line

00:01:00,250 --> 00:01:02.000
Later

00:00:05.000 --> 00:00:05.000
empty: skipped
"""


def test_cues_are_read_with_their_lines_and_without_settings() -> None:
    assert parse(DOCUMENT) == [
        Cue(1.0, 2.5, "First line\nsecond line"),
        Cue(60.25, 62.0, "Later"),
    ]
    assert parse("") == [] and parse("WEBVTT\n\nno timing here\n") == []


def test_a_segment_maps_the_in_point_to_its_mpeg_ts_time() -> None:
    cues = [Cue(1.0, 2.5, "a"), Cue(9.0, 12.0, "b"), Cue(20.0, 21.0, "c")]
    text = segment(cues, start=8.0, end=10.0, in_point=5.0, out_point=11.0, mpegts_at_in_point=12.5)
    assert text.splitlines() == [
        "WEBVTT",
        "X-TIMESTAMP-MAP=MPEGTS:1125000,LOCAL:00:00:05.000",
        "",
        "00:00:09.000 --> 00:00:11.000",  # held to the entry's out-point
        "b",
        "",
    ]
    # Cues before the in-point are not shown; a segment without cues is still a document.
    empty = segment(cues, start=0.0, end=2.0, in_point=3.0, out_point=8.0, mpegts_at_in_point=10)
    assert empty == "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:900000,LOCAL:00:00:03.000\n\n"


def test_mpeg_ts_times_wrap_like_the_stream() -> None:
    text = segment(
        [], start=0, end=1, in_point=0, out_point=1, mpegts_at_in_point=2**33 / 90_000 + 1
    )
    assert "MPEGTS:90000," in text


def info(*subtitles: tuple[str, str | None]) -> MediaInfo:
    streams = [{"index": 0, "codec_type": "video", "codec_name": "h264"}]
    for index, (codec, language) in enumerate(subtitles, start=1):
        stream = {"index": index, "codec_type": "subtitle", "codec_name": codec}
        streams.append(stream | ({"tags": {"language": language}} if language else {}))
    return parse_metadata(json.dumps({"streams": streams, "format": {"duration": "60"}}))


def test_a_files_own_text_track_comes_first_then_a_sidecar() -> None:
    path = Path("/media/shows/E01.mkv")
    found = sources_for(
        path,
        info(("hdmv_pgs_subtitle", "ger"), ("subrip", "eng")),
        ["de", "en", "fr"],
        ["E01.mkv", "E01.ger.srt", "E01.fre.vtt", "E02.de.srt", "E01.notalanguage.srt"],
    )
    assert found == [
        SubtitleSource(path.with_name("E01.ger.srt"), None),  # PGS is not text: the sidecar
        SubtitleSource(path, 2),
        SubtitleSource(path.with_name("E01.fre.vtt"), None),
    ]


def test_a_bare_sidecar_counts_as_the_first_language() -> None:
    path = Path("/media/E01.mp4")
    found = sources_for(path, info(), ["en", "de"], ["E01.srt"])
    assert found == [SubtitleSource(path.with_name("E01.srt"), None), None]
