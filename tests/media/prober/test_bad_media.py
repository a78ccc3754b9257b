"""The bad-media corpus through the prober's standard profile: each file gets a verdict,
and a failing file fails on the check that names its fault, with a message."""

from __future__ import annotations

from pathlib import Path

import pytest

from playout.api.probejob import CheckStatus, Verdict
from tests.bad_media import CORPUS, BadMedia, make_corpus
from tests.media.prober.conftest import run

pytestmark = pytest.mark.bad_input


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_corpus(tmp_path_factory.mktemp("bad-media"))


@pytest.mark.parametrize("bad", CORPUS, ids=[bad.name for bad in CORPUS])
def test_each_file_gets_a_verdict_naming_its_fault(corpus: dict[str, Path], bad: BadMedia) -> None:
    report = run(corpus[bad.name])
    failed = {c.name: c for c in report.checks if c.status in (CheckStatus.FAIL, CheckStatus.ERROR)}
    for check in report.checks:
        assert check.status == CheckStatus.PASS or check.message, check
    if bad.prober_fails is None:
        assert report.verdict != Verdict.FAIL, failed
    else:
        assert report.verdict == Verdict.FAIL
        assert bad.prober_fails in failed, failed
    # A check that could not run at all is the prober's own failure, not the file's,
    # except where the file cannot be read.
    errors = [c.name for c in report.checks if c.status == CheckStatus.ERROR]
    assert errors in ([], ["readable"]), failed
