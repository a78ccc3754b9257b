"""The as-run log: what actually aired and when, beside what was scheduled.

One JSON object a line in the state directory (`asrun.jsonl`), appended as each entry goes
on air, so a crash loses nothing that aired. The file is bounded: past MAX_BYTES it is
rotated once (`asrun.jsonl.1`), which keeps days of a busy channel.
"""

from __future__ import annotations

import json
import logging
import os
from collections import deque
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

ASRUN_FILE = "asrun.jsonl"
MAX_BYTES = 8 * 1024 * 1024


class AsRunLog:
    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / ASRUN_FILE
        self.last_id: str | None = None
        tail = self.tail(1)
        if tail:
            self.last_id = str(tail[-1].get("id"))

    def append(self, record: dict[str, Any]) -> None:
        """Add one record; a full disk costs the record, never the stream."""
        line = json.dumps(record, separators=(",", ":")) + "\n"
        try:
            if self.path.exists() and self.path.stat().st_size > MAX_BYTES:
                self.path.replace(self.path.with_name(ASRUN_FILE + ".1"))
            with self.path.open("a") as file:
                file.write(line)
                file.flush()
                os.fsync(file.fileno())
        except OSError as error:
            log.warning(f"Could not write the as-run log: {error}")
            return
        self.last_id = str(record.get("id"))

    def tail(self, limit: int) -> list[dict[str, Any]]:
        """The latest `limit` records, oldest first (a torn last line is left out)."""
        found: deque[dict[str, Any]] = deque(maxlen=limit)
        for path in (self.path.with_name(ASRUN_FILE + ".1"), self.path):
            try:
                with path.open() as file:
                    for line in file:
                        try:
                            found.append(json.loads(line))
                        except ValueError:
                            continue
            except OSError:
                continue
        return list(found)
