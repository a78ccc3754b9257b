"""HLS checks on playlists as text, with what ffprobe found in sampled segments."""

from __future__ import annotations

from playout.api.probejob import CheckStatus, ProbeProfile, TimeRange
from playout.prober import hls
from playout.prober.catalogue import settings_for

SETTINGS = settings_for(ProbeProfile.STANDARD, {})

MASTER = """#EXTM3U
#EXT-X-STREAM-INF:BANDWIDTH=1200000,AVERAGE-BANDWIDTH=900000,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2"
720p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=400000,RESOLUTION=640x360
https://other.example/360p.m3u8
"""

VOD = """#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:4
#EXT-X-MEDIA-SEQUENCE:0
#EXTINF:4.000,
seg0.ts
#EXTINF:4.600,
seg1.ts
#EXTINF:3.000,
seg2.ts
#EXT-X-ENDLIST
"""


def test_master_playlist_variants_resolve_against_their_base() -> None:
    variants = hls.parse_master(MASTER, "https://cdn.example/show/master.m3u8")
    assert [v.uri for v in variants] == [
        "https://cdn.example/show/720p/index.m3u8",
        "https://other.example/360p.m3u8",
    ]
    assert (variants[0].bandwidth, variants[0].average_bandwidth) == (1_200_000, 900_000)
    assert variants[0].resolution == "1280x720"
    local = hls.parse_master(MASTER, "/media/show/master.m3u8")
    assert local[0].uri == "/media/show/720p/index.m3u8"


def test_what_a_playlist_may_point_at() -> None:
    assert hls.foreign_uri("https://cdn.example/a.m3u8", "file:///etc/passwd")
    assert not hls.foreign_uri("https://cdn.example/a.m3u8", "seg0.ts")
    assert hls.foreign_uri("/media/a.m3u8", "http://x/seg.ts")
    assert not hls.foreign_uri("/media/a.m3u8", "seg0.ts")


def test_segments_are_sampled_first_last_and_between() -> None:
    assert hls.sample_indexes(3) == [0, 1, 2]
    assert hls.sample_indexes(100, 5) == [0, 25, 50, 74, 99]


def rendition(text: str, probes: list[hls.SegmentProbe], variant: hls.Variant | None = None,
              reload: str | None = None) -> hls.Rendition:  # fmt: skip
    return hls.Rendition(
        "https://cdn.example/720p/index.m3u8",
        hls.parse(text),
        hls.parse(reload) if reload else None,
        probes,
        variant,
    )


def test_a_segment_over_the_target_duration_fails() -> None:
    check = hls.segment_check(SETTINGS, [rendition(VOD, [])])
    assert check.status == CheckStatus.FAIL
    assert check.value == 4.6 and check.threshold == 4
    assert check.events == [TimeRange(start=4.0, end=8.6)]


def test_segments_must_start_on_a_keyframe() -> None:
    probes = [
        hls.SegmentProbe(0, 2_000_000, True),
        hls.SegmentProbe(1, 2_000_000, False),
        hls.SegmentProbe(2, 1_000_000, True),
    ]
    check = hls.keyframe_check(SETTINGS, [rendition(VOD, probes)])
    assert check is not None and check.status == CheckStatus.FAIL
    assert "1 of 3 sampled segments" in check.message
    assert check.events == [TimeRange(start=4.0, end=8.6)]
    audio_only = [hls.SegmentProbe(0, 10, None)]
    assert hls.keyframe_check(SETTINGS, [rendition(VOD, audio_only)]) is None


def test_measured_bitrate_against_bandwidth() -> None:
    variant = hls.Variant("x", bandwidth=4_000_000, average_bandwidth=3_800_000, resolution=None)
    # 2 MB over 4 s = 4 Mb/s: at BANDWIDTH; 3.2 MB over 4.6 s = 5.6 Mb/s: over it.
    fits = [hls.SegmentProbe(0, 2_000_000, True)]
    check = hls.bandwidth_check(SETTINGS, [rendition(VOD, fits, variant)])
    assert check is not None and check.status == CheckStatus.PASS
    over = [hls.SegmentProbe(0, 2_000_000, True), hls.SegmentProbe(1, 3_200_000, True)]
    check = hls.bandwidth_check(SETTINGS, [rendition(VOD, over, variant)])
    assert check is not None and check.status == CheckStatus.WARN
    assert "AVERAGE-BANDWIDTH" in check.message
    assert hls.bandwidth_check(SETTINGS, [rendition(VOD, over)]) is None  # nothing declared


LIVE = """#EXTM3U
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:10
#EXTINF:2.0,
a10.ts
#EXTINF:2.0,
a11.ts
"""


def test_sequence_rules_across_a_reload() -> None:
    good = LIVE.replace("10\n#EXTINF:2.0,\na10.ts\n", "11\n") + "#EXTINF:2.0,\na12.ts\n"
    check = hls.sequence_check(SETTINGS, [rendition(LIVE, [], reload=good)])
    assert check.status == CheckStatus.PASS
    back = (
        LIVE.replace("SEQUENCE:10", "SEQUENCE:9").replace("a10.ts", "a9.ts").replace("a11", "a10")
    )
    check = hls.sequence_check(SETTINGS, [rendition(LIVE, [], reload=back)])
    assert check.status == CheckStatus.FAIL
    assert "went back from 10 to 9" in check.message


def test_duplicate_and_foreign_segment_uris() -> None:
    twice = VOD.replace("seg1.ts", "seg0.ts").replace("seg2.ts", "file:///etc/passwd")
    check = hls.sequence_check(SETTINGS, [rendition(twice, [])])
    assert check.status == CheckStatus.FAIL
    assert "appears twice" in check.message and "not allowed" in check.message


def test_segment_probe_output() -> None:
    probe = hls.parse_segment_probe(
        3, '{"packets": [{"flags": "K__"}], "format": {"size": "1234"}}'
    )
    assert probe == hls.SegmentProbe(3, 1234, True)
    assert hls.parse_segment_probe(0, "") == hls.SegmentProbe(0, None, None)
    assert hls.hls_checks(SETTINGS, [])[0].status == CheckStatus.ERROR
