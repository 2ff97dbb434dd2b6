"""WeChat official-account template messages (WECHAT_GATEWAY=wechat), over the plain HTTP API.

A template message needs an access token, which WeChat rations (a daily quota of fetches, each
one invalidating the last): it is kept per process until shortly before it expires, and fetched
again once when WeChat says it is invalid or expired (another process fetched a newer one).

WECHAT_TEMPLATES maps our template names to the account's template ids, either as
"<template id>" (the data is then first = the subject, keyword1… = the message's parameters in
order, the link being the message's url) or as {"template_id": …, "data": {"keyword1": "number",
…}} naming the parameter (or "subject" / "body") each field shows.

Errors: a refused recipient (bad openid, not following the account, blocked) or a malformed
message is permanent; outages, rate limits and our configuration are temporary.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Mapping

from . import GatewayError, Message, call_json, json_setting

EARLY = 300  # seconds before its expiry a token is fetched anew
STALE_TOKEN = frozenset({40001, 40014, 42001})  # invalid credential, invalid token, token expired
PERMANENT = frozenset({40003, 43004, 43019, 47001})  # bad openid, not a follower, blocked, bad data

_tokens: dict[tuple[str, str], tuple[str, float]] = {}  # (api base, app id) -> (token, good until)
_tokens_lock = threading.Lock()


def forget_tokens() -> None:
    """Drop the cached access tokens (tests; a changed app secret)."""
    with _tokens_lock:
        _tokens.clear()


class WechatGateway:
    name = "wechat"

    def __init__(self, config: Mapping):
        self.base = str(config.get("WECHAT_API_BASE", "https://api.weixin.qq.com")).rstrip("/")
        self.app_id = config.get("WECHAT_APP_ID", "")
        self.secret = config.get("WECHAT_APP_SECRET", "")
        self.templates = json_setting(config, "WECHAT_TEMPLATES")

    # --- the access token ---

    def token(self, refresh: bool = False) -> str:
        key = (self.base, self.app_id)
        with _tokens_lock:  # one fetch at a time: each fetch invalidates the previous token
            cached = _tokens.get(key)
            if cached and not refresh and cached[1] > time.monotonic():
                return cached[0]
            answer = self._call("GET", "/cgi-bin/token", params={
                "grant_type": "client_credential", "appid": self.app_id, "secret": self.secret})
            if not answer.get("access_token"):
                raise GatewayError(f"WeChat token {answer.get('errcode')}: {answer.get('errmsg', '')}")
            lifetime = int(answer.get("expires_in", 7200))
            _tokens[key] = (answer["access_token"], time.monotonic() + max(lifetime - EARLY, lifetime // 2))
            return answer["access_token"]

    # --- the message ---

    def payload(self, message: Message) -> dict:
        entry = self.templates.get(message.template)
        if isinstance(entry, str):
            entry = {"template_id": entry}
        if not isinstance(entry, dict) or not entry.get("template_id"):
            raise GatewayError(f"WECHAT_TEMPLATES has no template id for {message.template!r}")
        params = dict(message.params or {})
        sources = {"subject": message.subject, "body": message.body, **params}
        fields = entry.get("data") or _default_fields(params)
        data = {name: {"value": str(sources.get(source, ""))} for name, source in fields.items()}
        payload = {"touser": message.recipient, "template_id": entry["template_id"], "data": data}
        if params.get("link"):
            payload["url"] = params["link"]
        return payload

    def send(self, message: Message) -> str:
        payload = self.payload(message)
        answer = self._send(payload, self.token())
        if answer.get("errcode") in STALE_TOKEN:  # another process fetched a newer token
            answer = self._send(payload, self.token(refresh=True))
        errcode = answer.get("errcode", 0)
        if errcode == 0:
            return str(answer.get("msgid", ""))
        raise GatewayError(f"WeChat {errcode}: {answer.get('errmsg', '')}", temporary=errcode not in PERMANENT)

    def _send(self, payload: dict, token: str) -> dict:
        return self._call("POST", "/cgi-bin/message/template/send", params={"access_token": token}, json=payload)

    def _call(self, method: str, path: str, **kwargs) -> dict:
        return call_json("WeChat", method, self.base + path, error_from=400, **kwargs)


def _default_fields(params: dict) -> dict[str, str]:
    """first = the subject, keyword1… = the parameters in order (the link is the message's url)."""
    names = [name for name in params if name != "link"]
    return {"first": "subject", **{f"keyword{i}": name for i, name in enumerate(names, 1)}}
