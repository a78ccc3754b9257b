"""The `playout` command: the same code the images run, usable without a cluster."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TextIO

import click

from playout import __version__, logs


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="playout")
@click.option(
    "--log-level",
    type=click.Choice(logs.LEVELS),
    default="info",
    show_default=True,
    envvar="PLAYOUT_LOG_LEVEL",
    help="Least severe messages to log.",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    envvar="PLAYOUT_LOG_FORMAT",
    help="text for people, json (one object per line) for log pipelines.",
)
def main(log_level: str, log_format: logs.LogFormat) -> None:
    """playout: 24/7 linear TV channels and media quality checks on Kubernetes."""
    logs.setup(log_level, log_format)


@main.command()
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write one file per CRD here instead of printing them.",
)
@click.option("--check", is_flag=True, help="With --output-dir: fail if the files differ.")
@click.option(
    "--chart",
    is_flag=True,
    help="As templates of the Helm chart (charts/playout/templates/crds), gated by crds.enabled.",
)
def crds(output_dir: Path | None, check: bool, chart: bool) -> None:
    """Print the CRDs generated from the API models."""
    from playout.api.crd import chart_crd_files, crd_files

    files = chart_crd_files() if chart else crd_files()
    if output_dir is None:
        click.echo("---\n".join(files.values()), nl=False)
        return
    stale = [name for name, text in files.items() if _read(output_dir / name) != text]
    if check:
        if stale:
            raise click.ClickException(
                f"{', '.join(stale)} in {output_dir} differ from the API models; "
                "run `make crds` and commit the result"
            )
        return
    output_dir.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (output_dir / name).write_text(text)
    click.echo(f"Wrote {len(files)} CRDs to {output_dir} ({len(stale)} changed)")


def _read(path: Path) -> str | None:
    return path.read_text() if path.exists() else None


# kopf's namespace patterns: globs ('tv-*'), negations ('!tv-test'), lists ('a,b').
_NAMESPACE_PATTERN_CHARACTERS = "*?[!,"


@main.command(context_settings={"show_default": True})
@click.option(
    "-n",
    "--namespace",
    "namespaces",
    multiple=True,
    help="Watch this namespace (repeatable; globs like 'tv-*' allowed). Default: all.",
)
@click.option("-A", "--all-namespaces", is_flag=True, help="Watch every namespace.")
@click.option(
    "--peering",
    default=None,
    help="Run with kopf peering under this name (several replicas, one active). "
    "Default: standalone, for the chart's single replica.",
)
@click.option("--priority", type=int, default=0, help="Peering priority of this replica.")
@click.option(
    "--liveness",
    default="http://0.0.0.0:8080/healthz",
    help="URL of the liveness endpoint kopf serves ('' to disable).",
)
@click.option("--metrics-host", default="0.0.0.0", help="Address of the /metrics endpoint.")  # noqa: S104
@click.option("--metrics-port", type=int, default=9090, help="Port of the /metrics endpoint.")
def operator(
    namespaces: tuple[str, ...],
    all_namespaces: bool,
    peering: str | None,
    priority: int,
    liveness: str,
    metrics_host: str,
    metrics_port: int,
) -> None:
    """Run the operator against the current kubeconfig (or in-cluster credentials)."""
    import kopf

    import playout.controller.handlers  # noqa: F401 (registers the handlers)
    from playout.controller.config import OperatorConfig
    from playout.controller.context import OperatorOptions

    if namespaces and all_namespaces:
        raise click.UsageError("give either --namespace or --all-namespaces, not both")
    try:
        config = OperatorConfig.from_env()
    except ValueError as error:  # before kopf starts, which would only log and retry
        raise click.ClickException(str(error)) from None
    settings = kopf.OperatorSettings()
    # Exact namespaces need no discovery of namespaces and CRDs, which a namespaced install
    # has no RBAC for: kopf would retry the refusals for a minute before it starts.
    settings.scanning.disabled = bool(namespaces) and not any(
        set(pattern) & set(_NAMESPACE_PATTERN_CHARACTERS) for pattern in namespaces
    )
    kopf.run(
        settings=settings,
        clusterwide=not namespaces,
        namespaces=namespaces,
        standalone=peering is None,
        peering_name=peering,
        priority=priority,
        liveness_endpoint=liveness or None,
        memo=OperatorOptions(
            metrics_host=metrics_host, metrics_port=metrics_port, config=config
        ).memo(),
    )


def _default_state_dir(name: str) -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "playout" / name


@main.command(context_settings={"show_default": True})
@click.argument("channel_file", metavar="CHANNEL.yaml", type=click.File("r"))
@click.option(
    "--media-root",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="The folder that the Channel's paths are relative to.",
)
@click.option("--port", type=int, default=8080, help="HTTP port of the stream and player.")
@click.option("--host", default="127.0.0.1", help="Address to listen on (0.0.0.0 in a pod).")
@click.option(
    "--state",
    "state_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where segments and the resume state live. Default: ~/.local/state/playout/NAME.",
)
def run(
    channel_file: TextIO, media_root: Path, port: int, host: str, state_dir: Path | None
) -> None:
    """Play a Channel as a live HLS stream, without a cluster."""
    import asyncio

    import yaml
    from pydantic import ValidationError

    from playout.api.channel import Channel
    from playout.api.common import explain
    from playout.streamer.run import serve

    try:
        channel = Channel.model_validate(yaml.safe_load(channel_file))
    except ValidationError as error:
        raise click.ClickException(f"{channel_file.name}: {explain(error)}") from error
    except yaml.YAMLError as error:
        raise click.ClickException(f"{channel_file.name} is not valid YAML: {error}") from error
    state = state_dir or _default_state_dir(channel.metadata.name)
    asyncio.run(serve(channel, media_root.resolve(), state, host, port))


@main.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option(
    "--older-than",
    type=click.FloatRange(min=60),
    required=True,
    metavar="SECONDS",
    help="Remove segment files not modified for this long.",
)
def sweep(directory: Path, older_than: float) -> None:
    """Remove segments a crashed engine left in DIRECTORY (the cleanup CronJob's job)."""
    from playout.streamer.sweep import sweep as sweep_directory

    sweep_directory(directory, older_than)


@main.command(context_settings={"show_default": True})
@click.argument("source")
@click.option(
    "--profile",
    type=click.Choice(["quick", "standard", "broadcast"]),
    default="standard",
    help="quick: metadata and GOP; standard: also every content check in one decode; "
    "broadcast: standard held to EBU R128 (-23 LUFS ± 1, true peak <= -1 dBTP).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=600,
    metavar="SECONDS",
    help="Wall-clock limit of the whole probe: ffmpeg and ffprobe are killed when it passes.",
)
@click.option(
    "--threshold",
    "thresholds",
    multiple=True,
    metavar="NAME=VALUE",
    help="Override a threshold (repeatable), e.g. blackSeconds=2. "
    "`kubectl explain probejob.spec.thresholds` lists them.",
)
@click.option(
    "--require-layout",
    "audio_layouts",
    multiple=True,
    metavar="LAYOUT",
    help="Every audio track must have this channel layout or another given one "
    "(repeatable), as ffprobe names them: mono, stereo, 5.1...",
)
@click.option(
    "--require-captions",
    is_flag=True,
    help="The video must carry CEA-608/708 closed captions (checked by decoding).",
)
@click.option(
    "--reference",
    type=click.Path(exists=True, dir_okay=False),
    help="The original to compare against: PSNR and SSIM (and VMAF where ffmpeg has libvmaf).",
)
@click.option(
    "--termination-log",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="PLAYOUT_TERMINATION_LOG",
    help="Also write the report, trimmed to 4096 bytes, to this file (how a probe Job "
    "reports). Then the exit code is 0 whenever a report was written.",
)
@click.option(
    "--allow-private-addresses",
    is_flag=True,
    help="Let a URL (and its redirects and playlist entries) lead to private, loopback and "
    "link-local addresses. Without it only public addresses are probed; cloud metadata "
    "addresses never are.",
)
@click.option(
    "--folder",
    "is_folder",
    is_flag=True,
    help="SOURCE is a folder, even when it is missing (which then fails) or names a file "
    "(a library of one). Without it, SOURCE is a folder when it is one.",
)
@click.option("--recursive", is_flag=True, help="With a folder: also the files in its subfolders.")
@click.option(
    "--shard",
    type=click.IntRange(min=0),
    default=0,
    envvar="JOB_COMPLETION_INDEX",
    help="With a folder: probe only this shard of its files (an Indexed Job's pod index).",
)
@click.option(
    "--shards",
    type=click.IntRange(min=1),
    default=1,
    help="With a folder: how many shards its files are dealt into (every N-th file).",
)
@click.option(
    "--earlier",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="With a folder: an earlier run's `--json` report; files whose size and "
    "modification time are unchanged are carried over, not probed again.",
)
@click.option(
    "--report-config-map",
    "config_maps",
    multiple=True,
    metavar="NAME",
    help="In a probe Job: keep the whole report in these ConfigMaps (one per shard, in "
    "shard order; this shard writes its own).",
)
@click.option(
    "--incremental",
    is_flag=True,
    help="In a probe Job of a folder: carry over the results the report ConfigMaps hold "
    "of files that did not change.",
)
@click.option(
    "--namespace",
    envvar="POD_NAMESPACE",
    default="default",
    help="The namespace of the report ConfigMaps.",
)
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Also write the report as a web page that opens offline: the checks, the loudness "
    "graph, where the events are and a picture of each (for a folder, a sortable table of "
    "its files).",
)
def probe(
    source: str,
    profile: str,
    as_json: bool,
    timeout: float,
    thresholds: tuple[str, ...],
    audio_layouts: tuple[str, ...],
    require_captions: bool,
    reference: str | None,
    termination_log: Path | None,
    allow_private_addresses: bool,
    is_folder: bool,
    recursive: bool,
    shard: int,
    shards: int,
    earlier: Path | None,
    config_maps: tuple[str, ...],
    incremental: bool,
    namespace: str,
    html_path: Path | None,
) -> None:
    """Check SOURCE (a file, a folder of them, an http(s) URL or an HLS playlist): what it
    is, and whether it is fit to air, with a pass/warn/fail status per check (per file for a
    folder).

    Exit code: 0 for a pass or warn verdict, 1 for fail, 2 for a usage error."""
    import asyncio

    from pydantic import ValidationError

    from playout.api.probejob import (
        LibraryReport,
        ProbeProfile,
        ProbeReport,
        ProbeRequirements,
        Verdict,
    )
    from playout.prober.catalogue import ThresholdError, parse_override
    from playout.prober.engine import ProbeRequest
    from playout.prober.html import library_page, report_page
    from playout.prober.report import human, human_library, plain, to_json
    from playout.prober.run import Keeping, run_library, run_single

    try:
        overrides = dict(parse_override(text) for text in thresholds)
    except ThresholdError as error:
        raise click.BadParameter(str(error), param_hint="--threshold") from error
    try:
        require = ProbeRequirements(audio_layouts=list(audio_layouts), captions=require_captions)
    except ValidationError as error:
        raise click.BadParameter(
            "; ".join(problem["msg"].removeprefix("Value error, ") for problem in error.errors()),
            param_hint="--require-layout",
        ) from error
    if shard >= shards:
        raise click.BadParameter(
            f"shard {shard} is not one of the {shards} shards (0 to {shards - 1})",
            param_hint="--shard",
        )
    if config_maps and len(config_maps) != shards:
        raise click.BadParameter(
            f"give one ConfigMap per shard: {shards} shards, {len(config_maps)} ConfigMaps",
            param_hint="--report-config-map",
        )
    request = ProbeRequest(
        source,
        ProbeProfile(profile),
        overrides,
        timeout,
        reference,
        allow_private_addresses=allow_private_addresses,
        # A probe Job's report ConfigMap keeps them for `kubectl playout report -o html`.
        pictures=html_path is not None or bool(config_maps),
        require=require if require.any else None,
    )
    keeping = (
        Keeping(namespace=namespace, config_maps=config_maps, incremental=incremental)
        if config_maps
        else None
    )
    report: LibraryReport | ProbeReport
    earlier_report = None
    if earlier is not None:
        try:
            earlier_report = LibraryReport.model_validate_json(earlier.read_bytes())
        except ValueError as error:
            raise click.BadParameter(
                f"{earlier} is not a folder's `--json` report: {error}", param_hint="--earlier"
            ) from error
    if is_folder or Path(source).is_dir():
        report, message = asyncio.run(
            run_library(
                request,
                recursive=recursive,
                shard=shard,
                shards=shards,
                earlier_report=earlier_report,
                keeping=keeping,
            )
        )
        click.echo(to_json(report) if as_json else human_library(report))
    else:
        report, message = asyncio.run(run_single(request, keeping))
        click.echo(to_json(plain(report)) if as_json else human(report, source, profile))
    if html_path is not None:
        page = (
            library_page(report)
            if isinstance(report, LibraryReport)
            else report_page(report, source=source, profile=profile)
        )
        html_path.write_text(page, encoding="utf-8")
    if termination_log is not None:
        termination_log.write_text(message, encoding="utf-8")
        return  # the verdict travels in the report; a failing exit would retry the Job
    if report.verdict == Verdict.FAIL:
        sys.exit(1)


if __name__ == "__main__":
    sys.exit(main())
