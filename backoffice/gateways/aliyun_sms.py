"""SMS through Aliyun's SendSms API (SMS_GATEWAY=aliyun): dysmsapi 2017-05-25, RPC style.

Written against the HTTP API itself (signature v1, HMAC-SHA1) rather than Aliyun's SDK: one
request, a few lines, and no large dependency to keep up. Aliyun sends only registered
templates, so ALIYUN_SMS_TEMPLATES maps our template names to their template codes, and the
message's params fill the template's ${…} variables. OutId carries the outbox id so a delivery
report (or a resend) can be matched to the message.

Aliyun refuses a URL inside a variable (isv.PARAM_NOT_SUPPORT_URL) and limits each variable's
length (35 characters for most variable types, isv.PARAM_LENGTH_LIMIT). So the ${link} variable
carries only the ticket's tracking token, and the registered template carries the fixed address
around it: "…https://<PUBLIC_BASE_URL host>/t/${link}" (the return-visit survey's
"…/t/${link}/survey"). Every variable is cut to VARIABLE_MAX characters: the full text (a long
complaint answer) is on the page the link opens.

Errors: HTTP 5xx, connection failures, throttling and our configuration (keys, signature name,
template codes) are temporary; a refused number or content is permanent.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

from . import GatewayError, Message, call_json, json_setting

VARIABLE_MAX = 35  # characters in one template variable (Aliyun's limit for most variable types)

# Codes about this number or this content: sending the same message again cannot succeed.
PERMANENT = frozenset({
    "isv.MOBILE_NUMBER_ILLEGAL", "isv.MOBILE_COUNT_OVER_LIMIT", "isv.BLACK_KEY_CONTROL_LIMIT",
    "isv.TEMPLATE_MISSING_PARAMETERS", "isv.TEMPLATE_PARAMS_ILLEGAL", "isv.INVALID_JSON_PARAM",
    "isv.PARAM_LENGTH_LIMIT", "isv.PARAM_NOT_SUPPORT_URL", "isv.INVALID_PARAMETERS",
})


def percent_encode(value: str) -> str:
    """Aliyun's encoding: RFC 3986 on UTF-8, only A-Z a-z 0-9 - _ . ~ left as they are."""
    return quote(str(value), safe="~")


def signature(params: Mapping[str, str], secret: str, method: str = "POST") -> str:
    """RPC signature v1 of the request's parameters (all but Signature itself)."""
    canonical = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))
    to_sign = f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def link_token(link: str) -> str:
    """The tracking token of a link https://host[/prefix]/t/<token>[/survey]: the part after /t/."""
    parts = urlsplit(link).path.strip("/").split("/")
    after_t = [parts[i + 1] for i in range(len(parts) - 1) if parts[i] == "t"]
    return after_t[-1] if after_t else parts[-1]


def template_variables(params: Mapping | None) -> dict[str, str]:
    """The message's params as Aliyun takes them: no URL (the link as its token), none too long."""
    variables = {key: str(value) for key, value in (params or {}).items()}
    if "link" in variables:
        variables["link"] = link_token(variables["link"])
    return {key: value[:VARIABLE_MAX] for key, value in variables.items()}


class AliyunSmsGateway:
    name = "aliyun"

    def __init__(self, config: Mapping):
        self.endpoint = config.get("ALIYUN_SMS_ENDPOINT", "https://dysmsapi.aliyuncs.com/")
        self.key_id = config.get("ALIYUN_SMS_ACCESS_KEY_ID", "")
        self.secret = config.get("ALIYUN_SMS_ACCESS_KEY_SECRET", "")
        self.sign_name = config.get("ALIYUN_SMS_SIGN_NAME", "")
        self.templates = json_setting(config, "ALIYUN_SMS_TEMPLATES")

    def request_params(self, message: Message) -> dict[str, str]:
        code = self.templates.get(message.template)
        if not code:
            raise GatewayError(f"ALIYUN_SMS_TEMPLATES has no template code for {message.template!r}")
        params = {
            "Action": "SendSms", "Version": "2017-05-25", "Format": "JSON",
            "AccessKeyId": self.key_id, "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0",
            "SignatureNonce": uuid.uuid4().hex, "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "PhoneNumbers": message.recipient, "SignName": self.sign_name, "TemplateCode": code,
            "TemplateParam": json.dumps(template_variables(message.params), ensure_ascii=False),
            "OutId": str(message.id),
        }
        params["Signature"] = signature(params, self.secret)
        return params

    def send(self, message: Message) -> str:
        params = self.request_params(message)
        answer = call_json("Aliyun SMS", "POST", self.endpoint, data=params)  # its errors come as 4xx JSON
        code = answer.get("Code", "")
        if code == "OK" and answer.get("BizId"):
            return str(answer["BizId"])
        raise GatewayError(f"Aliyun SMS {code or '?'}: {answer.get('Message', '')}",
                           temporary=code not in PERMANENT)

