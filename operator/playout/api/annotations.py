"""Annotations on a Channel that ask for an action, the contract between `kubectl playout`
(which sets them), the operator and the streamer engine (which act on them). They are on
the Channel's metadata, not its spec: a request, not desired state, so `generation` does
not move and GitOps tools that compare the spec see no drift. Pure."""

from __future__ import annotations

from datetime import datetime

from playout.clock import parse_rfc3339

RESTARTED_AT = "playout.dev/restartedAt"
"""RFC 3339 time of the latest restart asked for. The operator copies it into the pod
template of the channel's Deployment on every reconcile (as `kubectl rollout restart`
does), so a new value rolls the pipelines and a reconcile never takes it back."""

SKIP = "playout.dev/skip"
"""RFC 3339 time of a request to end the entry on air. The engine acts on each value once:
it ends the entry that was on air at that time, if it is still on air."""


def request_time(value: str | None) -> datetime | None:
    """The time of a request annotation; None when absent or not an RFC 3339 time with a
    zone (a hand-written value the engine cannot place is ignored, and logged)."""
    if not value:
        return None
    try:
        moment = parse_rfc3339(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None
