"""Photos sent with a public fault report (/report, issue 18): up to MAX_PHOTOS pictures, each
checked by its first bytes and size as staff uploads are (backoffice.attachments), stored as
attachments of the new ticket (R-TKT-8).

`check` runs before anything is registered, so a refused photo costs the visitor nothing
but choosing again; `attach` then stores the checked photos with the ticket.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from models import Attachment, Ticket

from . import attachments
from .errors import FieldErrors

MAX_PHOTOS = 3
IMAGE_TYPES = {"image/jpeg", "image/png", "image/webp"}
MB = 1024 * 1024


@dataclass(frozen=True)
class Photo:
    filename: str
    data: bytes


def check(files: list[tuple[str, bytes]], max_total: int) -> list[Photo]:
    """The photos among `files` (name, bytes), or FieldErrors {"photos": why}. An empty part (a
    form sent with no file chosen) is no photo. Each is a JPEG, PNG or WebP image of at most
    attachments.MAX_BYTES; all together at most `max_total` bytes (what a request may carry)."""
    photos = [Photo(_base_name(name), data) for name, data in files if name or data]
    if len(photos) > MAX_PHOTOS:
        raise FieldErrors({"photos": _l("At most %(n)d photos: choose %(n)d or fewer and send again.",
                                        n=MAX_PHOTOS)})
    for photo in photos:
        problem = _problem(photo)
        if problem:
            raise FieldErrors({"photos": problem})
    if sum(len(p.data) for p in photos) > max_total:
        raise FieldErrors({"photos": too_large(max_total)})
    return photos


def too_large(max_total: int):
    return _l("The photos together are larger than %(mb)d MB: choose smaller ones.", mb=max_total // MB)


def request_bound(cap: int) -> int:
    """How much of a report's request the server reads when it is over the request cap `cap`
    (MAX_CONTENT_LENGTH): MAX_PHOTOS photos of the largest size a file may have, and the form's
    text. Read, the form comes back (413) with everything typed and the photos' message; beyond
    this bound the request is not read at all (the plain "too large" page)."""
    return max(cap, MAX_PHOTOS * attachments.MAX_BYTES + MB)


def _base_name(filename: str) -> str:
    """The file's own name, as attachments.add keeps it (a browser may send a whole path)."""
    return (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()[:200]


def _problem(photo: Photo):
    if not photo.filename:
        return _l("Choose the photos again: one came without its file name.")
    if not photo.data:
        return _l("%(name)s is empty: choose the photo again.", name=photo.filename)
    if len(photo.data) > attachments.MAX_BYTES:
        return _l("%(name)s is larger than %(mb)d MB.", name=photo.filename, mb=attachments.MAX_BYTES // MB)
    if attachments.detect_type(photo.filename, photo.data) not in IMAGE_TYPES:
        return _l("%(name)s is not a photo: choose JPEG, PNG or WebP pictures.", name=photo.filename)
    return None


def attach(session: Session, ticket: Ticket, photos: list[Photo]) -> list[Attachment]:
    """The checked photos stored with the ticket; no actor: the customer sent them (R-TKT-8)."""
    return [attachments.add(session, ticket, p.filename, p.data, None) for p in photos]
