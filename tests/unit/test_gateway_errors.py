"""What a gateway's failure says (R-NTF-3) ends up on screens (the outbox, the ticket page) and in
the logs: never a secret, never a customer's whole address."""
import smtplib
import socket

from backoffice.gateways import GatewayError, Message
from backoffice.gateways.smtp import SmtpGateway
from backoffice.gateways.wechat import WechatGateway, forget_tokens


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def a_message(recipient="oAbC123openid") -> Message:
    return Message(7, "wechat", recipient, "receipt", {"number": "SV1", "link": "https://x/t/abc"}, "subject", "body")


def test_an_unreachable_wechat_api_names_neither_the_app_secret_nor_the_url():
    forget_tokens()
    gateway = WechatGateway({"WECHAT_API_BASE": f"http://127.0.0.1:{closed_port()}", "WECHAT_APP_ID": "wxAPP",
                             "WECHAT_APP_SECRET": "TOPSECRET-0123456789", "WECHAT_TEMPLATES": '{"receipt": "T1"}'})
    try:
        gateway.send(a_message())
    except GatewayError as exc:
        text = str(exc)
        assert exc.temporary
        assert "TOPSECRET" not in text and "secret=" not in text and "/cgi-bin" not in text
        assert exc.__cause__ is None and exc.__suppress_context__  # no traceback carries the URL either
    else:
        raise AssertionError("an unreachable API must fail the attempt")


def test_a_refused_mailbox_is_named_masked(monkeypatch):
    class Refusing:
        def __init__(self, *args, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *args):
            return False

        def send_message(self, mail):
            raise smtplib.SMTPRecipientsRefused({"zhang.wei@example.com": (550, b"no such user")})

    monkeypatch.setattr(smtplib, "SMTP", Refusing)
    gateway = SmtpGateway({"SMTP_HOST": "mail", "SMTP_PORT": 25, "MAIL_FROM": "service@example.com"})
    message = Message(8, "email", "zhang.wei@example.com", "receipt", {}, "subject", "body")
    try:
        gateway.send(message)
    except GatewayError as exc:
        assert not exc.temporary
        assert "zhang.wei@" not in str(exc) and "z***@example.com" in str(exc) and "550" in str(exc)
    else:
        raise AssertionError("a refused mailbox must fail the message")
