"""The operator benchmark's baseline: a kopf operator that watches what playout watches
(Channels, ProbeJobs and the kinds of their children) and does nothing with them. What it
costs in memory and API requests is what kopf itself costs at that many objects.

Usage (bench/operator.py runs it): python -m bench.noop_operator NAMESPACE LIVENESS_URL"""

from __future__ import annotations

import sys
from typing import Any

import kopf

from playout.api.common import GROUP, VERSION

# Importing the handlers registers playout's own in kopf's default registry; the baseline
# runs on a registry of its own and only borrows the list of child kinds.
from playout.controller.handlers import CHANNEL_CHILDREN, PROBEJOB_CHILDREN

REGISTRY = kopf.OperatorRegistry()


def _ignore(**_: Any) -> None:
    return None


kopf.on.login(registry=REGISTRY)(kopf.login_with_kubeconfig)
for _plural in ("channels", "probejobs"):
    kopf.on.event(GROUP, VERSION, _plural, registry=REGISTRY)(_ignore)
for _group_version, _plural in {*CHANNEL_CHILDREN, *PROBEJOB_CHILDREN}:
    kopf.on.event(_group_version, _plural, registry=REGISTRY)(_ignore)


if __name__ == "__main__":
    namespace, liveness = sys.argv[1:3]
    kopf.run(registry=REGISTRY, standalone=True, namespaces=[namespace], liveness_endpoint=liveness)
