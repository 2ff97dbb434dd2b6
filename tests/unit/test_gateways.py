"""The gateways speak their providers' protocols (issue 17 point 2): e-mail reaches a real SMTP
server (aiosmtpd, started here); Aliyun SMS and WeChat template messages are sent to a local
fake HTTP server that checks the request as the provider would (Aliyun's signature recomputed
from what arrived, WeChat's access token) and answers in the provider's shape."""
import base64
import email
import hashlib
import hmac
import json
import socket
import threading
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import pytest
from aiosmtpd.controller import Controller

from backoffice.gateways import GatewayError, Message, gateway_for
from backoffice.gateways.wechat import forget_tokens
from backoffice.notifications import record_consent, tell_customer
from backoffice.outbox import deliver_due
from models import OutboxMessage
from tests import factories as f

SMS = Message(id=41, channel="sms", recipient="13900001234", template="appointment",
              params={"number": "GD202605000123", "link": "https://svc.example.cn/t/abc*~ d",
                      "engineer": "李工", "window": "明天 9:00-12:00"},
              subject="服务单 GD202605000123：上门预约", body="李工将于明天上门。")
WECHAT = Message(id=42, channel="wechat", recipient="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", template="appointment",
                 params=SMS.params, subject=SMS.subject, body=SMS.body)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- e-mail over SMTP -----------------------------------------------------------------------

class Inbox:
    """An aiosmtpd handler keeping what arrives; refuses mail for nobody@…"""

    def __init__(self):
        self.mails = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("nobody@"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.mails.append((envelope.rcpt_tos, email.message_from_bytes(envelope.original_content,
                                                                       policy=policy.default)))
        return "250 Message accepted"


@pytest.fixture
def smtp_server(app):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(EMAIL_GATEWAY="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=controller.port,
                      MAIL_FROM="service@example.cn")
    yield inbox
    controller.stop()


def test_an_email_arrives_at_the_smtp_server_with_subject_chinese_body_and_recipient(app, smtp_server):
    message = Message(id=7, channel="email", recipient="wang.fang@example.cn", template="receipt",
                      subject="服务单 GD202605000123 已受理", body="您的服务申请已受理，请点击链接查看进度。")
    provider_id = gateway_for("email", app.config).send(message)
    [(recipients, mail)] = smtp_server.mails
    assert recipients == ["wang.fang@example.cn"] and mail["To"] == "wang.fang@example.cn"
    assert mail["Subject"] == "服务单 GD202605000123 已受理"
    assert mail.get_content().strip() == "您的服务申请已受理，请点击链接查看进度。"
    assert mail["Message-ID"] == provider_id == "<outbox-7@example.cn>", "a resend is recognisable"


def test_a_refused_mailbox_is_a_permanent_error(app, smtp_server):
    message = Message(id=8, channel="email", recipient="nobody@example.cn", template="receipt",
                      subject="x", body="y")
    with pytest.raises(GatewayError) as refused:
        gateway_for("email", app.config).send(message)
    assert not refused.value.temporary and not smtp_server.mails


def test_no_smtp_server_is_a_temporary_error(app):
    app.config.update(EMAIL_GATEWAY="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=free_port())
    with pytest.raises(GatewayError) as down:
        gateway_for("email", app.config).send(
            Message(id=9, channel="email", recipient="a@example.cn", template="receipt"))
    assert down.value.temporary


def test_the_outbox_delivers_a_customers_email_to_the_smtp_server(app, session, smtp_server):
    with app.app_context():
        customer = f.make_customer(session, f.make_outlet(session), email="li.na@example.cn",
                                   notify_channel="email")
        record_consent(customer, "web")
        ticket = f.make_ticket(session, customer)
        tell_customer(session, ticket, "receipt", key="smtp")
        session.commit()
        deliver_due(session, limit=1000)
    row = session.query(OutboxMessage).filter_by(dedupe_key=f"receipt:{ticket.id}:smtp").one()
    assert (row.status, row.gateway, row.provider_id) == ("sent", "smtp", f"<outbox-{row.id}@example.cn>")
    [mail] = [m for rcpt, m in smtp_server.mails if rcpt == ["li.na@example.cn"]]
    assert ticket.number in mail["Subject"] and "/t/" in mail.get_content()


# --- a fake provider over HTTP ----------------------------------------------------------------

class FakeProvider:
    """A local HTTP server: `answer(method, path, query, body) -> (status, json)` per request;
    every request is kept in `requests` as (method, path, query, body)."""

    def __init__(self, answer):
        self.answer = answer
        self.requests = []
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self):
                url = urlsplit(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                request = (self.command, url.path, dict(parse_qsl(url.query)), body, dict(self.headers))
                provider.requests.append(request)
                status, payload = provider.answer(*request)
                data = json.dumps(payload, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


# --- Aliyun SMS -------------------------------------------------------------------------------

ALIYUN_SECRET = "testsecret"
REQUIRED = {"Action", "Version", "Format", "AccessKeyId", "SignatureMethod", "SignatureVersion",
            "SignatureNonce", "Timestamp", "PhoneNumbers", "SignName", "TemplateCode", "TemplateParam",
            "OutId", "Signature"}


def aliyun_signature(params: dict, secret: str) -> str:
    """Aliyun's RPC signature v1 as its SDKs write it: urlencode, then fix the three characters
    form encoding gets wrong for RFC 3986."""
    def encode(text):
        return quote(text, safe="").replace("+", "%20").replace("*", "%2A").replace("%7E", "~")

    canonical = urlencode(sorted(params.items()), quote_via=quote)
    canonical = canonical.replace("+", "%20").replace("*", "%2A").replace("%7E", "~")
    to_sign = "POST&" + encode("/") + "&" + encode(canonical)
    return base64.b64encode(hmac.new((secret + "&").encode(), to_sign.encode(), hashlib.sha1).digest()).decode()


def aliyun(code="OK"):
    """Aliyun's SendSms: checks the form body's parameters and signature, answers `code`."""
    def answer(method, path, query, body, headers):
        form = dict(parse_qsl(body.decode(), keep_blank_values=True))
        if method != "POST" or path != "/" or not form.keys() >= REQUIRED:
            return 400, {"Code": "MissingParameter", "Message": "missing", "RequestId": "R0"}
        signed = {k: v for k, v in form.items() if k != "Signature"}
        if aliyun_signature(signed, ALIYUN_SECRET) != form["Signature"]:
            return 400, {"Code": "SignatureDoesNotMatch", "Message": "bad signature", "RequestId": "R1"}
        if code != "OK":
            return 200, {"Code": code, "Message": "refused", "RequestId": "R2"}
        return 200, {"Code": "OK", "Message": "OK", "RequestId": "R3", "BizId": "900619746936498440^0"}
    return answer


@pytest.fixture
def aliyun_config(app):
    app.config.update(SMS_GATEWAY="aliyun", ALIYUN_SMS_ACCESS_KEY_ID="LTAItestkey",
                      ALIYUN_SMS_ACCESS_KEY_SECRET=ALIYUN_SECRET, ALIYUN_SMS_SIGN_NAME="某某家电售后",
                      ALIYUN_SMS_TEMPLATES=json.dumps({"appointment": "SMS_153055065"}))
    return app.config


def test_aliyun_sms_is_a_signed_sendsms_request_and_returns_the_biz_id(aliyun_config):
    with FakeProvider(aliyun()) as fake:
        aliyun_config["ALIYUN_SMS_ENDPOINT"] = fake.url + "/"
        provider_id = gateway_for("sms", aliyun_config).send(SMS)
    assert provider_id == "900619746936498440^0"
    [(_method, _path, _query, body, headers)] = fake.requests
    form = dict(parse_qsl(body.decode()))
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert (form["Action"], form["Version"], form["SignatureMethod"], form["SignatureVersion"]) == (
        "SendSms", "2017-05-25", "HMAC-SHA1", "1.0")
    assert (form["PhoneNumbers"], form["SignName"], form["TemplateCode"], form["OutId"]) == (
        "13900001234", "某某家电售后", "SMS_153055065", "41")
    # No URL in a variable: the link goes as its token (the template holds https://…/t/${link}).
    assert json.loads(form["TemplateParam"]) == {**SMS.params, "link": "abc*~ d"}
    assert form["Timestamp"].endswith("Z") and form["AccessKeyId"] == "LTAItestkey"


def test_aliyun_variables_carry_no_url_and_at_most_35_characters(aliyun_config):
    answer = "更换主板并退还上门费，三日内完成，如有问题请致电服务热线4008-123-456。" * 2
    message = Message(id=43, channel="sms", recipient="13900001234", template="appointment",
                      params={"number": "GD202605000123", "answer": answer, "engineer": "李工",
                              "link": "https://svc.example.cn/t/q7Xy-Z_0aBcDeFgHiJkLmN/survey"})
    with FakeProvider(aliyun()) as fake:
        aliyun_config["ALIYUN_SMS_ENDPOINT"] = fake.url + "/"
        gateway_for("sms", aliyun_config).send(message)
    [(_method, _path, _query, body, _headers)] = fake.requests
    variables = json.loads(dict(parse_qsl(body.decode()))["TemplateParam"])
    assert variables == {"number": "GD202605000123", "answer": answer[:35], "engineer": "李工",
                         "link": "q7Xy-Z_0aBcDeFgHiJkLmN"}  # the survey's template ends …/t/${link}/survey
    assert all("://" not in v and len(v) <= 35 for v in variables.values())


@pytest.mark.parametrize(("link", "token"), [
    ("https://svc.example.cn/t/AbC-d_1", "AbC-d_1"),
    ("https://svc.example.cn/t/AbC-d_1/survey", "AbC-d_1"),
    ("https://svc.example.cn/service/t/AbC-d_1/survey", "AbC-d_1"),  # PUBLIC_BASE_URL with a path
])
def test_the_link_variable_is_the_tracking_token(link, token):
    from backoffice.gateways.aliyun_sms import link_token

    assert link_token(link) == token


@pytest.mark.parametrize(("code", "temporary"), [("isv.MOBILE_NUMBER_ILLEGAL", False),
                                                 ("isv.BUSINESS_LIMIT_CONTROL", True)])
def test_aliyun_sms_refusals_are_gateway_errors(aliyun_config, code, temporary):
    with FakeProvider(aliyun(code)) as fake:
        aliyun_config["ALIYUN_SMS_ENDPOINT"] = fake.url + "/"
        with pytest.raises(GatewayError, match=code) as refused:
            gateway_for("sms", aliyun_config).send(SMS)
    assert refused.value.temporary is temporary


def test_a_wrong_aliyun_secret_fails_the_signature_and_is_temporary(aliyun_config):
    with FakeProvider(aliyun()) as fake:
        aliyun_config.update(ALIYUN_SMS_ENDPOINT=fake.url + "/", ALIYUN_SMS_ACCESS_KEY_SECRET="wrong")
        with pytest.raises(GatewayError, match="SignatureDoesNotMatch") as refused:
            gateway_for("sms", aliyun_config).send(SMS)
    assert refused.value.temporary, "our configuration: the message waits for the fix"


def test_aliyun_server_errors_are_temporary(aliyun_config):
    with FakeProvider(lambda *request: (503, {"Code": "ServiceUnavailable"})) as fake:
        aliyun_config["ALIYUN_SMS_ENDPOINT"] = fake.url + "/"
        with pytest.raises(GatewayError) as down:
            gateway_for("sms", aliyun_config).send(SMS)
    assert down.value.temporary


def test_a_template_without_an_aliyun_code_is_not_sent(aliyun_config):
    with FakeProvider(aliyun()) as fake:
        aliyun_config["ALIYUN_SMS_ENDPOINT"] = fake.url + "/"
        with pytest.raises(GatewayError, match="receipt"):
            gateway_for("sms", aliyun_config).send(Message(id=1, channel="sms", recipient="13900001234",
                                                           template="receipt"))
    assert not fake.requests


# --- WeChat template messages -----------------------------------------------------------------

class WechatServer:
    """WeChat's token and template-message endpoints; `refuse` answers every send with that errcode."""

    def __init__(self, refuse=0):
        self.issued = 0
        self.valid = set()
        self.refuse = refuse
        self.sent = []

    def __call__(self, method, path, query, body, headers):
        if method == "GET" and path == "/cgi-bin/token":
            if (query.get("grant_type"), query.get("appid"), query.get("secret")) != (
                    "client_credential", "wx-app-1", "wx-secret"):
                return 200, {"errcode": 40013, "errmsg": "invalid appid"}
            self.issued += 1
            self.valid = {f"TOKEN{self.issued}"}  # a new token invalidates the last one
            return 200, {"access_token": f"TOKEN{self.issued}", "expires_in": 7200}
        if method == "POST" and path == "/cgi-bin/message/template/send":
            if query.get("access_token") not in self.valid:
                return 200, {"errcode": 40001, "errmsg": "invalid credential"}
            if self.refuse:
                return 200, {"errcode": self.refuse, "errmsg": "refused"}
            payload = json.loads(body)
            self.sent.append(payload)
            return 200, {"errcode": 0, "errmsg": "ok", "msgid": 200228332 + len(self.sent)}
        return 404, {"errcode": 404}


@pytest.fixture
def wechat_config(app):
    forget_tokens()
    app.config.update(WECHAT_GATEWAY="wechat", WECHAT_APP_ID="wx-app-1", WECHAT_APP_SECRET="wx-secret",
                      WECHAT_TEMPLATES=json.dumps({"appointment": "tmpl-appointment-1"}))
    yield app.config
    forget_tokens()


def test_wechat_fetches_a_token_once_and_sends_the_template_message(wechat_config):
    server = WechatServer()
    with FakeProvider(server) as fake:
        wechat_config["WECHAT_API_BASE"] = fake.url
        first = gateway_for("wechat", wechat_config).send(WECHAT)
        second = gateway_for("wechat", wechat_config).send(WECHAT)
    assert (first, second) == ("200228333", "200228334")
    assert [r[1] for r in fake.requests] == ["/cgi-bin/token", "/cgi-bin/message/template/send",
                                             "/cgi-bin/message/template/send"], "the token is kept"
    payload = server.sent[0]
    assert payload["touser"] == WECHAT.recipient and payload["template_id"] == "tmpl-appointment-1"
    assert payload["url"] == WECHAT.params["link"]
    assert payload["data"] == {"first": {"value": WECHAT.subject}, "keyword1": {"value": "GD202605000123"},
                               "keyword2": {"value": "李工"}, "keyword3": {"value": "明天 9:00-12:00"}}


def test_wechat_fetches_a_new_token_once_when_its_token_was_replaced(wechat_config):
    server = WechatServer()
    with FakeProvider(server) as fake:
        wechat_config["WECHAT_API_BASE"] = fake.url
        gateway_for("wechat", wechat_config).send(WECHAT)
        server.valid = {"TOKEN-of-another-process"}
        gateway_for("wechat", wechat_config).send(WECHAT)
    assert server.issued == 2 and len(server.sent) == 2


def test_wechat_errors_are_gateway_errors(wechat_config):
    with FakeProvider(WechatServer(refuse=43004)) as fake:
        wechat_config["WECHAT_API_BASE"] = fake.url
        with pytest.raises(GatewayError, match="43004") as refused:
            gateway_for("wechat", wechat_config).send(WECHAT)
    assert not refused.value.temporary, "the customer does not follow the account"


def test_wechat_refusing_the_app_secret_is_temporary(wechat_config):
    with FakeProvider(WechatServer()) as fake:
        wechat_config.update(WECHAT_API_BASE=fake.url, WECHAT_APP_SECRET="wrong")
        with pytest.raises(GatewayError, match="40013") as refused:
            gateway_for("wechat", wechat_config).send(WECHAT)
    assert refused.value.temporary and [r[1] for r in fake.requests] == ["/cgi-bin/token"]


def test_a_gateway_that_cannot_carry_the_channel_is_a_configuration_error(app):
    with pytest.raises(GatewayError, match="SMS_GATEWAY"):
        gateway_for("sms", {"SMS_GATEWAY": "smtp"})
    assert gateway_for("sms", {}).name == "outbox", "nothing leaves the machine by default"
