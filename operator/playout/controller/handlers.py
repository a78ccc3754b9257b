"""kopf wiring: *when* to reconcile. What a reconcile does lives in `reconcile.py`.

Level-triggered, without finalizers or annotations on users' objects:
- every event of a Channel or ProbeJob (including the operator's own status writes, which
  then find nothing to change) reconciles it;
- every event of a child re-applies that child when it lost a field the operator sets
  (drift correction: a deleted or edited child comes back), and a Deployment's or Job's
  refreshes its owner's status (a streamer pod turning unready shows there);
- a resync loop reconciles an object again when the clock alone would change its status
  (its assessment's `recheck_at`: a stream whose reports stopped, one given up) or a
  reconcile is to be retried, and every object every RESYNC_SECONDS as a backstop. It is a
  plain task rather than a kopf timer because timers put a finalizer on every object, and a
  finalizer makes deletion hang whenever the operator is not running.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import kopf

from playout.api.common import GROUP, VERSION
from playout.clock import utc_now
from playout.controller import kinds
from playout.controller.builders.common import (
    CHANNEL_LABEL,
    COMPONENT,
    MANAGED_BY,
    MANAGER,
    PROBEJOB_LABEL,
)
from playout.controller.context import OperatorContext, OperatorOptions
from playout.controller.kube import (
    CONNECT_TIMEOUT_SECONDS,
    REQUEST_TIMEOUT_SECONDS,
    Kube,
    client,
)
from playout.controller.login import in_cluster
from playout.controller.metrics import Metrics
from playout.controller.reconcile import Body, Key, Reconciler
from playout.controller.status.observed import DeploymentState, JobState, ProberPod

# Events and rechecks carry the status; the full pass only catches what they missed.
RESYNC_SECONDS = 600.0

# Children the operator watches, by owner label. Watches are filtered server-side on
# `managed-by`, so the operator never lists every ConfigMap of the cluster.
CHANNEL_CHILDREN = (
    ("v1", "configmaps"),
    ("v1", "services"),
    ("v1", "serviceaccounts"),
    ("rbac.authorization.k8s.io/v1", "roles"),
    ("rbac.authorization.k8s.io/v1", "rolebindings"),
    ("apps/v1", "deployments"),
    ("batch/v1", "cronjobs"),
    ("networking.k8s.io/v1", "networkpolicies"),
)
PROBEJOB_CHILDREN = (
    ("v1", "configmaps"),
    ("v1", "serviceaccounts"),
    ("rbac.authorization.k8s.io/v1", "roles"),
    ("rbac.authorization.k8s.io/v1", "rolebindings"),
    ("batch/v1", "jobs"),
    ("batch/v1", "cronjobs"),
    ("networking.k8s.io/v1", "networkpolicies"),
)
# Not children (the Job makes them) but read for their termination messages: the reports.
PROBER_PODS = ("v1", "pods")
KIND_OF = {
    "configmaps": "ConfigMap",
    "services": "Service",
    "serviceaccounts": "ServiceAccount",
    "roles": "Role",
    "rolebindings": "RoleBinding",
    "deployments": "Deployment",
    "cronjobs": "CronJob",
    "jobs": "Job",
    "networkpolicies": "NetworkPolicy",
}


def configure(settings: kopf.OperatorSettings) -> None:
    """kopf set up for production (explicit, so nothing depends on kopf's defaults)."""
    settings.persistence.finalizer = f"{GROUP}/finalizer"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=GROUP, key="last-handled-configuration"
    )
    settings.networking.request_timeout = REQUEST_TIMEOUT_SECONDS
    settings.networking.connect_timeout = CONNECT_TIMEOUT_SECONDS
    # The API server ends a watch after `server_timeout`; the client gives up a little
    # later, so a silently dead connection is noticed within minutes, not hours.
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.watching.connect_timeout = 10
    settings.watching.reconnect_backoff = 1.0
    # Events only where the reconciler posts them (phase transitions), not for log lines.
    settings.posting.loggers = False
    settings.posting.level = logging.INFO
    settings.execution.max_workers = 20
    settings.batching.worker_limit = 100
    managed = f"{MANAGED_BY}={MANAGER}"
    for group_version, plural in {*CHANNEL_CHILDREN, *PROBEJOB_CHILDREN, PROBER_PODS}:
        group = group_version.rpartition("/")[0]
        settings.watching.label_selectors[group, plural] = managed


@kopf.on.login()
def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    return in_cluster(os.environ) or kopf.login_with_kubeconfig(**kwargs)


@kopf.on.startup()
async def startup(
    settings: kopf.OperatorSettings,
    memo: kopf.Memo,
    logger: logging.Logger,
    channel_bodies: kopf.Index[Key, Body],
    probejob_bodies: kopf.Index[Key, Body],
    streamer_deployments: kopf.Index[Key, DeploymentState],
    probe_jobs: kopf.Index[Key, JobState],
    prober_pods: kopf.Index[Key, ProberPod],
    **_: Any,
) -> None:
    configure(settings)
    options = OperatorOptions.of(memo)
    metrics = Metrics()
    metrics_server = await metrics.serve(options.metrics_host, options.metrics_port)
    kube = Kube(client())
    reconciler = Reconciler(kube=kube, config=options.config, metrics=metrics)
    indexes_ready = asyncio.Event()
    # Startup handlers receive the (still empty) indexes; the loop keeps the references
    # and reads them once kopf has filled them.
    resync = asyncio.create_task(
        _resync_loop(
            reconciler=reconciler,
            indexes_ready=indexes_ready,
            channels=channel_bodies,
            probejobs=probejob_bodies,
            deployments=streamer_deployments,
            jobs=probe_jobs,
            pods=prober_pods,
            logger=logger,
        )
    )
    OperatorContext(
        reconciler=reconciler,
        kube=kube,
        metrics=metrics,
        metrics_server=metrics_server,
        indexes_ready=indexes_ready,
        resync=resync,
    ).keep_on(memo)
    logger.info(f"Metrics on http://{options.metrics_host}:{options.metrics_port}/metrics")


@kopf.on.cleanup()
async def cleanup(memo: kopf.Memo, **_: Any) -> None:
    context = OperatorContext.of(memo)
    context.resync.cancel()
    await asyncio.gather(context.resync, return_exceptions=True)
    await context.kube.close()
    await context.metrics_server.cleanup()


# --- indexes: the operator's in-memory view of the cluster --------------------------------


@kopf.index(GROUP, VERSION, kinds.CHANNEL.api.plural)
def channel_bodies(body: kopf.Body, namespace: str, name: str, **_: Any) -> dict[Key, Body]:
    return {(namespace, name): copy.deepcopy(dict(body))}


@kopf.index(GROUP, VERSION, kinds.PROBEJOB.api.plural)
def probejob_bodies(body: kopf.Body, namespace: str, name: str, **_: Any) -> dict[Key, Body]:
    return {(namespace, name): copy.deepcopy(dict(body))}


@kopf.index(
    "apps", "v1", "deployments", labels={COMPONENT: "streamer", CHANNEL_LABEL: kopf.PRESENT}
)
def streamer_deployments(
    body: kopf.Body, namespace: str, labels: kopf.Labels, **_: Any
) -> dict[Key, DeploymentState]:
    return {(namespace, labels[CHANNEL_LABEL]): DeploymentState.from_manifest(dict(body))}


@kopf.index("batch", "v1", "jobs", labels={COMPONENT: "prober", PROBEJOB_LABEL: kopf.PRESENT})
def probe_jobs(
    body: kopf.Body, namespace: str, labels: kopf.Labels, **_: Any
) -> dict[Key, JobState]:
    return {(namespace, labels[PROBEJOB_LABEL]): JobState.from_manifest(dict(body))}


@kopf.index("", "v1", "pods", labels={COMPONENT: "prober", PROBEJOB_LABEL: kopf.PRESENT})
def prober_pods(
    body: kopf.Body, namespace: str, labels: kopf.Labels, **_: Any
) -> dict[Key, ProberPod]:
    """Finished prober pods only: a running one has no report yet."""
    pod = ProberPod.from_manifest(dict(body))
    return {(namespace, labels[PROBEJOB_LABEL]): pod} if pod is not None else {}


def _deployment(index: kopf.Index[Key, DeploymentState], key: Key) -> DeploymentState | None:
    return next(iter(index.get(key, [])), None)


def _latest_job(index: kopf.Index[Key, JobState], key: Key) -> JobState | None:
    return max(index.get(key, []), key=lambda job: (job.created, job.name), default=None)


def _pods(index: kopf.Index[Key, ProberPod], key: Key) -> list[ProberPod]:
    return list(index.get(key, []))


async def _reconcile_probejob(
    reconciler: Reconciler,
    body: Body,
    *,
    key: Key,
    jobs: kopf.Index[Key, JobState],
    pods: kopf.Index[Key, ProberPod],
    logger: logging.Logger,
) -> None:
    """A ProbeJob's reconcile, with what the indexes know of its latest run and pods."""
    await reconciler.reconcile_probejob(
        body, job=_latest_job(jobs, key), pods=_pods(pods, key), logger=logger
    )


def _owner(index: kopf.Index[Key, Body], key: Key) -> Body | None:
    """The owner of a child, unless it is gone or going (garbage collection then handles
    the child)."""
    parent = _body(index, key)
    if parent is None or parent["metadata"].get("deletionTimestamp"):
        return None
    return parent


def _body(index: kopf.Index[Key, Body], key: Key) -> Body | None:
    return next(iter(index.get(key, [])), None)


# --- triggers ---------------------------------------------------------------------------


@kopf.on.event(GROUP, VERSION, kinds.CHANNEL.api.plural)
async def channel_event(
    event: kopf.RawEvent,
    memo: kopf.Memo,
    streamer_deployments: kopf.Index[Key, DeploymentState],
    logger: logging.Logger,
    **_: Any,
) -> None:
    context = OperatorContext.of(memo)
    context.indexes_ready.set()
    body: Body = dict(event["object"])
    meta = body["metadata"]
    if event["type"] == "DELETED":
        context.reconciler.forget(meta["uid"])
        return
    key = (meta["namespace"], meta["name"])
    await context.reconciler.reconcile_channel(
        body, deployment=_deployment(streamer_deployments, key), logger=logger
    )


@kopf.on.event(GROUP, VERSION, kinds.PROBEJOB.api.plural)
async def probejob_event(
    event: kopf.RawEvent,
    memo: kopf.Memo,
    probe_jobs: kopf.Index[Key, JobState],
    prober_pods: kopf.Index[Key, ProberPod],
    logger: logging.Logger,
    **_: Any,
) -> None:
    context = OperatorContext.of(memo)
    context.indexes_ready.set()
    body: Body = dict(event["object"])
    meta = body["metadata"]
    if event["type"] == "DELETED":
        context.reconciler.forget(meta["uid"])
        return
    key = (meta["namespace"], meta["name"])
    await _reconcile_probejob(
        context.reconciler, body, key=key, jobs=probe_jobs, pods=prober_pods, logger=logger
    )


def _live(event: kopf.RawEvent) -> Body | None:
    """The child as the event shows it; None when it is gone."""
    return None if event["type"] == "DELETED" else dict(event["object"])


async def channel_child_event(
    event: kopf.RawEvent,
    name: str,
    resource: kopf.Resource,
    namespace: str,
    labels: kopf.Labels,
    memo: kopf.Memo,
    channel_bodies: kopf.Index[Key, Body],
    streamer_deployments: kopf.Index[Key, DeploymentState],
    logger: logging.Logger,
    **_: Any,
) -> None:
    key = (namespace, labels[CHANNEL_LABEL])
    parent = _owner(channel_bodies, key)
    if parent is None:
        return
    reconciler = OperatorContext.of(memo).reconciler
    await reconciler.reapply_channel_child(
        parent, child_kind=KIND_OF[resource.plural], name=name, live=_live(event), logger=logger
    )
    if resource.plural == "deployments":
        await reconciler.reconcile_channel(
            parent, deployment=_deployment(streamer_deployments, key), logger=logger
        )


async def probejob_child_event(
    event: kopf.RawEvent,
    name: str,
    resource: kopf.Resource,
    namespace: str,
    labels: kopf.Labels,
    memo: kopf.Memo,
    probejob_bodies: kopf.Index[Key, Body],
    probe_jobs: kopf.Index[Key, JobState],
    prober_pods: kopf.Index[Key, ProberPod],
    logger: logging.Logger,
    **_: Any,
) -> None:
    key = (namespace, labels[PROBEJOB_LABEL])
    parent = _owner(probejob_bodies, key)
    if parent is None:
        return
    reconciler = OperatorContext.of(memo).reconciler
    await reconciler.reapply_probejob_child(
        parent, child_kind=KIND_OF[resource.plural], name=name, live=_live(event), logger=logger
    )
    if resource.plural == "jobs":
        await _reconcile_probejob(
            reconciler, parent, key=key, jobs=probe_jobs, pods=prober_pods, logger=logger
        )


@kopf.on.event("", "v1", "pods", labels={COMPONENT: "prober", PROBEJOB_LABEL: kopf.PRESENT})
async def prober_pod_event(
    labels: kopf.Labels,
    namespace: str,
    memo: kopf.Memo,
    probejob_bodies: kopf.Index[Key, Body],
    probe_jobs: kopf.Index[Key, JobState],
    prober_pods: kopf.Index[Key, ProberPod],
    logger: logging.Logger,
    **_: Any,
) -> None:
    """A prober pod finished (or changed): its report may have arrived."""
    key = (namespace, labels[PROBEJOB_LABEL])
    parent = _owner(probejob_bodies, key)
    if parent is None:
        return
    await _reconcile_probejob(
        OperatorContext.of(memo).reconciler,
        parent,
        key=key,
        jobs=probe_jobs,
        pods=prober_pods,
        logger=logger,
    )


def _register(
    handler: Callable[..., Awaitable[None]],
    children: Iterable[tuple[str, str]],
    owner_label: str,
) -> None:
    for group_version, plural in children:
        kopf.on.event(
            group_version,
            plural,
            labels={MANAGED_BY: MANAGER, owner_label: kopf.PRESENT},
            id=f"{handler.__name__}/{plural}",
        )(handler)


_register(channel_child_event, CHANNEL_CHILDREN, CHANNEL_LABEL)
_register(probejob_child_event, PROBEJOB_CHILDREN, PROBEJOB_LABEL)


async def _resync_loop(
    *,
    reconciler: Reconciler,
    indexes_ready: asyncio.Event,
    channels: kopf.Index[Key, Body],
    probejobs: kopf.Index[Key, Body],
    deployments: kopf.Index[Key, DeploymentState],
    jobs: kopf.Index[Key, JobState],
    pods: kopf.Index[Key, ProberPod],
    logger: logging.Logger,
) -> None:
    """Sleeps until the next recheck is due (or one sooner is set), reconciles what is due,
    and every RESYNC_SECONDS reconciles everything."""

    async def channel(key: Key) -> None:
        body = _body(channels, key)
        if body is not None:
            await _guarded(
                reconciler.reconcile_channel(
                    body, deployment=_deployment(deployments, key), logger=logger
                ),
                logger,
            )

    async def probejob(key: Key) -> None:
        body = _body(probejobs, key)
        if body is not None:
            await _guarded(
                _reconcile_probejob(reconciler, body, key=key, jobs=jobs, pods=pods, logger=logger),
                logger,
            )

    await indexes_ready.wait()
    full_pass_at = time.monotonic() + RESYNC_SECONDS
    while True:
        reconciler.rechecks_changed.clear()
        wait = full_pass_at - time.monotonic()
        due = reconciler.next_recheck()
        if due is not None:
            wait = min(wait, (due - utc_now()).total_seconds())
        if wait > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(reconciler.rechecks_changed.wait(), timeout=wait)
        if time.monotonic() >= full_pass_at:
            full_pass_at = time.monotonic() + RESYNC_SECONDS
            for key in list(channels):
                await channel(key)
            for key in list(probejobs):
                await probejob(key)
            continue
        for recheck in reconciler.due_rechecks(utc_now()):
            await (channel if recheck.kind is kinds.CHANNEL else probejob)(recheck.key)


async def _guarded(reconcile: Awaitable[None], logger: logging.Logger) -> None:
    try:
        await reconcile
    except Exception:
        logger.exception("Resync failed; retrying at the next one")
