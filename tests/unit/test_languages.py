"""ISO 639 codes as files, users and players write them, and the tracks they choose."""

from __future__ import annotations

import json

import pytest

from playout.api.channel import Output
from playout.media import languages
from playout.media.ffmpeg import sounds_of
from playout.media.metadata import parse_metadata


@pytest.mark.parametrize("code", ["de", "deu", "ger", "DE", " ger "])
def test_every_code_of_a_language_is_the_same_language(code: str) -> None:
    assert languages.canonical(code) == "deu"


def test_codes_without_a_two_letter_form_and_unknown_ones() -> None:
    assert languages.canonical("fil") == "fil"  # 639-2 only: kept as it is
    assert languages.canonical("und") == "und" and not languages.is_known("und")
    assert languages.canonical("xx") is None and not languages.is_known("xx")
    assert languages.canonical(None) is None and languages.canonical("") is None


def test_players_get_the_short_tag_and_a_name() -> None:
    assert (languages.tag("ger"), languages.name("ger")) == ("de", "German")
    assert (languages.tag("fre"), languages.name("fra")) == ("fr", "French")
    assert languages.tag("fil") == "fil"


def media(*tracks: tuple[str | None, bool]) -> str:
    streams = [{"index": 0, "codec_type": "video", "codec_name": "h264"}]
    for index, (language, default) in enumerate(tracks, start=1):
        stream = {"index": index, "codec_type": "audio", "codec_name": "aac"}
        stream |= {"tags": {"language": language}} if language else {}
        stream |= {"disposition": {"default": int(default)}}
        streams.append(stream)
    return json.dumps({"streams": streams, "format": {"duration": "60.0"}})


def audio(languages_: list[str], *, alternates: bool = False) -> Output:
    return Output.model_validate({"audio": {"languages": languages_, "alternates": alternates}})


def test_the_first_preferred_language_the_item_has_plays() -> None:
    info = parse_metadata(media(("eng", True), ("ger", False), ("fre", False)))
    assert sounds_of(audio(["fr", "de"]), info) == ["0:3"]
    assert sounds_of(audio(["it", "deu"]), info) == ["0:2"]


def test_without_a_match_the_default_track_plays_else_the_first() -> None:
    assert sounds_of(audio(["it"]), parse_metadata(media(("eng", False), ("ger", True)))) == ["0:2"]
    assert sounds_of(audio([]), parse_metadata(media((None, False), ("ger", False)))) == ["0:1"]


def test_alternates_play_their_language_or_the_main_track() -> None:
    info = parse_metadata(media(("eng", True), ("ger", False)))
    assert sounds_of(audio(["de", "en", "es"], alternates=True), info) == [
        "0:2",
        "0:2",
        "0:1",
        "0:2",
    ]
    silent = parse_metadata(json.dumps({"streams": [{"index": 0, "codec_type": "video"}]}))
    assert sounds_of(audio(["de", "en"], alternates=True), silent) == ["1:a:0"] * 3
