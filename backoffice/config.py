"""Configuration from the environment. One place; no other module reads os.environ."""
from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path


class ConfigError(RuntimeError):
    """The app refuses to start with an unsafe production configuration."""


def _secret_key(instance: Path, production: bool) -> str:
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    if production:
        raise ConfigError("SECRET_KEY must be set when BACKOFFICE_ENV=production")
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


def load_config(instance_path: str, overrides: dict | None = None) -> dict:
    instance = Path(instance_path)
    overrides = overrides or {}
    env = overrides.get("BACKOFFICE_ENV") or os.environ.get("BACKOFFICE_ENV", "development")
    production = env == "production"
    idle = int(os.environ.get("BACKOFFICE_IDLE_MINUTES", "30"))
    config = {
        "BACKOFFICE_ENV": env,
        "SECRET_KEY": overrides.get("SECRET_KEY") or _secret_key(instance, production),
        "SQLALCHEMY_DATABASE_URI": overrides.get("SQLALCHEMY_DATABASE_URI")
        or _database_url(instance, production),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "BACKOFFICE_TIMEZONE": os.environ.get("BACKOFFICE_TIMEZONE", "Asia/Shanghai"),
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
        "LOGIN_THROTTLE_WINDOW_MINUTES": int(os.environ.get("LOGIN_THROTTLE_WINDOW_MINUTES", "15")),
        "LOGIN_MAX_FAILURES_PER_USER": int(os.environ.get("LOGIN_MAX_FAILURES_PER_USER", "5")),
        "LOGIN_MAX_FAILURES_PER_IP": int(os.environ.get("LOGIN_MAX_FAILURES_PER_IP", "20")),
        "EXPORT_MAX_ROWS": int(os.environ.get("EXPORT_MAX_ROWS", "10000")),
        "ATTACHMENT_MAX_BYTES": 5 * 1024 * 1024,
        # Public doors: (uses, minutes) per client address.
        "PUBLIC_RATE_LIMITS": {"report": (5, 60), "track": (30, 10)},
        # Whole requests are capped a little above the largest attachment (413 beyond).
        "MAX_CONTENT_LENGTH": 6 * 1024 * 1024,
        "FLASK_ADMIN_SWATCH": "default",
    }
    config.update(overrides)
    return config
