"""QR codes for printouts: the receipt carries the customer's tracking link as a QR code that a
phone camera opens (issue 18).

Drawn by segno (pure Python, maintained) as inline SVG: no image request, no data: URL, no
script, so the Content-Security-Policy (backoffice/csp.py) needs no exception, and the code
prints sharp at any size.
"""
from __future__ import annotations

import segno
from markupsafe import Markup

SCALE = 4  # px per module: a version-4 code (a tracking link) is 132 px with its quiet zone
QUIET_ZONE = 4  # modules of white around the code, as the standard asks


def svg(text: str, title: str = "") -> Markup:
    """`text` as an inline <svg> QR code (error correction M: a creased receipt still reads).
    segno escapes the title; the path is made of numbers only, so the markup is safe."""
    code = segno.make(text, error="m", micro=False)
    return Markup(code.svg_inline(scale=SCALE, border=QUIET_ZONE, title=title or None,
                                  svgclass="qr-code", lineclass=None))
