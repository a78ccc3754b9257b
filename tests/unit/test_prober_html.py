"""The report as a web page, pure: what it shows of a report, that it needs nothing from
the network, and that whatever a file is called stays text."""

from __future__ import annotations

from html.parser import HTMLParser

from playout.api.probejob import (
    Check,
    CheckStatus,
    DetailedReport,
    LibraryFile,
    LibraryReport,
    LoudnessCurve,
    Pictures,
    ProbeProfile,
    ProbeReport,
    Summary,
    Thumbnail,
    TimeRange,
)
from playout.prober import library
from playout.prober.html import library_page, report_page

JPEG = "/9j/4AAQSkZJRg=="


class Elements(HTMLParser):
    """Every start tag with its attributes, and the page's text."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {name: value or "" for name, value in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def all(self, tag: str, **attrs: str) -> list[dict[str, str]]:
        return [
            found
            for name, found in self.tags
            if name == tag and all(found.get(k) == v for k, v in attrs.items())
        ]


def black_check() -> Check:
    return Check(
        name="black",
        status=CheckStatus.FAIL,
        value=3.0,
        threshold=1.0,
        message="black at 3.00-6.00 s",
        events=[TimeRange(start=3.0, end=6.0)],
    )


def report(**extra: object) -> DetailedReport:
    curve = LoudnessCurve(
        seconds=[0.0, 0.1, 0.2, 0.3],
        momentary=[None, -22.0, -23.5, -24.0],
        short_term=[None, None, -23.0, -23.2],
        true_peak=[None, -6.0, -6.0, -3.5],
    )
    thumbnails = [Thumbnail(seconds=float(t), jpeg=JPEG) for t in (0, 4, 11)]
    return DetailedReport(
        verdict="fail",
        summary=Summary(container="matroska,webm", duration_seconds=12.0),
        checks=[
            Check(name="readable", status=CheckStatus.PASS, message="matroska"),
            black_check(),
            Check(name="loudness", status=CheckStatus.PASS, threshold=-23.0),
            Check(name="truePeak", status=CheckStatus.PASS, threshold=-1.0),
        ],
        pictures=Pictures(loudness=curve, thumbnails=thumbnails, thumbnail_seconds=1.0),
        **extra,  # type: ignore[arg-type]
    )


def test_the_page_shows_the_verdict_checks_graph_strip_and_pictures() -> None:
    page = Elements(report_page(report(), source="shows/a.mkv", profile="broadcast"))
    assert page.all("span", **{"class": "status fail verdict"})
    assert len(page.all("tr")) == 1 + 4  # a row per check under the header
    assert page.all("svg", id="loudness") and page.all("svg", id="events")
    # A curve breaks where nothing was measured; the target and the limit are lines.
    assert len(page.all("polyline", **{"class": "momentary"})) == 1
    assert page.all("line", **{"class": "target"}) and page.all(
        "line", **{"class": "true-peak-limit"}
    )
    # The black event links to its picture: the first taken inside it (4 s).
    links = [a["href"] for a in page.all("a")]
    assert "#event-black-3" in links
    figure = page.all("figure", id="event-black-3")
    assert figure
    images = page.all("img")
    assert len(images) == 1 + 3  # the event's, and the three across the media
    assert all(img["src"].startswith("data:image/jpeg;base64,") for img in images)
    assert "(picture at 4.0 s)" in "".join(page.text)


def test_the_page_needs_nothing_from_elsewhere() -> None:
    page = Elements(report_page(report(), source="a.mkv", profile="standard"))
    for _, attrs in page.tags:
        for name in ("src", "href"):
            value = attrs.get(name, "")
            assert not value or value.startswith(("data:", "#")), value
    assert not page.all("link") and not page.all("script")  # a file's page has no script


def test_without_pictures_the_page_still_has_the_checks_and_strip() -> None:
    plain = ProbeReport(verdict="warn", checks=[black_check()])
    page = Elements(report_page(plain, source="a.mkv", profile="standard"))
    assert page.all("svg", id="events") and not page.all("svg", id="loudness")
    assert not page.all("img")


def test_odd_names_stay_text() -> None:
    odd = '<script>alert("x")</script> & "quotes".mkv'
    page = report_page(report(), source=odd, profile="standard")
    assert "<script>alert" not in page
    assert odd in "".join(Elements(page).text)


def test_the_library_page_is_a_sortable_table_linking_each_file() -> None:
    files = [
        library.file_result("S01E02.mkv", report(), size=2_000_000, modified=1.0),
        library.file_result(
            "S01E10 <b>.mkv", ProbeReport(verdict="pass"), size=1_000_000, modified=1.0
        ),
        LibraryFile(path="S01E11.mkv", status=CheckStatus.WARN, problems=["blur"]),
    ]
    shard = LibraryReport(
        source="/media/shows/Cheers",
        profile=ProbeProfile.STANDARD,
        verdict="fail",
        counts=library.count(files),
        files=files,
    )
    page = Elements(library_page(shard))
    rows = page.all("tr")
    # The files' table (a header and 3 rows), then the first two files' checks.
    assert len(rows) == (1 + 3) + (1 + 4) + (1 + 0)
    assert [th.get("data-sort") for th in page.all("th")[:4]] == [
        "number",
        "text",
        "text",
        "number",
    ]
    assert [a["href"] for a in page.all("a")] == ["#file-0", "#file-1", "#file-2"]
    assert page.all("h2", id="file-2")
    assert len(page.all("script")) == 1  # the sorting, inline
    text = "".join(page.text)
    assert "S01E10 <b>.mkv" in text and "3 files, 1 pass, 1 warn, 1 fail" in text
    assert "left out" in text  # a file whose report was dropped to fit says so


def test_a_source_of_one_instant_still_draws() -> None:
    instant = report().model_copy(
        update={
            "summary": Summary(duration_seconds=0.0),
            "checks": [],
            "pictures": Pictures(
                loudness=LoudnessCurve(
                    seconds=[0.0], momentary=[-20.0], short_term=[None], true_peak=[-3.0]
                ),
            ),
        }
    )
    page = Elements(report_page(instant, source="blip.wav", profile="standard"))
    assert page.all("svg", id="loudness") and not page.all("svg", id="events")
