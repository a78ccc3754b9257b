"""What kopf's handlers share, typed. kopf offers one channel into every handler, its
`memo`; the options `playout operator` passes and the context `startup` makes travel on it,
each put there once and read back only through these classes."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TypeVar

import kopf
from aiohttp import web

from playout.controller.config import OperatorConfig
from playout.controller.kube import Kube
from playout.controller.metrics import Metrics
from playout.controller.reconcile import Reconciler

T = TypeVar("T")

_OPTIONS = "options"
_CONTEXT = "context"


@dataclass(frozen=True, kw_only=True)
class OperatorOptions:
    """What `playout operator` hands the handlers."""

    metrics_host: str
    metrics_port: int
    config: OperatorConfig
    """Read from the environment before kopf starts, so a bad value stops it at once."""

    def memo(self) -> kopf.Memo:
        """The memo for `kopf.run`, which carries these options to `startup`."""
        return kopf.Memo({_OPTIONS: self})

    @classmethod
    def of(cls, memo: kopf.Memo) -> OperatorOptions:
        return _read(memo, _OPTIONS, cls)


@dataclass(frozen=True, kw_only=True)
class OperatorContext:
    """What the handlers share: made once by `startup`. kopf gives each object a shallow
    copy of the memo it started with, so every handler sees this one context."""

    reconciler: Reconciler
    kube: Kube
    metrics: Metrics
    metrics_server: web.AppRunner
    indexes_ready: asyncio.Event
    """Set by the first event: kopf calls handlers only once every index is filled."""
    resync: asyncio.Task[None]

    def keep_on(self, memo: kopf.Memo) -> None:
        memo[_CONTEXT] = self

    @classmethod
    def of(cls, memo: kopf.Memo) -> OperatorContext:
        return _read(memo, _CONTEXT, cls)


def _read(memo: kopf.Memo, key: str, expected: type[T]) -> T:
    value = memo.get(key)
    if not isinstance(value, expected):
        raise TypeError(f"kopf's memo has no {expected.__name__} (under {key!r})")
    return value
