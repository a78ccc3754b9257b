"""The one ffmpeg run behind every content check: a single filter graph over a single decode.
Pure: builds the command line; `content` reads what it leaves behind.

    video ─ blackdetect ─ freezedetect ─ idet ─ split ─┬─ (output: counts frames)
                                                      ├─ interlaced frames ─> interlaced.txt
                                                      ├─ one frame per sampleSeconds ─ cropdetect
                                                      │    ─ signalstats ─> samples.txt
                                                      │    ─ 4 x 4 average ─ RGB gamut mask
                                                      │    ─ signalstats ─> gamut.txt
                                                      ├─ one frame per qualitySampleSeconds
                                                      │    ─ centre crop ─ blockdetect
                                                      │    ─ blurdetect ─> quality.txt
                                                      └─ (reference) psnr, ssim[, libvmaf]
    audio ─ silencedetect ─ ebur128 ─ asplit ─┬─ (output)
                                             ├─ 100 ms windows ─ astats ─ near full scale
                                             │    ─> clipping.txt
                                             ├─ (stereo or more) the first two channels
                                             │    ─ aphasemeter (out of phase: the log)
                                             └─ (pictures) one frame per loudness step
                                                  ─> loudness.txt
    (pictures) video split ─ one frame per thumbnail step ─ 160 px wide ─> JPEG files

Cheap detectors see every frame; the costly picture measures see one frame in a few: at
1080p blurdetect costs five times the decode of a frame, blockdetect three times and
signalstats twice, and blockiness and blur are judged on their average anyway.

The pictures of the report (`prober.pictures`) cost a small scaled picture a second and
ebur128's per-block metadata: asked for, they come from the same decode.

Black, freeze, silence and phase come from ffmpeg's log; per-frame values go to `metadata=print`
files, filtered in the graph so that only frames worth reporting are written."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from playout.media.ffmpeg import escape
from playout.media.loudness import EBUR128
from playout.media.metadata import BT2020_MATRICES, HD_LINES, SD_MATRICES, MediaInfo, assumed_matrix
from playout.media.source import input_args
from playout.prober.catalogue import Settings
from playout.prober.flashes import GRID

CLIP_WINDOW_SECONDS = 0.1
# freezedetect compares frames with the first of a still run, and in coded video the next
# keyframe differs from it enough to end the run: it reports shorter runs, which the
# checks join back together (`checks.run_check`) before holding them to freezeSeconds.
FREEZE_STEP_SECONDS = 0.5
# Blockiness and blur are measured on the middle of the picture (70% x 60%, on the 16-pixel
# grid of the codec's blocks): the edges of letterbox or pillarbox bars would otherwise read
# as block boundaries. It also halves the cost of the two dearest filters. A picture too
# small to have a middle of whole blocks (a 16x16 thumbnail) is measured whole.
_CENTRE_SMALLEST = 32
_CENTRE = (
    "crop=w=trunc(iw*0.7/16)*16:h=trunc(ih*0.6/16)*16:x=trunc(iw*0.15/16)*16:y=trunc(ih*0.2/16)*16"
)


_THUMBNAIL_NAME = "%06d.jpg"


@dataclass(frozen=True)
class ContentFiles:
    """Where the graph writes per-frame results."""

    interlaced: Path
    samples: Path
    gamut: Path
    quality: Path
    clipping: Path
    psnr: Path
    ssim: Path
    flashes: Path
    """Every frame as GRID x GRID RGB cells, raw (`prober.flashes`)."""
    loudness: Path
    thumbnails: Path
    """A folder of numbered JPEG files, one every `PictureSteps.thumbnails` seconds."""

    @classmethod
    def under(cls, directory: Path) -> ContentFiles:
        return cls(
            interlaced=directory / "interlaced.txt",
            samples=directory / "samples.txt",
            gamut=directory / "gamut.txt",
            quality=directory / "quality.txt",
            clipping=directory / "clipping.txt",
            psnr=directory / "psnr.txt",
            ssim=directory / "ssim.txt",
            flashes=directory / "flashes.rgb",
            loudness=directory / "loudness.txt",
            thumbnails=directory / "thumbnails",
        )

    def thumbnail(self, number: int) -> Path:
        return self.thumbnails / (_THUMBNAIL_NAME % number)

    @property
    def thumbnail_pattern(self) -> str:
        """The image2 muxer's name for the files: `thumbnail(n)` is its n-th."""
        return str(self.thumbnails / _THUMBNAIL_NAME)


@dataclass(frozen=True)
class Reference:
    """The undistorted original that PSNR, SSIM and VMAF compare against."""

    source: str
    video_index: int
    width: int
    height: int


# At most about this many points on the loudness graph and pictures taken, however long the
# media: the scratch space and the report stay bounded.
LOUDNESS_POINTS = 2000
LOUDNESS_SMALLEST_STEP = 0.1
"""ebur128's own block: it measures every 100 ms."""
THUMBNAILS_TAKEN = 1800
THUMBNAIL_WIDTH = 160


@dataclass(frozen=True)
class PictureSteps:
    """How often the decode pass keeps a loudness point and a picture for the report."""

    loudness: float
    thumbnails: int
    """Whole seconds (the fps filter's rate is 1/thumbnails)."""


def picture_steps(media: MediaInfo, settings: Settings) -> PictureSteps:
    span = media.duration_seconds or settings.number("liveSeconds")
    return PictureSteps(
        loudness=max(LOUDNESS_SMALLEST_STEP, round(span / LOUDNESS_POINTS, 1)),
        thumbnails=max(1, math.ceil(span / THUMBNAILS_TAKEN)),
    )


def _print(path: Path, key: str | None = None, audio: bool = False) -> str:
    selected = f":key={key}" if key else ""
    return f"{'a' if audio else ''}metadata=mode=print{selected}:file={escape(str(path))}"


def _every(seconds: float) -> str:
    """Pass on the first frame, then the first frame at least `seconds` after the last."""
    return "select=" + escape(f"isnan(prev_selected_t)+gte(t-prev_selected_t,{seconds:g})")


def _keep(key: str, function: str, value: str | float, audio: bool = False) -> str:
    """Pass on only frames whose metadata `key` compares true against `value`."""
    shown = value if isinstance(value, str) else f"{value:g}"
    return f"{'a' if audio else ''}metadata=mode=select:key={key}:value={shown}:function={function}"


@dataclass(frozen=True)
class Filters:
    """The filter behind each content check, before any sampling or branching."""

    black: str
    freeze: str
    interlacing: str
    letterbox: str
    broadcast_range: str
    gamut: str | None
    """None for full-range video, to which broadcast ranges do not apply."""
    blockiness: str
    blur: str
    silence: str
    loudness: str
    clipping: str
    phase: str | None
    """None for mono audio, which has no phase to lose."""
    sample: str
    """Picks the frames that letterbox and broadcast range see."""
    quality_sample: str
    """Picks (and crops) the frames that blockiness and blur see."""


def _centre(media: MediaInfo) -> str:
    small = min(media.width or 0, media.height or 0) < _CENTRE_SMALLEST
    return "null" if small else _CENTRE


def filters(media: MediaInfo, settings: Settings, *, pictures: bool = False) -> Filters:
    """`pictures`: ebur128 also tags every block with its measurements."""
    window = max(round((media.sample_rate or 48000) * CLIP_WINDOW_SECONDS), 1)
    return Filters(
        black=f"blackdetect=d={settings.number('blackSeconds'):g}"
        f":pix_th={settings.number('blackPixelThreshold'):g}"
        f":pic_th={settings.number('blackPictureRatio'):g}",
        freeze=f"freezedetect=n={settings.number('freezeNoiseDb'):g}dB"
        f":d={min(settings.number('freezeSeconds'), FREEZE_STEP_SECONDS):g}",
        interlacing="idet",
        letterbox="cropdetect=round=2:reset=1:skip=0",
        broadcast_range="signalstats=stat=brng",
        gamut=None if media.full_range else _gamut(media),
        blockiness="blockdetect",
        blur="blurdetect",
        silence=f"silencedetect=n={settings.number('silenceDb'):g}dB"
        f":d={settings.number('silenceSeconds'):g}",
        loudness=f"{EBUR128}:metadata=1" if pictures else EBUR128,
        clipping=f"asetnsamples=n={window}:p=0,astats=metadata=1:reset=1"
        ":measure_perchannel=none:measure_overall=Peak_level",
        phase=_phase(media, settings),
        sample=_every(settings.number("sampleSeconds")),
        quality_sample=f"{_every(settings.number('qualitySampleSeconds'))},{_centre(media)}",
    )


# EBU R 103: R, G and B (and so Y, their weighted mean) within -5% and 105% of the narrow
# range, after a low-pass filter; `broadcastRangeRatio` of the picture may lie outside.
GAMUT_LOW, GAMUT_HIGH = -0.05, 1.05
GAMUT_KEY = "lavfi.signalstats.YAVG"
"""The mean of the gamut mask: 255 where the picture is out of gamut."""


def _gamut(media: MediaInfo) -> str:
    """The share of the picture outside R 103's RGB gamut, as the mean of a mask. The
    low-pass filter: the picture averaged over 4 x 4 pixels (2 x 2 of 4:2:0's colour
    samples; a quarter size, by area), which removes the overshoot at sharp colour edges
    that R 103's filter is there to ignore: a lossy encode of a picture converted exactly
    (in gamut to the last pixel) puts 1-2% of it out of gamut at 2 x 2, about 0.3% at
    4 x 4, and a fast encode of a legal test pattern several percent of its pixels out of
    range. Then Y'CbCr is scaled so that the gamut's bounds fall on RGB 0 and 1, turned
    into RGB with the stream's own matrix (what lies outside clips to 0 or 255), and a
    pixel is marked where any of R, G and B clipped."""
    span = GAMUT_HIGH - GAMUT_LOW
    luma = escape(f"16+(val-16-{219 * GAMUT_LOW:g})/{span:g}")
    chroma = escape(f"128+(val-128)/{span:g}")
    clipped = escape("255*not(between(val,1,254))")
    return (
        f"scale=w={escape('max(1,trunc(iw/4))')}:h={escape('max(1,trunc(ih/4))')}:flags=area,"
        "format=yuv444p,"
        f"lutyuv=y={luma}:u={chroma}:v={chroma},"
        f"scale=in_color_matrix={_matrix(media)}:in_range=tv,format=gbrp,"
        f"lutrgb=r={clipped}:g={clipped}:b={clipped},"
        # Grey is a positive mix of R, G and B: above 0 where any of them is marked.
        f"format=gray,lut=c0={escape('255*gt(val,0)')},signalstats"
    )


def _matrix(media: MediaInfo) -> str:
    """The matrix players decode the stream with (`assumed_matrix`), as swscale names it;
    one it has no name for (or none known), by the picture's size."""
    video = media.summary.video
    matrix = assumed_matrix(video.color_matrix if video else None, media.height)
    if matrix in BT2020_MATRICES:
        return "bt2020"
    if matrix in SD_MATRICES:
        return "bt601"
    if matrix == "bt709":
        return "bt709"
    return "bt709" if (media.height or 0) >= HD_LINES else "bt601"


def has_phase(media: MediaInfo) -> bool:
    """Whether the audio has two channels or more, whose phase can be checked."""
    return (media.audio_channels or 0) >= 2


def _phase(media: MediaInfo, settings: Settings) -> str | None:
    if not has_phase(media):
        return None
    channels = media.audio_channels or 0
    # Of more channels, the first two (front left and right in every standard layout), by
    # index: a layout ffprobe cannot name has no FL and FR to pick.
    pair = "pan=stereo|c0=c0|c1=c1," if channels > 2 else ""
    # aphasemeter's own angle (170 degrees) and a run of at least phaseSeconds.
    run = max(settings.number("phaseSeconds"), 0.01)
    return f"{pair}aphasemeter=video=0:phasing=1:duration={run:g}"


def one_pass_per_check(media: MediaInfo, settings: Settings) -> dict[str, tuple[str, str]]:
    """Each content check on its own, `name: (stream, chain)`: what a tool that decodes the
    media once per check runs, with the same filters and sampling. The baseline of
    `bench/prober.py`."""
    f = filters(media, settings)
    video = {
        "black": f.black,
        "freeze": f.freeze,
        "interlacing": f.interlacing,
        "letterbox": f"{f.sample},{f.letterbox}",
        "broadcastRange": f"{f.sample},{f.broadcast_range}" + (f",{f.gamut}" if f.gamut else ""),
        "flashes": flash_cells(media),
        "blockiness": f"{f.quality_sample},{f.blockiness}",
        "blur": f"{f.quality_sample},{f.blur}",
    }
    audio = {"silence": f.silence, "loudness": f.loudness, "clipping": f.clipping}
    if f.phase is not None:
        audio["phase"] = f.phase
    chains: dict[str, tuple[str, str]] = {}
    if media.video_index is not None:
        chains |= {name: (f"0:{media.video_index}", chain) for name, chain in video.items()}
    if media.audio_index is not None:
        chains |= {name: (f"0:{media.audio_index}", chain) for name, chain in audio.items()}
    return chains


def filter_graph(
    media: MediaInfo,
    settings: Settings,
    files: ContentFiles,
    reference: Reference | None = None,
    vmaf: bool = False,
    pictures: PictureSteps | None = None,
) -> tuple[str, list[str]]:
    """The graph, and the labels of its outputs (each mapped to the null muxer)."""
    f = filters(media, settings, pictures=pictures is not None)
    chains: list[str] = []
    outputs: list[str] = []
    if media.video_index is not None:
        branches = ["[vout]", "[vint]", "[vsam]", "[vqua]", "[vfla]"]
        branches += ["[vref]"] if reference else []
        branches += ["[vthu]"] if pictures else []
        outputs.append("[vout]")
        chains.append(
            f"[0:{media.video_index}]{f.black},{f.freeze},{f.interlacing},"
            f"split={len(branches)}{''.join(branches)}"
        )
        chains.append(
            "[vint]"
            + _keep("lavfi.idet.multiple.current_frame", "ends_with", "ff")
            + ","
            + _print(files.interlaced, "lavfi.idet.multiple.current_frame")
            + ",nullsink"
        )
        chains.append(
            f"[vsam]{f.sample},{f.letterbox},{f.broadcast_range},"
            + _print(files.samples)
            + (f",{f.gamut}," + _print(files.gamut, GAMUT_KEY) if f.gamut else "")
            + ",nullsink"
        )
        chains.append(
            f"[vqua]{f.quality_sample},{f.blockiness},{f.blur},"
            + _print(files.quality)
            + ",nullsink"
        )
        chains.append(f"[vfla]{flash_cells(media)}[{FLASH_OUTPUT}]")
        if pictures is not None:
            chains.append(f"[vthu]{thumbnails(pictures)}[{THUMBNAIL_OUTPUT}]")
        if reference is not None:
            chains += _reference_chains(reference, settings, files, vmaf)
    if media.audio_index is not None:
        outputs.append("[aout]")
        branches = ["[aout]", "[aclip]", *(["[aphase]"] if f.phase else [])]
        branches += ["[aloud]"] if pictures else []
        chains.append(
            f"[0:{media.audio_index}]{f.silence},{f.loudness},"
            f"asplit={len(branches)}{''.join(branches)}"
        )
        if f.phase is not None:
            chains.append(f"[aphase]{f.phase},anullsink")
        if pictures is not None:
            # The blocks' own measurements (momentary, short-term, true peak so far).
            chains.append(
                # Half a block short of the step: timestamps are not exact decimals.
                f"[aloud]a{_every(pictures.loudness - LOUDNESS_SMALLEST_STEP / 2)},"
                + _print(files.loudness, audio=True)
                + ",anullsink"
            )
        chains.append(
            f"[aclip]{f.clipping},"
            + _keep(
                "lavfi.astats.Overall.Peak_level",
                "greater",
                settings.number("clippingDb"),
                audio=True,
            )
            + ","
            + _print(files.clipping, "lavfi.astats.Overall.Peak_level", audio=True)
            + ",anullsink"
        )
    return ";".join(chains), outputs


FLASH_OUTPUT = "flashcells"
THUMBNAIL_OUTPUT = "thumbnails"


def thumbnails(steps: PictureSteps) -> str:
    """A picture every `steps.thumbnails` seconds, THUMBNAIL_WIDTH wide at the display
    aspect ratio, in the full range JPEG wants. The n-th is of the time
    `thumbnail_time(n)`."""
    return (
        f"fps=fps=1/{steps.thumbnails},"
        f"scale=w={THUMBNAIL_WIDTH}:h=trunc(ow/dar/2)*2:out_range=full,setsar=1,format=yuvj420p"
    )


def thumbnail_time(number: int, steps: PictureSteps, media: MediaInfo) -> float:
    """The fps filter takes its first frame at the step nearest the first timestamp."""
    first = round((media.start_seconds or 0.0) / steps.thumbnails)
    return float((first + number) * steps.thumbnails)


def flash_rate(media: MediaInfo) -> float:
    """The rate the flash cells are taken at: the source's own (a steady rate, so that a
    cell's frame number is its time)."""
    return media.frame_rate or 25.0


def flash_cells(media: MediaInfo) -> str:
    """Every frame averaged down to the flash grid's cells, as RGB (`prober.flashes`)."""
    return f"fps={flash_rate(media):g},scale={GRID}:{GRID}:flags=area,format=rgb24"


def _reference_chains(
    reference: Reference, settings: Settings, files: ContentFiles, vmaf: bool
) -> list[str]:
    # Compared frame by frame on timestamps from zero, at the reference's size.
    pairs = 3 if vmaf else 2
    distorted = "".join(f"[d{i}]" for i in range(pairs))
    originals = "".join(f"[r{i}]" for i in range(pairs))
    chains = [
        f"[vref]scale={reference.width}:{reference.height},format=yuv420p,"
        f"setpts=PTS-STARTPTS,split={pairs}{distorted}",
        f"[1:{reference.video_index}]format=yuv420p,setpts=PTS-STARTPTS,split={pairs}{originals}",
        "[d0][r0]psnr,"
        + _keep("lavfi.psnr.psnr_avg", "less", settings.number("psnrDb"))
        + ","
        + _print(files.psnr, "lavfi.psnr.psnr_avg")
        + ",nullsink",
        "[d1][r1]ssim,"
        + _keep("lavfi.ssim.All", "less", settings.number("ssim"))
        + ","
        + _print(files.ssim, "lavfi.ssim.All")
        + ",nullsink",
    ]
    if vmaf:
        chains.append("[d2][r2]libvmaf,nullsink")
    return chains


def content_command(
    ffmpeg: str,
    source: str | Path,
    media: MediaInfo,
    settings: Settings,
    files: ContentFiles,
    reference: Reference | None = None,
    vmaf: bool = False,
    pictures: PictureSteps | None = None,
) -> list[str]:
    graph, outputs = filter_graph(media, settings, files, reference, vmaf, pictures)
    # A live source has no end: read its first `liveSeconds`.
    limit = ["-t", f"{settings.number('liveSeconds'):g}"] if media.live else []
    second = input_args(reference.source) if reference else []
    maps = [arg for label in outputs for arg in ("-map", label)]
    # The flash cells go to a file of their own, raw.
    cells = (
        ["-map", f"[{FLASH_OUTPUT}]", "-f", "rawvideo", "-y", str(files.flashes)]
        if media.video_index is not None
        else []
    )
    pictures_out = (
        ["-map", f"[{THUMBNAIL_OUTPUT}]", "-c:v", "mjpeg", "-q:v", "5",
         "-f", "image2", "-start_number", "0", "-y", files.thumbnail_pattern]
        if pictures is not None and media.video_index is not None
        else []
    )  # fmt: skip
    return [
        ffmpeg, "-hide_banner", "-nostdin", "-nostats",
        # Every log line carries its level, so decoder errors can be told from the rest.
        "-loglevel", "level+info",
        "-progress", "pipe:1",
        *limit, *input_args(source), *second,
        "-filter_complex", graph,
        *maps, "-f", "null", "-", *cells, *pictures_out,
    ]  # fmt: skip


def vmaf_available(filters_listing: str) -> bool:
    """Whether `ffmpeg -filters` lists libvmaf (Debian's build has no libvmaf)."""
    return any(line.split()[1:2] == ["libvmaf"] for line in filters_listing.splitlines())
