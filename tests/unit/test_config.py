"""Configuration from the environment (issue 2 point 2)."""
import pytest

from backoffice.config import ConfigError, load_config


@pytest.fixture
def env(monkeypatch):
    for name in ("BACKOFFICE_ENV", "SECRET_KEY", "DATABASE_URL", "BACKOFFICE_ALLOW_SQLITE"):
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
    env.setenv("SECRET_KEY", "k" * 40)
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
