"""The live stream as a player sees it: reload after reload for a minute, across items."""

from __future__ import annotations

import itertools
import subprocess
import time
from pathlib import Path

import pytest

from playout.media.hls import parse_playlist
from tests.streaming import (
    StartStreamer,
    channel_document,
    follow_live_playlist,
    make_clip,
    streams,
)


@pytest.fixture(scope="module")
def lineup(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two shows of short episodes, mixed shapes and rates, one without audio, bumpers,
    and names that break naive command lines."""
    root = tmp_path_factory.mktemp("media")
    make_clip(root / "shows/Cheers/Cheers S01E01.mkv", 7, size="320x240", rate=25, tone=300)
    make_clip(root / "shows/Cheers/Cheers S01E02.mkv", 7, size="640x360", rate=30, tone=400)
    make_clip(root / "shows/Cheers/Cheers S01E10.mkv", 7, size="320x240", rate=25, tone=500)
    make_clip(
        root / 'shows/Odd/it\'s: [a] "quoted" 名前.mp4',
        6,
        size="480x270",
        rate=24,
        source="smptebars",
        tone=600,
    )
    make_clip(
        root / "shows/Odd/-starts-with-dash.mkv",
        6,
        size="320x240",
        rate=50,
        audio=False,
        source="rgbtestsrc",
    )
    make_clip(
        root / "bumpers/ident.mp4", 3, size="640x480", rate=30, source="smptehdbars", tone=1000
    )
    return root


def test_a_minute_of_live_playlist_follows_rfc_8216(
    lineup: Path, streamer_for: StartStreamer
) -> None:
    document = channel_document(
        "live",
        [{"path": "shows/Cheers"}, {"path": "shows/Odd"}],
        bumpers={"path": "bumpers", "upNext": True, "upNextSeconds": 2},
    )
    streamer = streamer_for(document, lineup)
    streamer.wait_for_playlist(3)  # within its 60 s: a start-up time is bench/streamer.py's
    seen = follow_live_playlist(lambda: streamer.get("/live/index.m3u8").decode(), 65, 2)
    assert seen.problems == []
    assert seen.reloads >= 55
    assert seen.transitions >= 5, "fewer than 5 item transitions in a minute"
    # Each card's title file goes when its ffmpeg run ends: at most the one on air is left.
    assert len(list((streamer.state_dir / "work").glob("*-card.txt"))) <= 1
    assert {"Cheers S01E01", "ident", "Up next: Cheers S01E02"} <= seen.titles or len(
        seen.titles
    ) >= 5
    # Every item, whatever its shape, comes out as one stream format (transcode mode).
    assert seen.last is not None
    for segment in seen.last.segments[-4:]:
        info = streams(
            f"{streamer.url}/live/{segment.uri}",
            "codec_name,width,height,r_frame_rate,sample_rate,channels",
        )
        assert (info["video"]["codec_name"], info["video"]["width"], info["video"]["height"]) == (
            "h264",
            320,
            240,
        )
        assert info["video"]["r_frame_rate"] == "25/1"
        assert (
            info["audio"]["codec_name"],
            info["audio"]["sample_rate"],
            info["audio"]["channels"],
        ) == ("aac", "48000", 2)


def test_odd_file_names_play(lineup: Path, streamer_for: StartStreamer) -> None:
    document = channel_document("odd", [{"path": "shows/Odd"}])
    streamer = streamer_for(document, lineup)
    streamer.wait_for_playlist(2)
    seen: set[str] = set()
    deadline = time.monotonic() + 40
    while len(seen) < 2 and time.monotonic() < deadline:
        seen.add(streamer.status()["nowPlaying"]["item"])
        time.sleep(0.5)
    assert seen == {'shows/Odd/it\'s: [a] "quoted" 名前.mp4', "shows/Odd/-starts-with-dash.mkv"}
    assert b"playout_items_skipped_total" in streamer.get("/metrics")
    assert b'playout_items_skipped_total{reason="undecodable"}' not in streamer.get("/metrics")


def test_http_surface(lineup: Path, streamer_for: StartStreamer) -> None:
    streamer = streamer_for(channel_document("web", [{"path": "shows/Cheers"}]), lineup)
    streamer.wait_for_playlist(2)
    import urllib.error
    import urllib.request

    with urllib.request.urlopen(streamer.url + "/live/index.m3u8") as response:
        assert response.headers["Content-Type"].startswith("application/vnd.apple.mpegurl")
        assert "no-cache" in response.headers["Cache-Control"]
        assert "Access-Control-Allow-Origin" not in response.headers  # CORS off by default
    for bad in (
        "/live/..%2Fstate.json",
        "/live/../state.json",
        "/live/state.json",
        "/live/seg-1-1.ts.tmp",
    ):
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(streamer.url + bad)
        assert caught.value.code == 404
    assert streamer.get("/healthz") == b"ok\n"
    assert b"playout_segments_written_total" in streamer.get("/metrics")
    assert b"<video" in streamer.get("/")
    assert b"#EXTINF:-1" in streamer.get("/channel.m3u")
    guide = streamer.get("/xmltv.xml").decode()
    assert "<programme" in guide and "Cheers S01E0" in guide


def test_cors_follows_the_channel(lineup: Path, streamer_for: StartStreamer) -> None:
    import urllib.request

    document = channel_document("cors", [{"path": "shows/Cheers"}])
    document["spec"]["output"]["allowedOrigins"] = ["https://tv.example.com"]
    streamer = streamer_for(document, lineup)
    streamer.wait_for_playlist(1)
    for origin, allowed in (("https://tv.example.com", True), ("https://evil.example.com", False)):
        request = urllib.request.Request(
            streamer.url + "/live/index.m3u8", headers={"Origin": origin}
        )
        with urllib.request.urlopen(request) as response:
            assert (response.headers.get("Access-Control-Allow-Origin") == origin) is allowed


def test_copy_mode_survives_keyframes_far_apart(
    tmp_path: Path, streamer_for: StartStreamer
) -> None:
    """x264's default keyframe interval (250 frames: 10 s at 25 fps) is most files off the
    web: copied, their segments would run past TARGETDURATION. They are transcoded instead,
    and counted."""
    media = tmp_path / "media"
    make_clip(media / "shows/Sparse S01E01.mp4", 24, rate=25)
    sparse = media / "shows/Sparse S01E02.mp4"
    sparse.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=25",
         "-f", "lavfi", "-i", "sine=f=600", "-t", "24", "-c:v", "libx264", "-preset",
         "ultrafast", "-g", "250", "-c:a", "aac", str(sparse)],
        check=True, timeout=120,
    )  # fmt: skip
    document = channel_document("copy", [{"path": "shows"}])
    document["spec"]["output"]["mode"] = "copy"
    streamer = streamer_for(document, media)
    streamer.wait_for_playlist(3)
    seen = follow_live_playlist(lambda: streamer.get("/live/index.m3u8").decode(), 45, 4)
    assert seen.problems == []
    assert "Sparse S01E02" in seen.titles
    assert b"playout_copy_fallbacks_total 1.0" in streamer.get("/metrics")


def decode_errors(path: Path) -> list[str]:
    """What ffmpeg's decoders complain of in a file, line by line."""
    decoded = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return decoded.stderr.splitlines()


@pytest.mark.fault
def test_copy_mode_takes_irregular_open_gop_and_variable_rate_sources(
    tmp_path: Path, streamer_for: StartStreamer
) -> None:
    """Files as they come: keyframes at uneven times, open GOPs with B-frames, a variable
    frame rate. Copied, every segment still starts on a keyframe, keeps to the target
    duration and follows the one before it in time, and decodes without an error."""
    media = tmp_path / "media"
    media.mkdir()
    sources = {
        "Uneven S01E01.mp4": ["-g", "1000", "-sc_threshold", "0",
                              "-force_key_frames", "0,0.7,2.9,3.1,5.5,6.0,8.3,9.9,11.2"],
        "OpenGop S01E02.mp4": ["-preset", "veryfast", "-x264-params",
                               "open-gop=1:keyint=50:min-keyint=50:bframes=3:b-pyramid=normal"],
        "Variable S01E03.mkv": ["-vf", "select='not(eq(mod(n\\,7)\\,3))'", "-fps_mode", "vfr",
                                "-g", "25", "-sc_threshold", "0"],
    }  # fmt: skip
    for name, video in sources.items():
        path = media / "shows" / name
        path.parent.mkdir(exist_ok=True)
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=25",
             "-f", "lavfi", "-i", "sine=f=500", "-t", "12", "-c:v", "libx264",
             "-preset", "ultrafast", *video, "-c:a", "aac", str(path)],
            check=True, timeout=120,
        )  # fmt: skip
    document = channel_document("awkward", [{"path": "shows"}])
    document["spec"]["output"]["mode"] = "copy"
    streamer = streamer_for(document, media)
    streamer.wait_for_playlist(3)
    seen = follow_live_playlist(lambda: streamer.get("/live/index.m3u8").decode(), 40, 4)
    assert seen.problems == []
    assert {"Uneven S01E01", "OpenGop S01E02", "Variable S01E03"} <= seen.titles
    playlist = parse_playlist(streamer.get("/live/index.m3u8").decode())
    # Every segment first, before the window moves on; then what each one holds.
    fetched = {segment.uri: streamer.get(f"/live/{segment.uri}") for segment in playlist.segments}
    starts, alone = [], {}
    for segment in playlist.segments:
        # Alone, every segment starts with what a joining client needs: the parameter sets.
        (tmp_path / "segment.ts").write_bytes(fetched[segment.uri])
        alone[segment.uri] = decode_errors(tmp_path / "segment.ts")
        assert not any(
            "non-existing" in line or "no frame" in line for line in alone[segment.uri]
        ), (segment.uri, alone[segment.uri])
        first = streams(str(tmp_path / "segment.ts"), "start_time")
        frames = subprocess.run(
            ["ffprobe", "-v", "error", "-select_streams", "v:0", "-read_intervals", "%+#1",
             "-show_entries", "frame=key_frame", "-of", "csv=p=0", str(tmp_path / "segment.ts")],
            capture_output=True, text=True, timeout=60, check=True,
        ).stdout.split()  # fmt: skip
        assert [f.strip(",") for f in frames[:1]] == ["1"], segment.uri
        starts.append((segment, float(first["video"]["start_time"])))
    for (segment, start), (following, next_start) in itertools.pairwise(starts):
        if not following.discontinuity:
            # After the one before it, as a client that plays on sees it, a segment decodes
            # cleanly: only alone may an open GOP's leading pictures miss what they refer to.
            pair = tmp_path / "pair.ts"
            pair.write_bytes(fetched[segment.uri] + fetched[following.uri])
            assert len(decode_errors(pair)) <= len(alone[segment.uri]), (segment.uri, following.uri)
            assert abs(next_start - start - segment.duration) < 0.1, (segment.uri, following.uri)
