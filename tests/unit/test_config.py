"""Configuration from the environment."""
import secrets

import pytest

from backoffice.config import ConfigError, load_config


@pytest.fixture
def env(monkeypatch):
    for name in ("BACKOFFICE_ENV", "SECRET_KEY", "DATABASE_URL", "BACKOFFICE_ALLOW_SQLITE", "TRUSTED_PROXIES"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_default_database_is_sqlite_in_instance(env, tmp_path):
    config = load_config(str(tmp_path))
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'backoffice.db'}"


def test_development_secret_is_generated_once_and_kept(env, tmp_path):
    first = load_config(str(tmp_path))["SECRET_KEY"]
    assert len(first) >= 32 and load_config(str(tmp_path))["SECRET_KEY"] == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_production_refuses_to_start_without_secret_key(env, tmp_path):
    env.setenv("BACKOFFICE_ENV", "production")
    env.setenv("DATABASE_URL", "postgresql://u@h/db")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config(str(tmp_path))


def test_production_refuses_sqlite_unless_allowed(env, tmp_path):
    env.setenv("BACKOFFICE_ENV", "production")
    env.setenv("SECRET_KEY", secrets.token_urlsafe(32))
    with pytest.raises(ConfigError, match="PostgreSQL"):
        load_config(str(tmp_path))
    env.setenv("BACKOFFICE_ALLOW_SQLITE", "1")
    assert load_config(str(tmp_path))["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")


def test_postgres_urls_use_psycopg3(env, tmp_path):
    env.setenv("DATABASE_URL", "postgres://u:p@db:5432/bo")
    assert load_config(str(tmp_path))["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db:5432/bo"


def test_defaults_time_zone_and_locale(env, tmp_path):
    config = load_config(str(tmp_path))
    assert config["BACKOFFICE_TIMEZONE"] == "Asia/Shanghai"
    assert config["BABEL_DEFAULT_LOCALE"] == "zh_Hans_CN"


# --- a production key that is a secret, an environment name that is known ---

@pytest.fixture
def production(env):
    env.setenv("BACKOFFICE_ENV", "production")
    env.setenv("DATABASE_URL", "postgresql://u@h/db")
    return env


@pytest.mark.parametrize("key", [
    "x",
    "x" * 32,
    "change-me-change-me-change-me-change-me",
    "my-production-secret-key-for-the-backoffice",
    "abcdefghijklmnopqrstuvwxyz0123456789",
    "0123456789" * 4,
    "qwertyuiop-asdfghjkl-zxcvbnm-0001",
    secrets.token_hex(8),  # random, but 16 characters are too few
])
def test_production_refuses_a_short_or_obvious_secret_key(production, tmp_path, key):
    production.setenv("SECRET_KEY", key)
    with pytest.raises(ConfigError, match="SECRET_KEY is too weak"):
        load_config(str(tmp_path))


@pytest.mark.parametrize("key", [secrets.token_hex(32), secrets.token_urlsafe(32), secrets.token_hex(16)])
def test_production_accepts_a_random_secret_key(production, tmp_path, key):
    production.setenv("SECRET_KEY", key)
    assert load_config(str(tmp_path))["SECRET_KEY"] == key


@pytest.mark.parametrize("value,expected", [
    ("production", "production"), ("Production", "production"), (" PRODUCTION ", "production"),
    ("Development", "development"), ("testing", "testing"),
])
def test_environment_names_are_read_case_insensitively(env, tmp_path, value, expected):
    env.setenv("BACKOFFICE_ENV", value)
    env.setenv("SECRET_KEY", secrets.token_hex(32))
    env.setenv("BACKOFFICE_ALLOW_SQLITE", "1")
    config = load_config(str(tmp_path))
    assert config["BACKOFFICE_ENV"] == expected
    assert config["SESSION_COOKIE_SECURE"] is (expected == "production")


@pytest.mark.parametrize("value", ["prod", "Prod", "live", "dev", "staging"])
def test_an_unknown_environment_name_is_refused_not_taken_for_development(env, tmp_path, value):
    env.setenv("BACKOFFICE_ENV", value)
    with pytest.raises(ConfigError, match="BACKOFFICE_ENV must be one of production, development, testing"):
        load_config(str(tmp_path))


def test_trusted_proxies_default_to_none_and_must_be_a_count(env, tmp_path):
    assert load_config(str(tmp_path))["TRUSTED_PROXIES"] == 0
    env.setenv("TRUSTED_PROXIES", "1")
    assert load_config(str(tmp_path))["TRUSTED_PROXIES"] == 1
    for bad in ("-1", "yes"):
        env.setenv("TRUSTED_PROXIES", bad)
        with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
            load_config(str(tmp_path))


def test_an_unknown_message_gateway_stops_the_app_at_start(env, tmp_path):  # R-NTF-3
    env.setenv("SMS_GATEWAY", "tencent")
    with pytest.raises(ConfigError, match="SMS_GATEWAY='tencent'"):
        load_config(str(tmp_path))
    env.setenv("SMS_GATEWAY", " Aliyun ")
    assert load_config(str(tmp_path))["SMS_GATEWAY"] == "aliyun"


def test_the_task_queue_is_a_sqlite_file_in_the_instance_unless_told(env, tmp_path):
    env.delenv("TASK_QUEUE_URL", raising=False)
    assert load_config(str(tmp_path))["TASK_QUEUE_URL"] == f"sqlite:///{tmp_path / 'tasks.db'}"
    env.setenv("TASK_QUEUE_URL", "redis://127.0.0.1:6379/0")
    assert load_config(str(tmp_path))["TASK_QUEUE_URL"] == "redis://127.0.0.1:6379/0"


def test_production_needs_the_https_address_customers_links_lead_to(env, tmp_path):  # R-NTF-1
    env.setenv("BACKOFFICE_ENV", "production")
    env.setenv("SECRET_KEY", secrets.token_urlsafe(32))
    env.setenv("DATABASE_URL", "postgresql://u@h/db")
    env.delenv("PUBLIC_BASE_URL", raising=False)
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL"):
        load_config(str(tmp_path))
    env.setenv("PUBLIC_BASE_URL", "http://service.example.com")
    with pytest.raises(ConfigError, match="https://"):
        load_config(str(tmp_path))
    env.setenv("PUBLIC_BASE_URL", "https://service.example.com")
    assert load_config(str(tmp_path))["PUBLIC_BASE_URL"] == "https://service.example.com"
