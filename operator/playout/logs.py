"""Logging for the operator and the engines alike: readable text by default, one JSON
object per line with `--log-format json` (or PLAYOUT_LOG_FORMAT=json in pods)."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal

LogFormat = Literal["text", "json"]
LEVELS = ("debug", "info", "warning", "error")


def _object_of(record: logging.LogRecord) -> str | None:
    """kopf's per-object loggers attach the object as `k8s_ref`."""
    ref: dict[str, Any] | None = getattr(record, "k8s_ref", None)
    if not ref:
        return None
    name = ref.get("name", "")
    return f"{ref['namespace']}/{name}" if ref.get("namespace") else name


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%d %H:%M:%S")
        obj = _object_of(record)
        where = f" [{obj}]" if obj else ""
        line = f"{stamp} {record.levelname:<7} {record.name}{where}: {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        ref = getattr(record, "k8s_ref", None)
        if ref:
            entry["object"] = ref
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def setup(level: str = "info", log_format: LogFormat = "text") -> None:
    """Send every log record to stderr in the chosen format, at the chosen level."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Client libraries are chatty at INFO (one line per HTTP request).
    for noisy in ("httpx", "httpx2", "httpcore", "httpcore2", "aiohttp.access", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
