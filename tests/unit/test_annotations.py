"""The request annotations on a Channel: what the engine accepts as a skip request's time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from playout.api.annotations import request_time


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-12-03T14:00:00Z", datetime(2026, 12, 3, 14, tzinfo=UTC)),
        ("2026-12-03T14:00:00.250Z", datetime(2026, 12, 3, 14, 0, 0, 250000, tzinfo=UTC)),
        (
            "2026-12-03T15:00:00+01:00",
            datetime(2026, 12, 3, 15, tzinfo=timezone(timedelta(hours=1))),
        ),
    ],
)
def test_a_request_is_an_rfc3339_time(value: str, expected: datetime) -> None:
    assert request_time(value) == expected


@pytest.mark.bad_input
@pytest.mark.parametrize("value", [None, "", "now", "2026-12-03T14:00:00", "yes please"])
def test_what_is_not_a_time_with_a_zone_is_no_request(value: str | None) -> None:
    assert request_time(value) is None
