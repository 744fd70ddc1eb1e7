"""Files the CLI and the console write for people to open: never over an earlier one."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

MAX_TRIES = 100_000


def safe_part(text: str) -> str:
    """A piece of a file name: letters (any script), digits, . _ - kept; anything else becomes _."""
    return re.sub(r"[^\w.-]+", "_", text).strip("._") or "x"


def write_new(directory: Path, name: Callable[[int], str], content: bytes) -> Path:
    """Write `content` to the first `name(1)`, `name(2)` … that does not exist yet (created exclusively,
    so two writers at once never share a name); returns the path. Sync: call it via asyncio.to_thread."""
    directory.mkdir(parents=True, exist_ok=True)
    for number in range(1, MAX_TRIES + 1):
        path = directory / name(number)
        try:
            with path.open("xb") as handle:
                handle.write(content)
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"{directory}: no free name after {MAX_TRIES} tries")


def numbered(stem: str, suffix: str) -> Callable[[int], str]:
    """`stem.suffix`, then `stem-2.suffix`, `stem-3.suffix` …"""
    return lambda n: f"{stem}{suffix}" if n == 1 else f"{stem}-{n}{suffix}"
