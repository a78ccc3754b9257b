"""What the scripts print: progress on stdout, problems on stderr."""

from __future__ import annotations

import sys
from typing import NoReturn


def log(message: str, *, source: str = "cluster") -> None:
    print(f"[{source}] {message}", flush=True)


def warn(message: str) -> None:
    print(f"[cluster] {message}", file=sys.stderr, flush=True)


def fail(message: str, *, code: int = 1) -> NoReturn:
    warn(f"ERROR: {message}")
    sys.exit(code)
