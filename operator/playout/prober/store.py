"""Where a probe Job keeps its whole report: ConfigMaps the ProbeJob owns, one per shard,
which the operator makes empty and the pod of each shard fills (`binaryData`, its own field
manager). The Role the operator gives the pod allows reading all of them, for the results
of earlier runs, and writing them; nothing else. Thin: the packing is `library.pack`."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from lightkube import ApiError, AsyncClient
from lightkube.resources.core_v1 import ConfigMap
from lightkube.types import PatchType

from playout.api.probejob import LibraryReport
from playout.prober.library import REPORT_KEY, unpack

log = logging.getLogger("playout.prober")


class ReportStore:
    def __init__(self, *, namespace: str, client: AsyncClient | None = None) -> None:
        self.namespace = namespace
        self._client = client or AsyncClient(field_manager="playout-prober")

    async def earlier(self, names: Sequence[str]) -> list[LibraryReport]:
        """The library reports earlier runs left in these ConfigMaps (unreadable or missing
        ones are skipped: their files are probed again)."""
        found = []
        for name in names:
            try:
                config_map = await self._client.get(ConfigMap, name, namespace=self.namespace)
            except ApiError as error:
                log.warning(f"Could not read the earlier report {name}: {error.status.message}")
                continue
            packed = (config_map.binaryData or {}).get(REPORT_KEY)
            report = unpack(packed) if packed else None
            if report is not None:
                found.append(report)
        return found

    async def save(self, name: str, packed: str) -> bool:
        """Write a packed report into ConfigMap `name`; False (and logged) when it cannot."""
        try:
            await self._client.patch(
                ConfigMap,
                name,
                {"binaryData": {REPORT_KEY: packed}},
                namespace=self.namespace,
                patch_type=PatchType.MERGE,
            )
        except ApiError as error:
            log.error(f"Could not write the report to ConfigMap {name}: {error.status.message}")
            return False
        except Exception as error:  # the report is in the log; the summary still goes out
            log.error(f"Could not write the report to ConfigMap {name}: {error}")
            return False
        return True

    async def close(self) -> None:
        await self._client.close()
