"""``LEADMAGNET_DATABASE`` (``leadmagnet.foundation.database_url``): the spellings accepted, the
ones refused with a message, and a password never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadmagnet.foundation import config, database_url


def resolved(value: str, tmp_path: Path) -> str:
    return config.resolve({"INSTANCE_DIR": str(tmp_path / "instance"), "DATABASE": value}, environ={})["DATABASE"]


def test_unset_is_the_instance_folders_file(tmp_path: Path) -> None:
    assert resolved("", tmp_path) == str(tmp_path / "instance" / "leadmagnet.db")


def test_a_path_and_sqlite_urls_become_absolute_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolved("data/leads.db", tmp_path) == str(tmp_path / "data" / "leads.db")
    assert resolved("sqlite:///data/leads.db", tmp_path) == str(tmp_path / "data" / "leads.db")  # three slashes: relative
    assert resolved(f"sqlite:///{tmp_path}/abs.db", tmp_path) == str(tmp_path / "abs.db")  # four: absolute
    assert database_url.backend(resolved("sqlite:///data/leads.db", tmp_path)) == "sqlite"


def test_postgresql_urls_are_kept_and_postgres_is_the_same(tmp_path: Path) -> None:
    url = "postgresql://lm:s3cret@db.internal:5432/leads?sslmode=require"
    assert resolved(url, tmp_path) == url
    assert resolved("postgres://lm@db/leads", tmp_path) == "postgresql://lm@db/leads"
    assert database_url.backend(url) == "postgresql"


def test_the_environment_selects_postgresql(tmp_path: Path) -> None:
    env = {"LEADMAGNET_INSTANCE_DIR": str(tmp_path), "LEADMAGNET_DATABASE": "postgresql://lm:pw@db/leads"}
    assert config.resolve(environ=env)["DATABASE"] == "postgresql://lm:pw@db/leads"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "mysql://root@db/leads",
            r"LEADMAGNET_DATABASE: mysql:// databases are not supported; use a file path, sqlite:///path or postgresql://",
        ),
        ("sqlite://leads.db", r"LEADMAGNET_DATABASE: 'sqlite://leads.db' is not an SQLite URL; write sqlite:///relative/path.db"),
        ("postgresql://lm:s3cret@db/", r"LEADMAGNET_DATABASE: postgresql://lm:\*\*\*@db/ names no database"),
    ],
)
def test_other_urls_are_refused_with_the_forms_that_work(tmp_path: Path, value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        resolved(value, tmp_path)
    assert "s3cret" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://lm:s3cret@db:5432/leads", "postgresql://lm:***@db:5432/leads"),
        ("postgresql://lm:p%40ss:word@db/leads?sslmode=require", "postgresql://lm:***@db/leads?sslmode=require"),
        ("postgresql://lm@db/leads?password=s3cret&sslmode=require", "postgresql://lm@db/leads?password=***&sslmode=require"),
        ("postgresql://lm:s3cret@h1:5432,h2:5433/leads", "postgresql://lm:***@h1:5432,h2:5433/leads"),
        ("postgresql://lm@db/leads", "postgresql://lm@db/leads"),
        ("/var/lib/leadmagnet/leadmagnet.db", "/var/lib/leadmagnet/leadmagnet.db"),
    ],
)
def test_masked_hides_the_password(url: str, shown: str) -> None:
    assert database_url.masked(url) == shown


def test_scrubbed_removes_the_password_from_an_error_text() -> None:
    url = "postgresql://lm:p%40ss@db/leads?sslmode=require"
    text = "could not connect with password p@ss (p%40ss)"
    assert database_url.scrubbed(text, url) == "could not connect with password *** (***)"
    assert database_url.scrubbed("no secret here", "/var/lib/leadmagnet.db") == "no secret here"
