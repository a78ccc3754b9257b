"""What a local run of the engine needs: sample clips from ffmpeg's lavfi sources, a Channel
document and a free port on 127.0.0.1.

The tests (through tests/streaming.py) and the benchmarks (`python -m bench.NAME`) share
this module, so it needs nothing from pytest.
"""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path
from typing import Any

from playout.media.ffmpeg import BT709_TAGS, RGB_TO_BT709


def make_clip(
    path: Path,
    seconds: float,
    *,
    size: str = "320x240",
    rate: int = 25,
    audio: bool = True,
    source: str = "testsrc2",
    tone: int = 440,
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    command = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"{source}=s={size}:r={rate}"]
    if audio:
        command += ["-f", "lavfi", "-i", f"sine=f={tone}:sample_rate=44100"]
    command += [
        "-t",
        str(seconds),
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-g",
        str(rate),
        "-vf",
        f"{RGB_TO_BT709},format=yuv420p",
        *BT709_TAGS,  # as the streamer converts and tags what it encodes
    ]
    command += ["-c:a", "aac"] if audio else []
    subprocess.run([*command, str(path)], check=True, timeout=120)
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def channel_document(name: str, programs: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    output = {
        "segmentSeconds": 2,
        "windowSegments": 6,
        "video": {
            "width": 320,
            "height": 240,
            "frameRate": 25,
            "preset": "ultrafast",
            "bitrateKbps": 400,
        },
        "audio": {"bitrateKbps": 64},
    }
    return {
        "apiVersion": "playout.dev/v1alpha1",
        "kind": "Channel",
        "metadata": {"name": name},
        "spec": {
            "media": {"persistentVolumeClaim": {"claimName": "media"}},
            "programs": programs,
            "output": output,
            **spec,
        },
    }
