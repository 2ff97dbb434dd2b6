"""Configuration from the environment. One place; no other module reads os.environ."""
from __future__ import annotations

import itertools
import os
import secrets
from datetime import timedelta
from pathlib import Path


class ConfigError(RuntimeError):
    """The app refuses to start with an unsafe production configuration."""


ENVIRONMENTS = ("production", "development", "testing")
MIN_SECRET_KEY_LENGTH = 32  # characters; `secrets.token_hex(32)` gives 64 (32 random bytes)
GENERATE_KEY_HINT = 'generate one with: python -c "import secrets; print(secrets.token_hex(32))"'
# Words of sample configurations; a key made of them is no secret.
PLACEHOLDER_WORDS = ("secret", "change", "replace", "example", "sample", "default", "password",
                     "passwd", "insecure", "production", "development", "django", "flask", "backoffice",
                     "qwerty", "asdfgh", "zxcvbn")


def weak_secret_key(key: str) -> str | None:
    """Why `key` cannot sign production sessions, or None. It must look like at least 32
    random characters: long enough, varied, no run or repetition, no placeholder words."""
    if len(key) < MIN_SECRET_KEY_LENGTH:
        return f"has {len(key)} characters, at least {MIN_SECRET_KEY_LENGTH} are needed"
    lowered = key.lower()
    if len(set(lowered)) < 8:
        return "repeats too few different characters"
    for size in range(1, len(key) // 2 + 1):
        if len(key) % size == 0 and key == key[:size] * (len(key) // size):
            return "is one piece repeated"
    if any(word in lowered for word in PLACEHOLDER_WORDS):
        return "contains a placeholder word"
    steps = [ord(b) - ord(a) for a, b in itertools.pairwise(lowered)]
    for step in (1, -1):
        if "x" * 7 in "".join("x" if s == step else "." for s in steps):
            return "contains a run like abcdefgh or 87654321"
    return None


def _secret_key(instance: Path, production: bool) -> str:
    key = os.environ.get("SECRET_KEY")
    if key and production:
        problem = weak_secret_key(key)
        if problem:
            raise ConfigError(f"SECRET_KEY is too weak for production: it {problem}; {GENERATE_KEY_HINT}")
    if key:
        return key
    if production:
        raise ConfigError(f"SECRET_KEY must be set when BACKOFFICE_ENV=production; {GENERATE_KEY_HINT}")
    # Development: generated once, kept in instance/, so sessions survive restarts.
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _database_url(instance: Path, production: bool) -> str:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'backoffice.db'}"
    if url.startswith("postgres://"):  # the form some hosts hand out
        url = "postgresql+psycopg://" + url[len("postgres://"):]
    elif url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    allow_sqlite = os.environ.get("BACKOFFICE_ALLOW_SQLITE") == "1"
    if production and url.startswith("sqlite") and not allow_sqlite:
        raise ConfigError(
            "production needs DATABASE_URL pointing at PostgreSQL "
            "(set BACKOFFICE_ALLOW_SQLITE=1 to run on SQLite anyway)"
        )
    return url


def _int(name: str, default: int, *, minimum: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        number = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number (got {raw!r})") from None
    if number < minimum:
        raise ConfigError(f"{name} must be at least {minimum} (got {number})")
    return number


def _environment(value: str | None) -> str:
    env = (value or "development").strip().lower()
    if env not in ENVIRONMENTS:
        raise ConfigError(f"BACKOFFICE_ENV must be one of {', '.join(ENVIRONMENTS)} (got {value!r})")
    return env


def _bench(production: bool) -> bool:
    if os.environ.get("BACKOFFICE_BENCH", "").strip() != "1":
        return False
    if production:
        raise ConfigError("BACKOFFICE_BENCH=1 is refused when BACKOFFICE_ENV=production "
                          "(it mounts comparison pages and timing headers)")
    return True


def _log_format(value: str) -> str:
    if value.lower() not in ("json", "text"):
        raise RuntimeError(f"LOG_FORMAT={value!r}: use json or text")
    return value.lower()


def _engine_options() -> dict:
    """Connections checked before use. DATABASE_PREPARED_STATEMENTS=off stops psycopg preparing
    statements (needed behind PgBouncer in transaction mode; backoffice/read_only.py says why
    they are kept otherwise)."""
    options: dict = {"pool_pre_ping": True}
    if os.environ.get("DATABASE_PREPARED_STATEMENTS", "on").lower() in ("off", "0", "no", "false"):
        options["connect_args"] = {"prepare_threshold": None}
    return options


def _public_base_url(production: bool) -> str:
    """Where the links in customers' messages lead. Production must say (an SMS pointing at
    localhost reaches nobody), over HTTPS (the link carries the ticket's token)."""
    url = os.environ.get("PUBLIC_BASE_URL", "").strip()
    if production and not url.startswith("https://"):
        raise ConfigError("PUBLIC_BASE_URL must be set to the https:// address customers open "
                          f"when BACKOFFICE_ENV=production (got {url or 'nothing'!r})")
    return url or f"http://127.0.0.1:{os.environ.get('PORT', '5000')}"


def task_queue_url(instance: Path) -> str:
    return os.environ.get("TASK_QUEUE_URL") or f"sqlite:///{instance / 'tasks.db'}"


def _gateway_names() -> dict:
    """Each channel's gateway, checked at start: a typo must stop the app, not queue messages forever."""
    from .gateways import CARRIERS, SETTING

    names = {}
    for channel, setting in SETTING.items():
        name = os.environ.get(setting, "outbox").strip().lower()
        if name not in CARRIERS[channel]:
            raise ConfigError(f"{setting}={name!r}: use one of {', '.join(CARRIERS[channel])}")
        names[setting] = name
    return names


def _gateway_config() -> dict:
    """How messages leave (backoffice/gateways): each channel's gateway is "outbox" by default, which
    keeps the message in the outbox and sends nothing (development, demo); "aliyun" (SMS), "wechat"
    (template messages) and "smtp" (e-mail) send for real with the settings below."""
    env = os.environ.get
    return {
        **_gateway_names(),
        # Aliyun SMS (dysmsapi SendSms): key, signature name, and our template -> its template code.
        "ALIYUN_SMS_ENDPOINT": env("ALIYUN_SMS_ENDPOINT", "https://dysmsapi.aliyuncs.com/"),
        "ALIYUN_SMS_ACCESS_KEY_ID": env("ALIYUN_SMS_ACCESS_KEY_ID", ""),
        "ALIYUN_SMS_ACCESS_KEY_SECRET": env("ALIYUN_SMS_ACCESS_KEY_SECRET", ""),
        "ALIYUN_SMS_SIGN_NAME": env("ALIYUN_SMS_SIGN_NAME", ""),
        "ALIYUN_SMS_TEMPLATES": env("ALIYUN_SMS_TEMPLATES", "{}"),  # JSON {"receipt": "SMS_123", ...}
        # WeChat official account template messages.
        "WECHAT_API_BASE": env("WECHAT_API_BASE", "https://api.weixin.qq.com"),
        "WECHAT_APP_ID": env("WECHAT_APP_ID", ""),
        "WECHAT_APP_SECRET": env("WECHAT_APP_SECRET", ""),
        "WECHAT_TEMPLATES": env("WECHAT_TEMPLATES", "{}"),  # JSON {"receipt": "<template id>", ...}
        # E-mail over SMTP.
        "SMTP_HOST": env("SMTP_HOST", "localhost"),
        "SMTP_PORT": _int("SMTP_PORT", 25, minimum=1),
        "SMTP_USERNAME": env("SMTP_USERNAME", ""),
        "SMTP_PASSWORD": env("SMTP_PASSWORD", ""),
        "SMTP_STARTTLS": env("SMTP_STARTTLS", "off").lower() in ("on", "1", "yes", "true"),
        "MAIL_FROM": env("MAIL_FROM", "service@example.com"),
        # A failed delivery is retried after 1, 2, 4 … minutes (at most OUTBOX_MAX_DELAY_MINUTES),
        # OUTBOX_MAX_ATTEMPTS times in all, then the message is marked failed for a person to see.
        "OUTBOX_MAX_ATTEMPTS": _int("OUTBOX_MAX_ATTEMPTS", 8, minimum=1),
        "OUTBOX_FIRST_DELAY_SECONDS": _int("OUTBOX_FIRST_DELAY_SECONDS", 60, minimum=1),
        "OUTBOX_MAX_DELAY_MINUTES": _int("OUTBOX_MAX_DELAY_MINUTES", 360, minimum=1),
    }


def load_config(instance_path: str, overrides: dict | None = None) -> dict:
    instance = Path(instance_path)
    overrides = overrides or {}
    env = _environment(overrides.get("BACKOFFICE_ENV") or os.environ.get("BACKOFFICE_ENV"))
    production = env == "production"
    idle = int(os.environ.get("BACKOFFICE_IDLE_MINUTES", "30"))
    config = {
        "BACKOFFICE_ENV": env,
        "SECRET_KEY": overrides.get("SECRET_KEY") or _secret_key(instance, production),
        "SQLALCHEMY_DATABASE_URI": overrides.get("SQLALCHEMY_DATABASE_URI")
        or _database_url(instance, production),
        "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(),
        "BACKOFFICE_TIMEZONE": os.environ.get("BACKOFFICE_TIMEZONE", "Asia/Shanghai"),
        # One JSON object per log line for a log collector, or text for a terminal (backoffice/logs.py).
        "LOG_FORMAT": _log_format(os.environ.get("LOG_FORMAT") or ("json" if production else "text")),
        "BABEL_DEFAULT_LOCALE": "zh_Hans_CN",
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        "LANGUAGES": {"zh_Hans_CN": "中文", "en": "English"},
        # Cookies: HttpOnly, SameSite=Lax always; Secure when served over HTTPS in production.
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SECURE": production,
        # Idle timeout: the signed session cookie expires this long after the last request.
        "PERMANENT_SESSION_LIFETIME": timedelta(minutes=idle),
        "SESSION_REFRESH_EACH_REQUEST": True,
        "WTF_CSRF_TIME_LIMIT": None,  # bound to the session, which already times out
        # Sign-in throttling (backoffice/login_guard.py): after LOGIN_FAILURES_BEFORE_DELAY failures
        # of one username from one client address, that client waits 1, 2, 4 … minutes (at most
        # LOGIN_MAX_DELAY_MINUTES); failures are forgotten after a success or LOGIN_FAILURE_MEMORY_HOURS.
        # One client address: at most LOGIN_MAX_FAILURES_PER_IP failures, any usernames, per
        # LOGIN_THROTTLE_WINDOW_MINUTES.
        "LOGIN_FAILURES_BEFORE_DELAY": _int("LOGIN_FAILURES_BEFORE_DELAY",  # earlier name kept working:
                                            _int("LOGIN_MAX_FAILURES_PER_USER", 5, minimum=1), minimum=1),
        "LOGIN_FIRST_DELAY_MINUTES": _int("LOGIN_FIRST_DELAY_MINUTES", 1, minimum=1),
        "LOGIN_MAX_DELAY_MINUTES": _int("LOGIN_MAX_DELAY_MINUTES", 60, minimum=1),
        "LOGIN_FAILURE_MEMORY_HOURS": _int("LOGIN_FAILURE_MEMORY_HOURS", 24, minimum=1),
        "LOGIN_THROTTLE_WINDOW_MINUTES": _int("LOGIN_THROTTLE_WINDOW_MINUTES", 15, minimum=1),
        "LOGIN_MAX_FAILURES_PER_IP": _int("LOGIN_MAX_FAILURES_PER_IP", 20, minimum=1),
        # How many reverse proxies in front of the app set X-Forwarded-For/-Proto (werkzeug ProxyFix):
        # 0 = none, the client address is the connection's; never more than there really are.
        "TRUSTED_PROXIES": _int("TRUSTED_PROXIES", 0, minimum=0),
        # List exports (views/base.py): XLSX is built in memory, so it keeps the smaller cap; CSV
        # streams in batches of EXPORT_BATCH_ROWS. A file a cap cuts short says so in its last row.
        "EXPORT_MAX_ROWS": int(os.environ.get("EXPORT_MAX_ROWS", "10000")),
        "EXPORT_STREAM_MAX_ROWS": _int("EXPORT_STREAM_MAX_ROWS", 1_000_000, minimum=1),
        "EXPORT_BATCH_ROWS": _int("EXPORT_BATCH_ROWS", 1000, minimum=1),
        # The ticket CSV reads its clocks, visits and repeated tickets this many rows at a time
        # (views/ticket_export.py: 3 statements per block).
        "TICKET_EXPORT_BLOCK_ROWS": _int("TICKET_EXPORT_BLOCK_ROWS", 5000, minimum=1),
        # A list counts (and pages through) at most this many rows; past it, "10,000+" and a
        # filter narrows the list (views.list_paging).
        "LIST_COUNT_CAP": _int("LIST_COUNT_CAP", 10_000, minimum=100),
        "ATTACHMENT_MAX_BYTES": 5 * 1024 * 1024,
        # Public doors: (uses, minutes) per client address.
        "PUBLIC_RATE_LIMITS": {"report": (5, 60), "track": (30, 10), "survey": (10, 60), "stop": (10, 60)},
        # Whole requests are capped a little above the largest attachment (413 beyond).
        "MAX_CONTENT_LENGTH": 6 * 1024 * 1024,
        "FLASK_ADMIN_SWATCH": "default",
        # Issue 18: what a browser loads leaves compressed (Flask-Compress): pages, styles, scripts.
        # Not the API's JSON (integrations may not decode it) nor streamed exports.
        "COMPRESS_MIMETYPES": ["text/html", "text/css", "text/javascript", "application/javascript",
                               "image/svg+xml"],
        # A browser revalidating a file it holds gets 304, Flask-Admin's files too (their ETags carry
        # the encoding: only these endpoints have the conditional check made again).
        "COMPRESS_STREAMING_ENDPOINT_CONDITIONAL": ["static", "admin.static"],
        # Issue 17. The address customers' links start with (the tracking link in an SMS).
        "PUBLIC_BASE_URL": _public_base_url(production),
        # The task queue's storage (backoffice/tasks.py): a SQLite file beside the database by
        # default (one machine, `make run`), redis://host:6379/0 in production.
        "TASK_QUEUE_URL": task_queue_url(instance),
        **_gateway_config(),
        # The company's letterhead on receipts and statements (backoffice/letterhead.py): empty keeps
        # the demo's defaults.
        **{key: os.environ.get(key, "") for key in ("COMPANY_NAME", "COMPANY_ADDRESS", "COMPANY_HOTLINE",
                                                      "COMPANY_SEAL_TEXT")},
        # /metrics (Prometheus): open when empty; else only with "Authorization: Bearer <token>".
        "METRICS_TOKEN": os.environ.get("METRICS_TOKEN", ""),
        # Benchmark mode (bench/bench.py): a stock Flask-Admin ticket list, a lean keyset page and
        # per-request SQL timing headers for comparison; never in production.
        "BENCH": _bench(production),
    }
    config.update(overrides)
    return config
