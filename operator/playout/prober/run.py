"""What `playout probe` does with a report once the engine made it: where a probe Job
keeps it (the report ConfigMaps, when the operator gave some) and what it leaves as its
termination message. Thin: the decisions are `library`'s and `report`'s."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from playout.api.probejob import LibraryReport, ProbeReport
from playout.prober import library
from playout.prober.engine import ProbeRequest, probe, probe_library
from playout.prober.report import fit
from playout.prober.store import ReportStore


@dataclass(frozen=True, kw_only=True)
class Keeping:
    """Where the whole report goes in a probe Job: the ConfigMaps of every shard, in shard
    order (this pod writes its own and reads all of them for earlier results)."""

    namespace: str
    config_maps: Sequence[str]
    incremental: bool = False


async def run_single(request: ProbeRequest, keeping: Keeping | None) -> tuple[ProbeReport, str]:
    """The report, and the termination message (the report trimmed to fit)."""
    report = await probe(request)
    if keeping is not None and keeping.config_maps:
        store = ReportStore(namespace=keeping.namespace)
        try:
            await store.save(keeping.config_maps[0], library.pack_single(report))
        finally:
            await store.close()
    return report, fit(report)


async def run_library(
    request: ProbeRequest,
    *,
    recursive: bool,
    shard: int,
    shards: int,
    earlier_report: LibraryReport | None,
    keeping: Keeping | None,
) -> tuple[LibraryReport, str]:
    """The shard's report, and its termination message (counts and worst files)."""
    store = ReportStore(namespace=keeping.namespace) if keeping is not None else None
    try:
        earlier = [earlier_report] if earlier_report is not None else []
        if store is not None and keeping is not None and keeping.incremental:
            earlier += await store.earlier(keeping.config_maps)
        known = library.earlier_results(
            earlier,
            profile=request.profile,
            thresholds=request.thresholds,
            require=request.require,
        )
        report = await probe_library(
            request, recursive=recursive, shard=shard, shards=shards, earlier=known
        )
        if store is None or keeping is None:
            return report, library.shard_summary(report, config_map=None)
        own = keeping.config_maps[shard]
        packed, kept = library.pack(report)
        saved = await store.save(own, packed)
        notes = kept.notes[len(report.notes) :]
        if not saved:
            notes.append(f"the report could not be written to ConfigMap {own}: the log has it")
        return report, library.shard_summary(report, config_map=own if saved else None, notes=notes)
    finally:
        if store is not None:
            await store.close()
