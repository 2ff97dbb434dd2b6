"""A small real PNG, as the signature pad sends it (a data: URL), for the signature tests."""
from __future__ import annotations

import base64
import struct
import zlib


def png(width: int = 300, height: int = 120) -> bytes:
    """A greyscale PNG with a dark diagonal stroke."""
    rows = b"".join(b"\x00" + bytes(0 if abs(x * height - y * width) < width else 255 for x in range(width))
                    for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def data_url(data: bytes | None = None) -> str:
    return "data:image/png;base64," + base64.b64encode(data if data is not None else png()).decode()
