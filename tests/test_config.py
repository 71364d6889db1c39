"""Settings (``leadmagnet.foundation.config``): the registry, the order of sources, the secret key."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from leadmagnet.app import create_app
from leadmagnet.foundation import config


def test_defaults_come_from_the_registry(tmp_path: Path) -> None:
    settings = config.resolve({"INSTANCE_DIR": str(tmp_path / "i")}, environ={})
    for s in config.SETTINGS:
        if s.name not in {"INSTANCE_DIR", "THEMES_DIR", "CONTENT_DIR", "DATABASE", "BASE_URL"}:
            assert settings[s.name] == s.default, s.name
    assert settings["DATABASE"] == str(tmp_path / "i" / "leadmagnet.db")
    assert Path(settings["CONTENT_DIR"]).is_absolute() and Path(settings["CONTENT_DIR"]).name == "content"


def test_each_source_wins_over_the_one_before(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "config.toml").write_text(
        'SITE_NAME = "From TOML"\nbase_url = "https://toml.example/"\nLEADMAGNET_PAGE_MAX_AGE = 60\nINDEX_PAGE = false\n'
    )
    env = {"LEADMAGNET_INSTANCE_DIR": str(instance), "LEADMAGNET_BASE_URL": "https://env.example", "LEADMAGNET_PAGE_MAX_AGE": "120"}
    settings = config.resolve({"PAGE_MAX_AGE": 7}, environ=env)
    assert settings["SITE_NAME"] == "From TOML"  # file beats default
    assert settings["INDEX_PAGE"] is False
    assert settings["BASE_URL"] == "https://env.example"  # env beats file
    assert settings["PAGE_MAX_AGE"] == 7  # overrides beat env
    assert config.resolve(environ=env)["PAGE_MAX_AGE"] == 120  # env, coerced to int


def test_config_py_is_read_when_there_is_no_toml(tmp_path: Path) -> None:
    (tmp_path / "config.py").write_text("SITE_NAME = 'From Python'\nhelper = 'ignored: lower case'\n")
    settings = config.resolve({"INSTANCE_DIR": str(tmp_path)}, environ={})
    assert settings["SITE_NAME"] == "From Python" and "HELPER" not in settings


def test_toml_tables_are_kept_as_nested_dicts(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[crm.my-preset]\nemail = "Email"\n')
    assert config.resolve({"INSTANCE_DIR": str(tmp_path)}, environ={})["CRM"] == {"my-preset": {"email": "Email"}}


def test_broken_toml_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("SITE_NAME = \n")
    with pytest.raises(ValueError, match=r"config\.toml: "):
        config.resolve({"INSTANCE_DIR": str(tmp_path)}, environ={})


@pytest.mark.parametrize(
    ("name", "raw", "value"),
    [
        ("INDEX_PAGE", "off", False),
        ("INDEX_PAGE", "Yes", True),
        ("RELOAD_INTERVAL", "0.5", 0.5),
        ("PAGE_MAX_AGE", "60", 60),
        ("SITE_NAME", "x", "x"),
    ],
)
def test_environment_strings_are_coerced_to_the_setting_type(name: str, raw: str, value: object) -> None:
    assert config.from_environ({f"LEADMAGNET_{name}": raw, "OTHER": "1"}) == {name: value}


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("INDEX_PAGE", "maybe", "LEADMAGNET_INDEX_PAGE: 'maybe' is not a boolean (use true or false)"),
        ("RELOAD_INTERVAL", "soon", "LEADMAGNET_RELOAD_INTERVAL: 'soon' is not a number"),
        ("PAGE_MAX_AGE", "1.5", "LEADMAGNET_PAGE_MAX_AGE: '1.5' is not a whole number"),
    ],
)
def test_bad_environment_value_names_the_variable(name: str, raw: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        config.from_environ({f"LEADMAGNET_{name}": raw})
    assert str(info.value) == message


def test_create_app_reads_the_environment(make_app, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADMAGNET_SITE_NAME", "Env Site")
    app = make_app()
    assert app.config["SITE_NAME"] == "Env Site"
    assert "· Env Site</title>" in app.test_client().get("/growth-playbook").get_data(as_text=True)


def test_secret_key_is_generated_with_mode_0600_and_reused(make_app, instance_dir: Path) -> None:
    first = make_app().config["SECRET_KEY"]
    key_file = instance_dir / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first) == 64 and key_file.read_text().strip() == first
    assert make_app().config["SECRET_KEY"] == first


def test_secret_key_setting_means_no_key_file(make_app, instance_dir: Path) -> None:
    assert make_app(SECRET_KEY="given").config["SECRET_KEY"] == "given"
    assert not (instance_dir / "secret_key").exists()


def test_instance_folder_is_absolute_even_when_given_relative(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "content").mkdir()
    app = create_app({"INSTANCE_DIR": "inst", "THEMES_DIR": "themes"})
    assert app.instance_path == str(tmp_path / "inst")
    assert (tmp_path / "inst" / "leadmagnet.db").is_file()


def test_missing_content_folder_falls_back_to_the_bundled_samples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    app = create_app({"INSTANCE_DIR": str(tmp_path / "i")})
    assert app.test_client().get("/growth-playbook").status_code == 200


@pytest.mark.parametrize("given_by", ["override", "environment", "config.toml"])
def test_explicit_missing_content_folder_is_not_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given_by: str) -> None:
    # A mistyped setting in production must not quietly put the sample offers online.
    missing = str(tmp_path / "none")
    overrides = {"INSTANCE_DIR": str(tmp_path / "i")}
    if given_by == "override":
        overrides["CONTENT_DIR"] = missing
    elif given_by == "environment":
        monkeypatch.setenv("LEADMAGNET_CONTENT_DIR", missing)
    else:
        (tmp_path / "i").mkdir()
        (tmp_path / "i" / "config.toml").write_text(f'content_dir = "{missing}"\n')
    app = create_app(overrides)
    assert app.config["CONTENT_DIR"] == missing
    assert app.test_client().get("/growth-playbook").status_code == 404
    assert app.test_client().get("/healthz").status_code == 503


def test_workers_starting_at_once_all_get_the_same_whole_key(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from leadmagnet.foundation.config import ensure_secret_key

    for attempt in range(20):
        folder = tmp_path / str(attempt)
        with ThreadPoolExecutor(8) as pool:
            keys = set(pool.map(ensure_secret_key, [folder] * 8))
        assert len(keys) == 1 and len(keys.pop()) == 64
        assert [p.name for p in folder.iterdir()] == ["secret_key"]  # no temporary file left


def test_an_empty_secret_key_file_is_refused_not_used(tmp_path: Path) -> None:
    from leadmagnet.foundation.config import ensure_secret_key

    (tmp_path / "secret_key").write_text("\n")
    with pytest.raises(ValueError, match="secret_key: the secret key is empty"):
        ensure_secret_key(tmp_path)
