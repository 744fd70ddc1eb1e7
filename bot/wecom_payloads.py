"""Fitting a message to WeCom's limits: text split at UTF-8 byte limits (at line breaks where possible),
images shrunk until they fit."""

from __future__ import annotations

import asyncio
import io
import re


def split_utf8(text: str, limit: int) -> list[str]:
    """Split `text` into pieces of at most `limit` UTF-8 bytes, at line breaks where possible.

    A single line longer than the limit is cut at spaces, then between characters.
    """
    if len(text.encode("utf-8")) <= limit:
        return [text] if text.strip() else []
    pieces: list[str] = []
    current: str | None = None
    for line in _fit_lines(text.split("\n"), limit):
        candidate = line if current is None else f"{current}\n{line}"
        if current is not None and len(candidate.encode("utf-8")) > limit:
            pieces.append(current)
            current = line
        else:
            current = candidate
    if current is not None:
        pieces.append(current)
    # WeCom refuses empty content, so blank pieces (blank lines at a cut) are dropped.
    return [piece for piece in pieces if piece.strip()]


def _fit_lines(lines: list[str], limit: int) -> list[str]:
    """Break each over-long line into parts of at most `limit` bytes (words first, then characters)."""
    fitted: list[str] = []
    for line in lines:
        if len(line.encode("utf-8")) <= limit:
            fitted.append(line)
            continue
        part = ""
        for word in re.split(r"(?<= )", line):  # keep the space at the end of each word
            for char in word if len(word.encode("utf-8")) > limit else [word]:
                if part and len((part + char).encode("utf-8")) > limit:
                    fitted.append(part)
                    part = ""
                part += char
        if part:
            fitted.append(part)
    return fitted


def shrink_image(data: bytes, limit: int) -> bytes:
    """Re-encode an image as JPEG, lowering quality then size, until it is at most `limit` bytes.

    Synchronous and CPU-bound: call it through asyncio.to_thread. Raises ValueError if it cannot fit.
    """
    from PIL import Image  # Pillow comes with matplotlib; imported here so the module loads without it

    with Image.open(io.BytesIO(data)) as opened:
        image = opened.convert("RGBA")
    # JPEG has no transparency: flatten onto white, the background our charts use.
    flat = Image.new("RGB", image.size, (255, 255, 255))
    flat.paste(image, mask=image.getchannel("A"))
    scale = 1.0
    while min(flat.width, flat.height) * scale >= 64:
        frame = flat
        if scale < 1.0:
            size = (max(1, int(flat.width * scale)), max(1, int(flat.height * scale)))
            frame = flat.resize(size, Image.Resampling.LANCZOS)
        for quality in (85, 70, 55, 40):
            out = io.BytesIO()
            frame.save(out, "JPEG", quality=quality, optimize=True)
            if out.tell() <= limit:
                return out.getvalue()
        scale *= 0.7
    raise ValueError("image cannot be shrunk under the limit")


async def fit_image(data: bytes, limit: int) -> bytes:
    """Return `data` unchanged when small enough, else a smaller re-encoding (off the event loop)."""
    if len(data) <= limit:
        return data
    return await asyncio.to_thread(shrink_image, data, limit)
