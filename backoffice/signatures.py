"""The customer's signature drawn on the engineer's screen (issue 18; the signed report, R-TKT-7).

The step form's signature pad (static/js/signature.js) sends the drawing as a PNG `data:` URL in
a hidden field. It is checked here, a PNG of sane size, and kept as an attachment of the ticket
that the service report points at; the printed report shows it. The typed name stays: it says
who signed.
"""
from __future__ import annotations

import base64
import binascii
import struct

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from models import Attachment, Ticket, User

from . import attachments

PREFIX = "data:image/png;base64,"
PNG = b"\x89PNG\r\n\x1a\n"
MAX_BYTES = 300 * 1024  # a phone's pad at 3× pixel density draws 20–80 KB
MAX_SIDE = 4000  # pixels: a tablet's pad at 3×
UNREADABLE = _l("The signature could not be read: clear the pad and ask the customer to sign again.")


def decode(value) -> bytes | None:
    """The PNG bytes of the pad's `data:` URL; None when nothing was drawn.
    ValueError (with the user's message) for anything that is not a PNG of sane size."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        return None
    if not text.startswith(PREFIX) or len(text) > len(PREFIX) + MAX_BYTES * 4 // 3 + 4:
        raise ValueError(UNREADABLE)
    try:
        data = base64.b64decode(text[len(PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(UNREADABLE) from None
    if not data.startswith(PNG) or data[12:16] != b"IHDR" or len(data) < 24:
        raise ValueError(UNREADABLE)
    width, height = struct.unpack(">II", data[16:24])
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise ValueError(UNREADABLE)
    return data


def keep(session: Session, ticket: Ticket, png: bytes, actor: User) -> Attachment:
    """The signature as one of the ticket's attachments (R-TKT-8 evidence, same limits)."""
    rounds = sum(1 for a in ticket.attachments if a.filename.startswith("signature-"))
    name = f"signature-{ticket.number}{f'-{rounds + 1}' if rounds else ''}.png"
    return attachments.add(session, ticket, name, png, actor, max_bytes=MAX_BYTES)
