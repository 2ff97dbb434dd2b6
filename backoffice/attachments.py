"""Evidence on tickets: photos, invoices, chat records (R-TKT-8), with size and type limits.

The type is decided from the file's first bytes, not from what the browser claims, so a
renamed executable is refused; files are served back as downloads only.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from models import Attachment, Ticket, User

from .errors import ValidationFailed
from .permissions import WORKERS, Verdict, require, role_in

MAX_BYTES = 5 * 1024 * 1024

# content type -> (leading bytes, extensions)
SIGNATURES = {
    "image/jpeg": ((b"\xff\xd8\xff",), (".jpg", ".jpeg")),
    "image/png": ((b"\x89PNG\r\n\x1a\n",), (".png",)),
    "image/webp": ((b"RIFF",), (".webp",)),
    "application/pdf": ((b"%PDF-",), (".pdf",)),
    "text/plain": ((), (".txt",)),  # chat records exported as text: must decode as UTF-8
}


def detect_type(filename: str, data: bytes) -> str | None:
    lower = filename.lower()
    for content_type, (prefixes, extensions) in SIGNATURES.items():
        if not lower.endswith(extensions):
            continue
        signed = prefixes and any(data.startswith(p) for p in prefixes)
        if signed and (content_type != "image/webp" or data[8:12] == b"WEBP"):
            return content_type
        if not prefixes:
            try:
                data.decode("utf-8")
                return content_type
            except UnicodeDecodeError:
                return None
    return None


def may_attach(user: User) -> Verdict:
    """R-TKT-8: whoever works on tickets adds evidence to those they see (the scope decides which)."""
    return role_in(user, WORKERS)


def add(session: Session, ticket: Ticket, filename: str, data: bytes, actor: User | None,
        max_bytes: int = MAX_BYTES) -> Attachment:
    if actor is not None:  # None: a channel integration, acting for the center
        require({"attach": may_attach(actor)}, "attach")
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()[:200]
    if not name or not data:
        raise ValidationFailed(_l("Choose a file to attach."))
    if len(data) > max_bytes:
        raise ValidationFailed(_l("The file is larger than %(mb)d MB.", mb=max_bytes // (1024 * 1024)))
    content_type = detect_type(name, data)
    if content_type is None:
        raise ValidationFailed(_l("Only photos (JPEG, PNG, WebP), PDF and text files can be attached."))
    attachment = Attachment(ticket=ticket, filename=name, content_type=content_type, size=len(data),
                            data=data, uploaded_by=actor)
    session.add(attachment)
    return attachment
