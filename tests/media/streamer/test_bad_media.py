"""Bad media in a channel's folder: each file is played or left out with a reason, and the
stream goes on through all of them without a break in RFC 8216 or in its pace."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from tests.bad_media import CORPUS, PLAYS, BadMedia
from tests.samples import channel_document, make_clip
from tests.streaming import LiveFollow, Streamer, follow_live_playlist

pytestmark = pytest.mark.bad_input

# Long enough for every file of the corpus ahead of the 10-hour one to have had its turn.
FOLLOW_SECONDS = 45


@dataclass(frozen=True)
class CorpusRun:
    follow: LiveFollow
    aired: set[str]
    skipped: dict[str, dict[str, Any]]
    log: str


def _on_disk(bad: BadMedia, index: int) -> str:
    """The corpus in the order given (the lineup plays a folder by name), the 10-hour file
    last, since it holds the air for the rest of the test."""
    return f"shows/{index + 1:02d} {bad.name}"


@pytest.fixture(scope="module", params=["transcode", "copy"])
def corpus_run(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[CorpusRun]:
    """One channel through the whole corpus, in either output mode: copy mode takes what
    it can as it is and encodes the rest."""
    root = tmp_path_factory.mktemp(f"bad-media-{request.param}")
    media = root / "media"
    make_clip(media / "shows/00 good.mkv", 6)
    for index, bad in enumerate(CORPUS):
        bad.make(media / _on_disk(bad, index))
    channel = root / "channel.yaml"
    document = channel_document("bad-media", [{"path": "shows"}])
    document["spec"]["output"]["mode"] = request.param
    channel.write_text(yaml.safe_dump(document))
    streamer = Streamer(channel, media, root / "state").start()
    try:
        streamer.wait_for_playlist(3)
        follow = follow_live_playlist(
            lambda: streamer.get("/live/index.m3u8").decode(), FOLLOW_SECONDS, 2
        )
        assert streamer.process is not None and streamer.process.poll() is None
        records = [json.loads(line) for line in streamer.get("/asrun?limit=200").splitlines()]
        skipped = streamer.status()["skipped"]
        yield CorpusRun(
            follow=follow,
            aired={r["item"] for r in records if r["kind"] == "item"},
            skipped={s["item"]: s for s in skipped},
            log=streamer.log_text(),
        )
    finally:
        streamer.stop()


def test_the_stream_goes_on_through_the_corpus(corpus_run: CorpusRun) -> None:
    assert corpus_run.follow.problems == []
    assert corpus_run.follow.reloads >= FOLLOW_SECONDS - 5


@pytest.mark.parametrize(
    ("index", "bad"), list(enumerate(CORPUS)), ids=[bad.name for bad in CORPUS]
)
def test_each_file_is_played_or_left_out_with_a_reason(
    corpus_run: CorpusRun, index: int, bad: BadMedia
) -> None:
    path = _on_disk(bad, index)
    if bad.streamer == PLAYS:
        assert path in corpus_run.aired, f"{path} never aired:\n{corpus_run.log}"
        assert path not in corpus_run.skipped
    else:
        assert path not in corpus_run.aired
        assert corpus_run.skipped[path]["reason"] == bad.streamer, corpus_run.skipped.get(path)
        assert corpus_run.skipped[path]["message"]
