"""The colour checks on hand-built ffprobe metadata, and the first frame's side data read
for PQ. No ffmpeg."""

from __future__ import annotations

import json
from typing import Any

import pytest

from playout.api.probejob import Check, CheckStatus
from playout.media.metadata import (
    LIGHT_LEVEL,
    MASTERING_DISPLAY,
    MediaInfo,
    frame_side_data_command,
    lacks_hdr_side_data,
    parse_frame_side_data,
    parse_metadata,
    with_frame_side_data,
)
from playout.prober import checks
from playout.prober.catalogue import Settings
from tests.unit.test_prober_checks import BROADCAST, STANDARD
from tests.unit.test_prober_metadata import CLIP

BT709 = {"color_primaries": "bt709", "color_transfer": "bt709", "color_space": "bt709"}
HDR10 = {
    "pix_fmt": "yuv420p10le", "color_primaries": "bt2020", "color_transfer": "smpte2084",
    "color_space": "bt2020nc", "color_range": "tv",
}  # fmt: skip
BOTH = [{"side_data_type": MASTERING_DISPLAY}, {"side_data_type": LIGHT_LEVEL}]


def media(**video: Any) -> MediaInfo:
    """The 320x240 H.264 clip with its video stream's fields replaced."""
    document = json.loads(json.dumps(CLIP))
    document["streams"][0].update({"color_range": "tv", **video})
    return parse_metadata(json.dumps(document))


def judged(settings: Settings, **video: Any) -> dict[str, Check]:
    return {check.name: check for check in checks.colour_checks(settings, media(**video))}


def statuses(settings: Settings, **video: Any) -> tuple[CheckStatus, CheckStatus]:
    found = judged(settings, **video)
    return found["colourTags"].status, found["colourConsistency"].status


PASS, WARN, FAIL = CheckStatus.PASS, CheckStatus.WARN, CheckStatus.FAIL


@pytest.mark.parametrize("settings", [STANDARD, BROADCAST])
@pytest.mark.parametrize("height", [240, 576, 1080])
def test_bt709_tagged_video_passes_at_any_size(settings: Settings, height: int) -> None:
    found = judged(settings, height=height, **BT709)
    assert [check.status for check in found.values()] == [PASS, PASS]
    assert found["colourTags"].message == (
        "primaries bt709, transfer bt709, matrix bt709, range tv"
    )


def test_untagged_video_warns_in_both_profiles_with_the_fix() -> None:
    for settings in (STANDARD, BROADCAST):
        assert statuses(settings) == (WARN, PASS)
    message = judged(STANDARD)["colourTags"].message
    assert message.startswith("primaries, transfer and matrix untagged")
    assert "-bsf:v h264_metadata=colour_primaries=1" in message
    assert checks.BT709_FLAGS in message
    only_matrix = judged(STANDARD, color_primaries="bt709", color_transfer="bt709")
    assert only_matrix["colourTags"].message.startswith("matrix untagged")
    assert statuses(STANDARD, **{**BT709, "color_space": "unknown"}) == (WARN, PASS)


def test_rgb_pictures_need_no_matrix() -> None:
    rgb = {"pix_fmt": "gbrp", "color_primaries": "bt709", "color_transfer": "bt709"}
    assert statuses(BROADCAST, **rgb) == (PASS, PASS)


def test_a_codec_without_a_metadata_filter_gets_only_the_encoding_fix() -> None:
    message = judged(STANDARD, codec_name="mpeg2video")["colourTags"].message
    assert "-bsf" not in message and checks.BT709_FLAGS in message


def test_an_sd_matrix_on_hd_warns() -> None:
    sd_matrix = {**BT709, "color_space": "smpte170m"}
    found = judged(BROADCAST, height=1080, width=1920, **sd_matrix)
    assert found["colourTags"].status == WARN
    assert "an SD matrix (smpte170m) on 1080-line video" in found["colourTags"].message
    assert "colorspace=all=bt709" in found["colourTags"].message
    assert statuses(BROADCAST, height=576, **{**BT709, "color_space": "bt470bg"}) == (PASS, PASS)


def test_full_range_warns_for_broadcast_only() -> None:
    full = {**BT709, "color_range": "pc"}
    assert statuses(STANDARD, **full) == (PASS, PASS)
    found = judged(BROADCAST, **full)
    assert found["colourTags"].status == WARN
    assert "full range (pc)" in found["colourTags"].message
    assert "scale=out_range=tv" in found["colourTags"].message


def test_pq_needs_mastering_display_and_light_level_metadata() -> None:
    for settings in (STANDARD, BROADCAST):
        assert statuses(settings, **HDR10) == (WARN, PASS)
    message = judged(STANDARD, **HDR10)["colourTags"].message
    assert message.startswith("PQ without SMPTE ST 2086 mastering display metadata or content")
    assert "master-display=" in message and "max-cll=" in message
    mastering_only = judged(STANDARD, side_data_list=BOTH[:1], **HDR10)["colourTags"]
    assert mastering_only.message.startswith("PQ without content light level")
    assert statuses(BROADCAST, side_data_list=BOTH, **HDR10) == (PASS, PASS)


def test_hlg_needs_no_mastering_metadata() -> None:
    hlg = {**HDR10, "color_transfer": "arib-std-b67"}
    assert statuses(BROADCAST, **hlg) == (PASS, PASS)
    assert judged(BROADCAST, **hlg)["colourTags"].message.endswith("range tv, HLG")


@pytest.mark.parametrize(
    ("tags", "says"),
    [
        ({**HDR10, "color_primaries": "bt709"}, "PQ transfer (smpte2084) with primaries bt709"),
        ({**HDR10, "color_space": "bt709"}, "with matrix bt709: HDR is BT.2020"),
        (
            {**HDR10, "color_transfer": "arib-std-b67", "color_primaries": "unknown"},
            "HLG transfer (arib-std-b67) with primaries unknown",
        ),
        ({**BT709, "color_primaries": "bt2020"}, "BT.2020 primaries with a bt709 matrix"),
        ({**BT709, "color_primaries": "bt2020", "color_space": "smpte170m"}, "smpte170m matrix"),
        ({**BT709, "color_space": "bt2020nc"}, "BT.709 primaries with a bt2020nc matrix"),
    ],
)
def test_contradicting_tags_warn_in_standard_and_fail_broadcast(
    tags: dict[str, str], says: str
) -> None:
    tags = {**tags, "side_data_list": BOTH}
    assert judged(STANDARD, **tags)["colourConsistency"].status == WARN
    found = judged(BROADCAST, **tags)["colourConsistency"]
    assert found.status == FAIL
    assert says in found.message
    assert "-color" in found.message or "zscale" in found.message  # the fix


def test_tags_that_agree_are_consistent() -> None:
    sdr_2020 = {**HDR10, "color_transfer": "bt2020-10"}
    ictcp = {**HDR10, "color_space": "ictcp", "side_data_list": BOTH}
    for tags in (sdr_2020, ictcp, {**BT709, "color_primaries": "bt470bg"}):
        assert judged(BROADCAST, **tags)["colourConsistency"].status == PASS, tags


def test_untagged_primaries_are_not_a_contradiction_for_sdr() -> None:
    assert statuses(BROADCAST, color_space="bt2020nc") == (WARN, PASS)


def test_audio_alone_has_no_colour() -> None:
    document = json.loads(json.dumps(CLIP))
    del document["streams"][0]
    assert checks.colour_checks(BROADCAST, parse_metadata(json.dumps(document))) == []


# --- the first frame's side data ---------------------------------------------------------

# `ffprobe ... -show_entries frame_side_data=side_data_type -of json` of x265 in MPEG-TS.
FRAME_SIDE_DATA = {
    "frames": [
        {
            "side_data_list": [
                {"side_data_type": "Mastering display metadata"},
                {"side_data_type": "Content light level metadata"},
                {"side_data_type": "H.26[45] User Data Unregistered SEI message"},
            ]
        }
    ]
}


def test_the_first_frame_is_read_for_pq_lacking_stream_side_data() -> None:
    command = frame_side_data_command("ffprobe", "/media/a.ts", 1)
    assert command[command.index("-select_streams") + 1] == "1"
    assert command[command.index("-read_intervals") + 1] == "%+#1"
    assert "frame_side_data=side_data_type" in command
    assert command[-2:] == ["-i", "file:/media/a.ts"]
    assert lacks_hdr_side_data(media(**HDR10))
    assert lacks_hdr_side_data(media(side_data_list=BOTH[:1], **HDR10))
    assert not lacks_hdr_side_data(media(side_data_list=BOTH, **HDR10))
    assert not lacks_hdr_side_data(media(**{**HDR10, "color_transfer": "arib-std-b67"}))
    assert not lacks_hdr_side_data(media(**BT709))


def test_frame_side_data_completes_the_video_and_its_hdr_format() -> None:
    kinds = parse_frame_side_data(json.dumps(FRAME_SIDE_DATA))
    assert kinds[:2] == [MASTERING_DISPLAY, LIGHT_LEVEL]
    pq = media(side_data_list=BOTH[:1], **HDR10)
    found = with_frame_side_data(pq, kinds).summary.video
    assert found is not None
    assert found.side_data == [MASTERING_DISPLAY, LIGHT_LEVEL, kinds[2]]  # each once
    assert found.hdr == "HDR10"
    no_mastering = with_frame_side_data(media(**HDR10), []).summary.video
    assert no_mastering is not None and no_mastering.hdr == "PQ"


@pytest.mark.parametrize("text", ["", "not json", "[]", '{"frames": {}}', '{"frames": [1]}'])
def test_unreadable_frame_side_data_is_none(text: str) -> None:
    assert parse_frame_side_data(text) == []
