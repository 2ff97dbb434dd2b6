"""The "outbox" gateway, the default: nothing leaves the machine.

Development, demos and tests queue and "deliver" customer messages exactly as production does,
but the message only stays in the outbox (marked sent by gateway "outbox") where a person can
read it; no real customer is ever texted from a laptop.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping

from . import Message, mask

log = logging.getLogger(__name__)


class LocalGateway:
    name = "outbox"

    def __init__(self, config: Mapping | None = None):
        self.config = config or {}

    def send(self, message: Message) -> str:
        log.info("outbox message %s (%s, %s to %s) kept in the outbox: the %s gateway sends nothing",
                 message.id, message.template, message.channel, mask(message.recipient), self.name)
        return f"local-{message.id}"
