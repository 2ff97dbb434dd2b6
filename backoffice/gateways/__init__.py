"""How a customer's message leaves the machine (issue 17): one small interface, several gateways.

A gateway has a `name` (recorded on the message it delivered) and `send(message) -> provider_id`;
it raises `GatewayError` when the message did not go. `temporary` tells the outbox runner
(backoffice.outbox) whether trying again later can help: an outage, throttling or our own
configuration (fixed by an operator, then the backlog goes out) is temporary; a refusal of this
recipient or this content (an invalid phone number, an unsubscribed WeChat user) is permanent.

Each channel's gateway is chosen by configuration (SMS_GATEWAY, WECHAT_GATEWAY, EMAIL_GATEWAY):
"outbox" (the default) sends nothing, so development and demos never reach a real customer.
Gateways see a `Message`, a plain copy of the outbox row taken when it was claimed: they run
outside any database transaction and know nothing of sessions.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit


class GatewayError(Exception):
    """The message was not delivered; `temporary` says whether a later attempt may succeed."""

    def __init__(self, message: str, temporary: bool = True):
        super().__init__(message)
        self.temporary = temporary


@dataclass(frozen=True)
class Message:
    """What a gateway needs of an outbox row (models.OutboxMessage has the same attributes)."""

    id: int
    channel: str
    recipient: str
    template: str
    params: dict = field(default_factory=dict)
    subject: str = ""
    body: str = ""


class Gateway(Protocol):
    name: str

    def send(self, message: Message) -> str: ...


# channel -> its config key and the gateways that can carry it ("outbox" carries every channel).
SETTING = {"sms": "SMS_GATEWAY", "wechat": "WECHAT_GATEWAY", "email": "EMAIL_GATEWAY"}
CARRIERS = {"sms": ("outbox", "aliyun"), "wechat": ("outbox", "wechat"), "email": ("outbox", "smtp")}


def gateway_for(channel: str, config: Mapping) -> Gateway:
    """The configured gateway for `channel`. A name that cannot carry the channel is a
    configuration error: temporary, so the messages wait until an operator corrects it."""
    if channel not in SETTING:
        raise GatewayError(f"unknown channel {channel!r}", temporary=False)
    name = str(config.get(SETTING[channel]) or "outbox").strip().lower()
    if name not in CARRIERS[channel]:
        raise GatewayError(f"{SETTING[channel]}={name!r} cannot send {channel}: "
                           f"use one of {', '.join(CARRIERS[channel])}")
    if name == "outbox":
        from .local import LocalGateway
        return LocalGateway(config)
    if name == "smtp":
        from .smtp import SmtpGateway
        return SmtpGateway(config)
    if name == "aliyun":
        from .aliyun_sms import AliyunSmsGateway
        return AliyunSmsGateway(config)
    from .wechat import WechatGateway
    return WechatGateway(config)


def mask(recipient: str) -> str:
    """A recipient as a log line may show it (PIPL: logs are no address book)."""
    if "@" in recipient:
        user, _, domain = recipient.partition("@")
        return f"{user[:1]}***@{domain}"
    return f"{recipient[:3]}****{recipient[-2:]}" if len(recipient) > 6 else "****"


def json_setting(config: Mapping, setting: str) -> dict:
    """A JSON object from the configuration (a dict already when set in code). Unreadable is a
    configuration error: temporary, the messages wait for the fix."""
    raw = config.get(setting) or "{}"
    if isinstance(raw, Mapping):
        return dict(raw)
    try:
        found = json.loads(raw)
    except ValueError as exc:
        raise GatewayError(f"{setting} is not valid JSON: {exc}") from exc
    if not isinstance(found, dict):
        raise GatewayError(f"{setting} must be a JSON object")
    return found


HTTP_TIMEOUT = 10  # seconds: a provider that hangs is a provider that is down (temporary)


def call_json(provider: str, method: str, url: str, *, error_from: int = 500, **kwargs) -> dict:
    """One HTTP call to a provider's JSON API: its answer as a dict, or a temporary GatewayError
    when it cannot be reached, answers with a status >= `error_from`, or not with a JSON object.
    (What the provider's own error codes mean is each adapter's business.)"""
    import requests  # only the real gateways call out; the app itself starts without it

    try:
        response = requests.request(method, url, timeout=HTTP_TIMEOUT, **kwargs)
    except requests.RequestException as exc:
        # The kind and the host only: the exception's text holds the whole URL, and WeChat takes
        # the app secret and the access token in the query string (the error lands on screens and in logs).
        raise GatewayError(f"{provider} unreachable ({type(exc).__name__}) at {urlsplit(url).hostname}") from None
    if response.status_code >= error_from:
        raise GatewayError(f"{provider} HTTP {response.status_code}")
    try:
        answer = response.json()
    except ValueError as exc:
        raise GatewayError(f"{provider} HTTP {response.status_code}: not JSON") from exc
    if not isinstance(answer, dict):
        raise GatewayError(f"{provider} HTTP {response.status_code}: not a JSON object")
    return answer
