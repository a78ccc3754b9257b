"""`kubectl playout`: the tasks channel operators do every day, through the API server with
the user's own kubeconfig and rights (docs/architecture.md lists the Role each needs).
kubectl runs `kubectl-playout` from PATH and passes it the arguments, not its own flags,
so the plugin takes --kubeconfig, --context and -n itself. Thin: what is printed is
`views`', the formats read are their owners' (the report ConfigMaps: `prober.library`;
the timeline ConfigMap: `streamer.report` and `streamer.state`)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, tzinfo
from functools import cached_property
from typing import Any, NoReturn

import click
import httpx2
from lightkube import ApiError, Client, KubeConfig
from lightkube.config import client_adapter
from lightkube.config.kubeconfig import SingleConfig
from lightkube.core.exceptions import ConfigError
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import ConfigMap
from lightkube.types import PatchType
from pydantic import ValidationError

from playout import __version__
from playout.api.annotations import RESTARTED_AT, SKIP
from playout.api.channel import ChannelStatus
from playout.api.common import explain
from playout.api.probejob import LibraryReport, ProbeJob, ProbeJobStatus, ProbeReport
from playout.api.resources import ChannelResource, ProbeJobResource
from playout.clock import rfc3339, utc_now
from playout.controller.builders.channel import SERVICE_PORT, ChannelNames
from playout.controller.builders.probejob import ProbeJobNames
from playout.kubectl import views
from playout.prober.html import library_page, report_page
from playout.prober.library import REPORT_KEY, merged, unpack, unpack_single
from playout.prober.report import to_json
from playout.streamer import timeline
from playout.streamer.report import unpack_timeline
from playout.streamer.state import parse_timeline

FIELD_MANAGER = "kubectl-playout"
_TIMEOUT = httpx2.Timeout(30.0)


def fail(message: str) -> NoReturn:
    raise click.ClickException(message)


class Session:
    """The user's cluster, as their kubeconfig says (read when a command first needs it,
    so `--help` works without one), and how to print for them."""

    def __init__(self, *, kubeconfig: str | None, context: str | None, namespace: str | None):
        self._kubeconfig, self._context, self._namespace = kubeconfig, context, namespace
        self.paint = views.Palette(
            views.colour_wanted(terminal=sys.stdout.isatty(), environ=os.environ)
        )
        self.zone = _local_zone()

    @cached_property
    def config(self) -> SingleConfig:
        try:
            # Only the first file of a KUBECONFIG list: lightkube reads one.
            path = self._kubeconfig.split(os.pathsep)[0] if self._kubeconfig else None
            loaded = KubeConfig.from_file(path) if path else KubeConfig.from_env()
            config = loaded.get(context_name=self._context)
        except ConfigError as error:
            fail(f"kubeconfig: {error}")
        if config is None:
            fail("kubeconfig: no context to use (set current-context, or pass --context)")
        return config

    @property
    def namespace(self) -> str:
        return self._namespace or self.config.namespace

    @cached_property
    def client(self) -> Client:
        return Client(
            self.config, namespace=self.namespace, timeout=_TIMEOUT, field_manager=FIELD_MANAGER
        )


def _local_zone() -> tzinfo:
    """Times are shown in the terminal's zone (TZ), as `date` shows them."""
    return datetime.now().astimezone().tzinfo or UTC


@contextmanager
def api(what: str) -> Iterator[None]:
    """API errors as one line naming what was asked and what the server said."""
    try:
        yield
    except ApiError as error:
        fail(f"{what}: {error.status.message}{_hint(error.status.code)}")
    except httpx2.TransportError as error:
        fail(f"{what}: cannot reach the API server: {error}")


def _hint(code: int | None) -> str:
    if code == 403:
        return " (the Role a user needs: examples/kubectl-playout-role.yaml)"
    return ""


pass_session = click.make_pass_decorator(Session)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="kubectl-playout")
@click.option(
    "--kubeconfig",
    type=click.Path(dir_okay=False),
    envvar="KUBECONFIG",
    help="The kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).",
)
@click.option("--context", help="The kubeconfig context to use.")
@click.option("-n", "--namespace", help="The namespace (default: the context's).")
@click.pass_context
def main(
    ctx: click.Context, kubeconfig: str | None, context: str | None, namespace: str | None
) -> None:
    """kubectl playout: what is on air, the guide, the as-run log and probe reports of
    playout channels; skip the item on air, restart a channel's pipelines."""
    ctx.obj = Session(kubeconfig=kubeconfig, context=context, namespace=namespace)


# --- status -----------------------------------------------------------------------------


def _channel_probes(client: Client, namespace: str) -> dict[str, list[views.ProbeVerdict]]:
    """ProbeJobs whose source is a channel (`channelRef`), by channel."""
    found: dict[str, list[views.ProbeVerdict]] = {}
    with api(f"list probejobs in {namespace}"):
        for probe in client.list(ProbeJobResource, namespace=namespace):
            body = dict(probe)
            reference = ((body.get("spec") or {}).get("source") or {}).get("channelRef") or {}
            if reference.get("name"):
                status = ProbeJobStatus.model_validate(body.get("status") or {})
                name = body["metadata"]["name"]
                found.setdefault(reference["name"], []).append(views.ProbeVerdict(name, status))
    return found


def _pipelines(client: Client, name: str, namespace: str) -> views.Pipelines | None:
    """The channel's Deployment; None where the user may not read it, or it is not there."""
    try:
        deployment = client.get(Deployment, ChannelNames(name).deployment, namespace=namespace)
    except ApiError:
        return None
    desired = (
        deployment.spec.replicas if deployment.spec and deployment.spec.replicas is not None else 1
    )
    ready = (deployment.status.readyReplicas if deployment.status else None) or 0
    return views.Pipelines(desired=desired, ready=ready)


def _status_of(body: dict[str, Any]) -> ChannelStatus:
    # The status alone: a spec the models would refuse (shown as Stalled) still shows.
    return ChannelStatus.model_validate(body.get("status") or {})


@main.command()
@click.argument("channel", required=False)
@pass_session
def status(session: Session, channel: str | None) -> None:
    """What is on air and next, pipelines, drift, skipped items and the latest probe
    verdict of CHANNEL; without CHANNEL, one line per channel of the namespace."""
    client, namespace, now = session.client, session.namespace, utc_now()
    probes = _channel_probes(client, namespace)
    if channel is None:
        with api(f"list channels in {namespace}"):
            bodies = [dict(found) for found in client.list(ChannelResource, namespace=namespace)]
        if not bodies:
            click.echo(f"No channels in namespace {namespace}.")
            return
        rows = sorted((body["metadata"]["name"], _status_of(body)) for body in bodies)
        click.echo(
            views.channels_view(
                rows, probes=probes, paint=session.paint, zone=session.zone, now=now
            )
        )
        return
    with api(f"get channel {channel} in {namespace}"):
        body = dict(client.get(ChannelResource, channel, namespace=namespace))
    click.echo(
        views.status_view(
            channel,
            _status_of(body),
            pipelines=_pipelines(client, channel, namespace),
            probes=probes.get(channel, []),
            paint=session.paint,
            zone=session.zone,
            now=now,
        )
    )


# --- reports ----------------------------------------------------------------------------


def _report_data(client: Client, name: str, namespace: str) -> str | None:
    try:
        found = client.get(ConfigMap, name, namespace=namespace)
    except ApiError as error:
        if error.status.code == 404:
            return None
        raise
    return (found.binaryData or {}).get(REPORT_KEY)


@main.command()
@click.argument("probejob")
@click.option(
    "-o",
    "--output",
    type=click.Choice(["text", "json", "html"]),
    default="text",
    show_default=True,
    help="html: a page that opens offline, with the loudness graph, where each problem is "
    "and a picture of it (a library: a sortable table of its files).",
)
@pass_session
def report(session: Session, probejob: str, output: str) -> None:
    """The whole report of PROBEJOB, from its report ConfigMaps: a library's shards
    together, every file, worst first. `-o html > report.html` for the web page."""
    client, namespace = session.client, session.namespace
    with api(f"get probejob {probejob} in {namespace}"):
        body = dict(client.get(ProbeJobResource, probejob, namespace=namespace))
    try:
        probe = ProbeJob.model_validate(body)
    except ValidationError as error:
        fail(f"probejob {probejob} has no report: its spec is refused, {explain(error)}")
    shards = probe.spec.shards
    names = ProbeJobNames(probejob).report_config_maps(shards)
    with api(f"get the report ConfigMaps of {probejob}"):
        packed = {config_map: _report_data(client, config_map, namespace) for config_map in names}
    found: LibraryReport | ProbeReport | None
    if probe.spec.source.is_folder:
        shard_reports = [
            r for r in (unpack(data) for data in packed.values() if data) if r is not None
        ]
        found = merged(shard_reports, expected=shards) if shard_reports else None
    else:
        data = packed[names[0]]
        found = unpack_single(data) if data else None
    if found is None:
        phase = probe.status.phase.value if probe.status.phase else "Pending"
        fail(
            f"probejob {probejob} has no report yet (phase {phase}); it is written into "
            f"ConfigMap {', '.join(names)} when the probe ends"
        )
    if output == "json":
        click.echo(to_json(found))
    elif output == "html":
        click.echo(
            library_page(found)
            if isinstance(found, LibraryReport)
            else report_page(found, source=probejob, profile=probe.spec.profile.value),
            nl=False,
        )
    elif isinstance(found, LibraryReport):
        click.echo(views.library_view(probejob, found, paint=session.paint))
    else:
        click.echo(views.report_view(probejob, found, paint=session.paint))


# --- the guide and the as-run log -------------------------------------------------------


@main.command()
@click.argument("channel")
@click.option(
    "--hours",
    type=click.FloatRange(min=0, min_open=True),
    default=6,
    show_default=True,
    help="How far ahead.",
)
@pass_session
def guide(session: Session, channel: str, hours: float) -> None:
    """What airs on CHANNEL from now, from the timeline its engine publishes."""
    client, namespace = session.client, session.namespace
    name = ChannelNames(channel).timeline
    with api(f"get the timeline ConfigMap {name} of channel {channel}"):
        found = client.get(ConfigMap, name, namespace=namespace)
    document = unpack_timeline(found.binaryData)
    saved = parse_timeline(document) if document is not None else None
    if saved is None:
        fail(f"channel {channel} has not published its timeline yet (ConfigMap {name} is empty)")
    programmes = timeline.programmes(saved.entries)
    click.echo(
        views.guide_view(
            programmes, now=utc_now(), hours=hours, paint=session.paint, zone=session.zone
        )
    )


@main.command()
@click.argument("channel")
@click.option(
    "--limit", type=click.IntRange(min=1), default=50, show_default=True, help="The latest records."
)
@click.option(
    "-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@pass_session
def asrun(session: Session, channel: str, limit: int, output: str) -> None:
    """What CHANNEL actually aired, and when: its engine's as-run log, through the API
    server's proxy to the channel's Service (the user needs `get` on services/proxy)."""
    service = ChannelNames(channel).service
    path = f"/api/v1/namespaces/{session.namespace}/services/{service}:{SERVICE_PORT}/proxy/asrun"
    what = f"get the as-run log of channel {channel} (service {service})"
    try:
        with client_adapter.Client(
            session.config, client_adapter.ConnectionParams(timeout=_TIMEOUT)
        ) as http:
            response = http.get(path, params={"limit": limit})
    except httpx2.TransportError as error:
        fail(f"{what}: cannot reach the API server: {error}")
    if response.status_code != 200:
        fail(f"{what}: {response.status_code} {_message(response)}{_hint(response.status_code)}")
    lines = [line for line in response.text.splitlines() if line.strip()]
    if output == "json":
        click.echo("\n".join(lines))
        return
    records = [json.loads(line) for line in lines]
    click.echo(views.asrun_view(records, paint=session.paint, zone=session.zone, now=utc_now()))


def _message(response: httpx2.Response) -> str:
    """The API server's Status message, or the start of what the engine said."""
    try:
        return str(response.json().get("message", ""))
    except ValueError:
        return response.text[:200].strip()


# --- actions ----------------------------------------------------------------------------


def _annotate(session: Session, channel: str, key: str) -> str:
    value = rfc3339(utc_now(), timespec="milliseconds")
    with api(f"annotate channel {channel} in {session.namespace}"):
        session.client.patch(
            ChannelResource,
            channel,
            {"metadata": {"annotations": {key: value}}},
            namespace=session.namespace,
            patch_type=PatchType.MERGE,
        )
    return value


@main.command()
@click.argument("channel")
@pass_session
def skip(session: Session, channel: str) -> None:
    """End the entry on air on CHANNEL now (the as-run log records it). A lineup moves up;
    a scheduled channel keeps its times and fills the rest of the entry's time."""
    value = _annotate(session, channel, SKIP)
    click.echo(f"channel/{channel} asked to skip the entry on air ({SKIP}={value})")


@main.command()
@click.argument("channel")
@pass_session
def restart(session: Session, channel: str) -> None:
    """Restart CHANNEL's pipelines, as `kubectl rollout restart` does (the operator rolls
    them; the channel resumes where it was)."""
    value = _annotate(session, channel, RESTARTED_AT)
    click.echo(f"channel/{channel} restarting ({RESTARTED_AT}={value})")
