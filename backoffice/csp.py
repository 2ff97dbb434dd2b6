"""Content-Security-Policy: scripts only from this site or with the
request's nonce, so an injected <script> or onclick="…" does not run even if escaping failed.

Pages carry no inline event handlers (views/templates and static/js/backoffice.js instead);
the few inline <script> blocks (ours and Flask-Admin's) carry the nonce. Inline style
attributes stay allowed: templates use them for layout, and styles cannot run code.
"""
from __future__ import annotations

import secrets

from flask import g


def nonce() -> str:
    """One nonce per request, the same for every template and for the header."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def policy() -> str:
    return "; ".join((
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce()}'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ))
