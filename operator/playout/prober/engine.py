"""One probe run: ffprobe for metadata and packets, ONE ffmpeg decode for every content
check, HLS playlists fetched and their segments sampled. The thin edge of the prober: every
decision is made by the pure modules; this only runs processes (through
`playout.media.process`), reads their files and keeps to the deadline."""

from __future__ import annotations

import asyncio
import base64
import functools
import logging
import re
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from playout.api.probejob import (
    Check,
    CheckStatus,
    DetailedReport,
    LibraryFile,
    LibraryReport,
    Pictures,
    ProbeProfile,
    ProbeReport,
    ProbeRequirements,
    Thumbnail,
    Verdict,
)
from playout.media.folders import list_media, version_of
from playout.media.metadata import (
    MediaInfo,
    PacketStats,
    UnreadableMedia,
    analyse_packets,
    frame_side_data_command,
    lacks_hdr_side_data,
    metadata_command,
    packets_command,
    parse_frame_side_data,
    parse_metadata,
    parse_packets,
    with_frame_side_data,
)
from playout.media.process import (
    MediaToolError,
    ToolResult,
    find_tool,
    input_for,
    is_remote,
    run_tool,
)
from playout.media.source import is_playlist
from playout.prober import checks, guard, hls, library, pictures
from playout.prober.catalogue import Settings, decodes, settings_for
from playout.prober.content import (
    Frame,
    captioned_streams,
    parse_frames,
    parse_log,
    parse_progress,
)
from playout.prober.flashes import find_flashes
from playout.prober.graph import (
    ContentFiles,
    PictureSteps,
    Reference,
    content_command,
    flash_rate,
    has_phase,
    picture_steps,
    thumbnail_time,
    vmaf_available,
)
from playout.prober.relay import PLAYLIST_LIMIT, Relay

log = logging.getLogger("playout.prober")

# ffmpeg's log is bounded; black, freeze and silence lines and the summaries are small, so
# only a flood of decoder errors comes near this.
LOG_LIMIT = 16 * 1024 * 1024
PACKETS_LIMIT = 64 * 1024 * 1024


@dataclass(frozen=True)
class ProbeRequest:
    source: str
    profile: ProbeProfile
    thresholds: dict[str, float]
    timeout: float
    reference: str | None = None
    allow_private_addresses: bool = False
    """Let a URL lead to private, loopback and link-local addresses (see `guard`)."""
    pictures: bool = False
    """Keep the loudness curve and pictures of the decode pass (a `DetailedReport`)."""
    require: ProbeRequirements | None = None
    """Delivery rules beyond the thresholds (`ProbeJobSpec.require`)."""


@dataclass
class Part:
    """What one step of the run (or the whole run) found."""

    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    packets: PacketStats | None = None
    media: MediaInfo | None = None
    """The media as this step (or the run) found it more exactly."""
    pictures: Pictures | None = None


class Deadline:
    """The whole run's wall-clock budget, shared by every process it starts."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def left(self) -> float:
        return max(self._end - time.monotonic(), 0.01)


@dataclass(frozen=True)
class Tools:
    """ffprobe and ffmpeg, and the environment they run in (a relayed source's proxy)."""

    ffprobe: str
    ffmpeg: str
    env: Mapping[str, str] | None = None

    async def run(self, args: Sequence[str], deadline: Deadline, **limits: int) -> ToolResult:
        return await run_tool(args, deadline.left(), env=self.env, **limits)


def _timeout_check(deadline: Deadline, what: str) -> Check:
    return checks.error(
        "timeout",
        f"{what} did not finish within the {deadline.seconds:g} s timeout; "
        "checks that needed it were not judged",
    )


_CONTEXT = re.compile(r"^\[[^\]]+ @ 0x[0-9a-f]+\] ")


def _failure(result: ToolResult, tool: str, source: str) -> str:
    """What ffmpeg or ffprobe said last, without log prefixes or the source's own name."""
    said: list[str] = []
    for line in result.stderr.strip().splitlines():
        text = _CONTEXT.sub("", line.strip()).replace(f"{input_for(source)}: ", "")
        if text and text not in said:
            said.append(text)
    return f"{tool} failed: {'; '.join(said[-3:]) or f'exit code {result.returncode}'}"


async def probe(request: ProbeRequest) -> ProbeReport:
    """Probe `request.source`; problems with the media become checks, never exceptions."""
    started = time.monotonic()
    settings = settings_for(request.profile, request.thresholds, request.require)
    deadline = Deadline(request.timeout)
    if is_remote(request.source):
        refuse = functools.partial(
            guard.address_refusal, allow_private=request.allow_private_addresses
        )
        async with Relay(refuse=refuse) as relay:
            found = await _run_relayed(request, relay, settings, deadline)
    else:
        found = await _run(request, settings, deadline)
    report = ProbeReport(
        verdict=checks.verdict_of(found.checks),
        summary=found.media.summary if found.media else None,
        checks=found.checks,
        notes=found.notes,
        elapsed_seconds=round(time.monotonic() - started, 2),
    )
    if not request.pictures:
        return report
    return DetailedReport(**dict(report), pictures=found.pictures)


async def probe_library(
    request: ProbeRequest,
    *,
    recursive: bool,
    shard: int = 0,
    shards: int = 1,
    earlier: Mapping[str, LibraryFile] | None = None,
) -> LibraryReport:
    """Probe every media file of the folder `request.source` that falls to `shard`, one
    after another, each within `request.timeout`. A file whose size and modification time
    match its result in `earlier` is not probed again: that result is carried over."""
    started = time.monotonic()
    folder = Path(request.source)
    folder, listed = await asyncio.to_thread(_library_files, folder, recursive=recursive)
    files = []
    for path in library.shard_of(listed, shard=shard, shards=shards):
        version = version_of(folder / path)
        if version is not None:
            found = library.reusable(earlier or {}, path, size=version.size, modified=version.mtime)
            if found is not None:
                files.append(found)
                continue
        log.info(f"Probing {path}")
        # A library's report keeps each file's checks, not its pictures.
        report = await probe(replace(request, source=str(folder / path), pictures=False))
        files.append(
            library.file_result(
                path,
                report,
                size=version.size if version else None,
                modified=version.mtime if version else None,
            )
        )
    counts = library.count(files)
    return LibraryReport(
        source=request.source,
        profile=request.profile,
        thresholds=request.thresholds,
        require=request.require,
        shard=shard,
        shards=shards,
        # A folder without media is a mistake to fix (a wrong path), not a pass.
        verdict=library.verdict_of(counts) if listed else Verdict.FAIL,
        counts=counts,
        files=files,
        notes=[] if listed else [_nothing_in(folder)],
        elapsed_seconds=round(time.monotonic() - started, 2),
    )


async def _run_relayed(
    request: ProbeRequest, relay: Relay, settings: Settings, deadline: Deadline
) -> Part:
    """A URL, reached through the relay only; anything it refused fails the whole probe."""
    refusal = await relay.refusal(request.source)
    if refusal:
        return Part([checks.error("readable", refusal)])
    local = replace(request, source=relay.local(request.source))
    found = await _run(local, settings, deadline, env=relay.environment())
    if relay.refusals:
        return Part([checks.error("readable", relay.refusals[0])], found.notes)
    if relay.failures:
        # ffmpeg only saw a 502: say what the relay met instead.
        found.checks = [
            checks.error(check.name, f"the source could not be read: {relay.failures[0]}")
            if check.status == CheckStatus.ERROR and check.name in ("readable", "hlsSegments")
            else check
            for check in found.checks
        ]
    return found


async def _run(
    request: ProbeRequest,
    settings: Settings,
    deadline: Deadline,
    *,
    env: Mapping[str, str] | None = None,
) -> Part:
    source = request.source
    missing = _missing_file(source)
    if missing:
        return Part([checks.error("readable", missing)])
    try:
        tools = Tools(find_tool("ffprobe"), find_tool("ffmpeg"), env)
    except MediaToolError as problem:
        return Part([checks.error("readable", str(problem))])
    result = await tools.run(metadata_command(tools.ffprobe, source), deadline)
    if result.timed_out:
        return Part([_timeout_check(deadline, "Reading the metadata")])
    try:
        if not result.ok:
            raise UnreadableMedia(_failure(result, "ffprobe", source))
        media = parse_metadata(result.stdout.decode(errors="replace"))
    except UnreadableMedia as problem:
        return Part([checks.error("readable", f"not readable as media: {problem}")])
    summary = media.summary
    results = [
        checks.judged(
            settings,
            "readable",
            False,
            f"{summary.container} (probe score {summary.probe_score})",
        ),
        checks.streams_check(settings, media),
    ]
    layouts = checks.channel_layout_check(settings, media)
    if layouts is not None:
        results.append(layouts)
    notes: list[str] = []
    if settings.require.captions and not decodes(request.profile):
        notes.append("captions are found by decoding: the quick profile does not check them")
    if media.video_index is None and media.audio_index is None:
        return Part(results, notes, media=media)
    colour = await _colour(tools, source, media, settings, deadline)
    results += colour.checks
    media = colour.media or media
    if media.live:
        notes.append(
            f"a live stream: only its first {settings.number('liveSeconds'):g} s were read"
        )
    jobs = [_packets(tools, source, media, settings, deadline)]
    if decodes(request.profile):
        jobs.append(_content(tools, request, media, settings, deadline))
    if is_playlist(source):
        jobs.append(_hls(tools, source, settings, deadline))
    seen: Pictures | None = None
    for part in await asyncio.gather(*jobs):
        results += part.checks
        notes += part.notes
        seen = seen or part.pictures
        if part.packets is not None:
            media = _with_packets(media, part.packets)
    # One timeout check is enough, however many steps ran out of time.
    timeouts = [check for check in results if check.name == "timeout"]
    results = [check for check in results if check.name != "timeout"] + timeouts[:1]
    return Part(results, notes, media=media, pictures=seen)


def _with_packets(media: MediaInfo, stats: PacketStats) -> MediaInfo:
    summary = media.summary
    video = summary.video
    if video is not None:
        video = video.model_copy(
            update={"gop": stats.gop, "frame_rate_mode": stats.frame_rate_mode}
        )
    summary = summary.model_copy(update={"video": video, "bitrate_windows": stats.bitrate})
    return replace(media, summary=summary)


def _missing_file(source: str) -> str | None:
    if is_remote(source):
        return None
    path = Path(source)
    if not path.exists():
        return f"no such file: {source}"
    if path.is_dir():
        return f"{source} is a folder, not a media file"
    if path.is_file() and path.stat().st_size == 0:
        return f"{source} is empty (0 bytes)"
    return None


async def _packets(
    tools: Tools, source: str, media: MediaInfo, settings: Settings, deadline: Deadline
) -> Part:
    limit = settings.number("liveSeconds") if media.live else None
    result = await tools.run(
        packets_command(tools.ffprobe, source, limit), deadline, output_limit=PACKETS_LIMIT
    )
    if result.timed_out:
        return Part([_timeout_check(deadline, "Reading the packets")])
    notes = []
    if result.truncated:
        notes.append("the packet list outgrew its limit: GOP and bitrate cover the start only")
    stats = analyse_packets(
        parse_packets(result.stdout.decode(errors="replace")),
        media.video_index,
        media.start_seconds,
    )
    found = [
        checks.keyframes_check(settings, stats),
        checks.bitrate_check(settings, stats),
        checks.timestamps_check(settings, stats),
        checks.frame_rate_check(settings, media, stats),
        None if result.truncated else checks.av_duration_check(settings, media, stats),
    ]
    if not decodes(settings.profile) and not result.truncated:
        found.insert(0, checks.duration_check(settings, media, stats.end_seconds, "the packets"))
    return Part([check for check in found if check is not None], notes, stats)


async def _colour(
    tools: Tools, source: str, media: MediaInfo, settings: Settings, deadline: Deadline
) -> Part:
    """The colour checks, after reading the first frame's side data where PQ video's
    stream parameters lack its HDR metadata (MPEG-TS carries it per frame)."""
    if media.video_index is not None and lacks_hdr_side_data(media):
        result = await tools.run(
            frame_side_data_command(tools.ffprobe, source, media.video_index), deadline
        )
        if result.timed_out:
            return Part([_timeout_check(deadline, "Reading the first frame's side data")])
        media = with_frame_side_data(
            media, parse_frame_side_data(result.stdout.decode(errors="replace"))
        )
    return Part(checks.colour_checks(settings, media), media=media)


async def _reference(
    tools: Tools, path: str, deadline: Deadline
) -> tuple[Reference | None, str | None]:
    result = await tools.run(metadata_command(tools.ffprobe, path), deadline)
    try:
        if not result.ok:
            raise UnreadableMedia(_failure(result, "ffprobe", path))
        info = parse_metadata(result.stdout.decode(errors="replace"))
    except UnreadableMedia as problem:
        return None, f"the reference {path} is not readable: {problem}"
    if info.video_index is None or not info.width or not info.height:
        return None, f"the reference {path} has no video"
    return Reference(path, info.video_index, info.width, info.height), None


async def _content(
    tools: Tools,
    request: ProbeRequest,
    media: MediaInfo,
    settings: Settings,
    deadline: Deadline,
) -> Part:
    notes: list[str] = []
    reference: Reference | None = None
    vmaf = False
    found: list[Check | None] = []
    if request.reference is not None and media.video_index is not None:
        reference, problem = await _reference(tools, request.reference, deadline)
        if problem:
            found += [checks.error(name, problem) for name in ("psnr", "ssim")]
        listing = await tools.run([tools.ffmpeg, "-hide_banner", "-filters"], deadline)
        vmaf = vmaf_available(listing.stdout.decode(errors="replace"))
        if not vmaf:
            notes.append("VMAF not measured: this ffmpeg build has no libvmaf")
    with tempfile.TemporaryDirectory(prefix="playout-probe-") as scratch:
        files = ContentFiles.under(Path(scratch))
        steps = picture_steps(media, settings) if request.pictures else None
        if steps is not None:
            files.thumbnails.mkdir()
        command = content_command(
            tools.ffmpeg, request.source, media, settings, files, reference, vmaf, steps
        )
        log.debug("Decode pass: %s", command)
        result = await tools.run(command, deadline, stderr_limit=LOG_LIMIT)
        if result.timed_out:
            return Part([_timeout_check(deadline, "The decode pass")], notes)
        progress = parse_progress(result.stdout.decode(errors="replace"))
        if not result.ok and not progress.seconds:
            return Part(
                [checks.error("decodeErrors", _failure(result, "ffmpeg", request.source))], notes
            )
        findings = parse_log(result.stderr)
        samples = _frames(files.samples)
        quality = _frames(files.quality)
        end = progress.seconds or media.duration_seconds
        frame_seconds = 1 / media.frame_rate if media.frame_rate else 0.04
        found.append(checks.duration_check(settings, media, progress.seconds, "decoding"))
        found.append(checks.decode_errors_check(settings, findings, result.truncated))
        if media.video_index is not None:
            black = checks.run_check(
                settings, "black", findings.black, end, "black", "blackSeconds"
            )
            captioned = media.closed_captions or media.video_index in captioned_streams(
                result.stderr
            )
            found += [
                checks.captions_check(settings, captioned),
                black,
                checks.run_check(
                    settings, "freeze", findings.freeze, end, "frozen", "freezeSeconds"
                ),
                checks.interlacing_check(
                    settings,
                    findings.interlacing,
                    _frames(files.interlaced),
                    frame_seconds,
                    end,
                ),
                checks.letterbox_check(settings, media, samples, black.events, end),
                checks.blockiness_check(settings, quality, end),
                checks.blur_check(settings, quality, end),
                checks.broadcast_range_check(settings, media, samples, _frames(files.gamut), end),
                *checks.flash_checks(
                    settings,
                    await asyncio.to_thread(
                        find_flashes,
                        files.flashes.read_bytes() if files.flashes.exists() else b"",
                        flash_rate(media),
                        checks.flash_rules(settings),
                        media.start_seconds or 0.0,
                    ),
                ),
            ]
            if reference is not None:
                found += checks.reference_checks(
                    settings,
                    findings,
                    _frames(files.psnr),
                    _frames(files.ssim),
                    frame_seconds,
                    end,
                    vmaf,
                )
        if media.audio_index is not None:
            found.append(
                checks.run_check(
                    settings, "silence", findings.silence, end, "silent", "silenceSeconds"
                )
            )
            if has_phase(media):
                found.append(
                    checks.run_check(
                        settings,
                        "phase",
                        findings.out_of_phase,
                        end,
                        "out of phase",
                        "phaseSeconds",
                    )
                )
            found += checks.loudness_checks(settings, findings)
            found.append(checks.clipping_check(settings, _frames(files.clipping), end))
        results = [check for check in found if check is not None]
        seen = _pictures(files, media, steps, results) if steps is not None else None
    return Part(results, notes, pictures=seen)


def _pictures(
    files: ContentFiles, media: MediaInfo, steps: PictureSteps, found: list[Check]
) -> Pictures:
    """The loudness curve and the pictures worth keeping, read before the scratch goes."""
    loudness = (
        pictures.loudness_curve(_frames(files.loudness)) if media.audio_index is not None else None
    )
    taken_count = sum(1 for _ in files.thumbnails.glob("*.jpg"))
    taken = [thumbnail_time(number, steps, media) for number in range(taken_count)]
    kept = [
        Thumbnail(
            seconds=taken[number],
            jpeg=base64.b64encode(files.thumbnail(number).read_bytes()).decode(),
        )
        for number in pictures.pictures_to_keep(found, taken)
        if files.thumbnail(number).is_file()
    ]
    return Pictures(
        loudness=loudness,
        thumbnails=kept,
        thumbnail_seconds=float(steps.thumbnails) if taken else None,
    )


def _frames(path: Path) -> list[Frame]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8", errors="replace") as lines:
        return list(parse_frames(lines))


# --- HLS --------------------------------------------------------------------------------


class _HttpOnly(urllib.request.HTTPRedirectHandler):
    """Follows redirects between http(s) URLs only: a playlist URL must not lead to a file."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        if not newurl.startswith(("http://", "https://")):
            raise urllib.error.HTTPError(newurl, code, "redirect to a non-HTTP URL", headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.OpenerDirector()
for _handler in (
    urllib.request.HTTPHandler(),
    urllib.request.HTTPSHandler(),
    _HttpOnly(),
    urllib.request.HTTPErrorProcessor(),
    urllib.request.HTTPDefaultErrorHandler(),
):
    _OPENER.add_handler(_handler)


def _read_playlist(uri: str, timeout: float) -> str:
    if is_remote(uri):
        with _OPENER.open(uri, timeout=timeout) as response:
            data: bytes = response.read(PLAYLIST_LIMIT + 1)
    else:
        with Path(uri).open("rb") as file:
            data = file.read(PLAYLIST_LIMIT + 1)
    if len(data) > PLAYLIST_LIMIT:
        raise ValueError(f"over {PLAYLIST_LIMIT // 1024} KiB: not a playlist")
    return data.decode("utf-8", errors="replace")


async def _fetch(uri: str, deadline: Deadline) -> str:
    return await asyncio.wait_for(
        asyncio.to_thread(_read_playlist, uri, deadline.left()), deadline.left()
    )


async def _hls(tools: Tools, source: str, settings: Settings, deadline: Deadline) -> Part:
    try:
        text = await _fetch(source, deadline)
        if hls.is_master(text):
            variants = hls.parse_master(text, source)
            notes = (
                [f"HLS: {len(variants)} variants, the first {hls.MAX_VARIANTS} checked"]
                if len(variants) > hls.MAX_VARIANTS
                else []
            )
            renditions = [
                await _rendition(tools, variant.uri, variant, deadline)
                for variant in variants[: hls.MAX_VARIANTS]
            ]
        else:
            notes = []
            renditions = [await _rendition(tools, source, None, deadline, text)]
    except TimeoutError:
        return Part([_timeout_check(deadline, "Reading the HLS playlists")])
    except (OSError, ValueError) as problem:
        return Part([checks.error("hlsSegments", f"the playlist could not be read: {problem}")])
    return Part(hls.hls_checks(settings, renditions), notes)


async def _rendition(
    tools: Tools,
    uri: str,
    variant: hls.Variant | None,
    deadline: Deadline,
    text: str | None = None,
) -> hls.Rendition:
    playlist = hls.parse(text if text is not None else await _fetch(uri, deadline))
    reload = None
    if not playlist.ended:
        # A live playlist is read again one target duration later: the sequence rules are
        # about what changes between reloads.
        await asyncio.sleep(min(playlist.target_duration or 2, deadline.left() / 4))
        reload = hls.parse(await _fetch(uri, deadline))
    probes = []
    for index in hls.sample_indexes(len(playlist.segments)):
        segment_uri = playlist.segments[index].uri
        if hls.foreign_uri(uri, segment_uri):
            continue
        result = await tools.run(
            hls.segment_command(tools.ffprobe, hls.resolve(uri, segment_uri)), deadline
        )
        if result.timed_out:
            raise TimeoutError
        probes.append(hls.parse_segment_probe(index, result.stdout.decode(errors="replace")))
    return hls.Rendition(uri, playlist, reload, probes, variant)


def _library_files(folder: Path, *, recursive: bool) -> tuple[Path, list[str]]:
    """The folder and its media files, relative to it; a file is a library of one (a
    folder source whose name looks like a file's)."""
    if folder.is_file():
        return folder.parent, [folder.name]
    return folder, list_media(folder, "", recursive=recursive)


def _nothing_in(folder: Path) -> str:
    if not folder.exists():
        return f"{folder} does not exist"
    if not folder.is_dir():
        return f"{folder} is not a folder"
    return f"no media files in {folder}"
