"""The company letterhead on printouts (the intake receipt, the parts statement, the fee
settlement): name, address, hotline, and the words in the seal box (issue 18).

Kept in the app's configuration (COMPANY_NAME, COMPANY_ADDRESS, COMPANY_HOTLINE,
COMPANY_SEAL_TEXT), not in a table an admin edits: it is the legal identity printed on papers
both parties sign, set once per installation like PUBLIC_BASE_URL, and it is text, while the
policy records (backoffice/policy.py) hold numbers. The defaults fit the demo world (its service
center in Guangzhou and the 24 h hotline), so a fresh install prints a coherent page.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

DEFAULTS = {
    "COMPANY_NAME": "广州售后服务中心",
    "COMPANY_ADDRESS": "广州市天河区天河北路233号中信广场12楼",
    "COMPANY_HOTLINE": "400-830-1234",
    "COMPANY_SEAL_TEXT": "售后服务专用章",
}


@dataclass(frozen=True)
class Letterhead:
    name: str
    address: str
    hotline: str
    seal_text: str


def current() -> Letterhead:
    """The letterhead of this installation: each setting from the configuration, else its default."""
    config = current_app.config

    def setting(key: str) -> str:
        return str(config.get(key) or "").strip() or DEFAULTS[key]

    return Letterhead(name=setting("COMPANY_NAME"), address=setting("COMPANY_ADDRESS"),
                      hotline=setting("COMPANY_HOTLINE"), seal_text=setting("COMPANY_SEAL_TEXT"))
