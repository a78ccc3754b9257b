"""The `playout` command: the same code the images run, usable without a cluster."""

from __future__ import annotations

import sys
from pathlib import Path

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
def crds(output_dir: Path | None, check: bool) -> None:
    """Print the CRDs generated from the API models."""
    from playout.api.crd import crd_files

    files = crd_files()
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
    from playout.controller.metrics import Metrics

    if namespaces and all_namespaces:
        raise click.UsageError("give either --namespace or --all-namespaces, not both")
    kopf.run(
        clusterwide=not namespaces,
        namespaces=namespaces,
        standalone=peering is None,
        peering_name=peering,
        priority=priority,
        liveness_endpoint=liveness or None,
        memo=kopf.Memo(metrics=Metrics(), metrics_host=metrics_host, metrics_port=metrics_port),
    )


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


if __name__ == "__main__":
    sys.exit(main())
