"""Keep the README honest: every setting, front-matter key, CLI command and CRM preset that the
code defines must be documented in the README section where a marketer looks for it."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import click
import pytest

from leadmagnet.cli import cli
from leadmagnet.content.contract import KEYS
from leadmagnet.foundation import config
from leadmagnet.leads import scoring

README = Path(__file__).resolve().parent.parent / "README.md"


def sections() -> dict[str, str]:
    """The README's ``## `` sections by heading."""
    parts = re.split(r"^## +(.+)$", README.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return {title.strip(): body for title, body in zip(parts[1::2], parts[2::2], strict=True)}


def commands(group: click.Group, prefix: str = "leadmagnet") -> list[str]:
    """Every command path of the click group, subcommands of nested groups included."""
    found = []
    for name, command in sorted(group.commands.items()):
        if command.hidden:
            continue
        path = f"{prefix} {name}"
        found.append(path)
        if isinstance(command, click.Group):
            found.extend(commands(command, path))
    return found


@pytest.mark.parametrize("setting", config.SETTINGS, ids=lambda s: s.env)
def test_every_setting_has_a_row_in_the_configuration_table(setting: config.Setting) -> None:
    table = sections()["Configuration"]
    assert re.search(rf"^\| `{setting.env}` \| .+ \| .+ \|$", table, flags=re.MULTILINE), (
        f"{setting.env} is not in the README Configuration table"
    )


@pytest.mark.parametrize("key", list(scoring.DEFAULTS))
def test_every_scoring_setting_is_documented_with_its_default(key: str) -> None:
    text = sections()["Nurturing leads"]
    assert re.search(rf"^\| `{key}` \| {scoring.DEFAULTS[key]} \| .+ \|$", text, flags=re.MULTILINE), (
        f"[scoring] {key} is not in the README table"
    )


@pytest.mark.parametrize("key", list(KEYS))
def test_every_front_matter_key_is_documented_in_writing_an_offer(key: str) -> None:
    text = sections()["Writing an offer"]
    assert re.search(rf"^\| `{key}` \|", text, flags=re.MULTILINE), f"front-matter key {key!r} is not in the README key table"


@pytest.mark.parametrize("command", commands(cli))
def test_every_command_is_listed_in_the_command_line_section(command: str) -> None:
    text = sections()["Command line"]
    assert re.search(rf"`{re.escape(command)}(?:[ `])", text), f"{command!r} is not in the README Command line section"


def crm_presets() -> list[str]:
    if importlib.util.find_spec("leadmagnet.export.presets") is None:
        return []
    from leadmagnet.export import presets as crm

    return sorted(getattr(crm, "PRESETS", {}))


@pytest.mark.skipif(not crm_presets(), reason="leadmagnet.export.presets defines no presets")
@pytest.mark.parametrize("preset", crm_presets() or ["none"])
def test_every_crm_preset_is_documented(preset: str) -> None:
    text = sections().get("Exporting to your CRM", "")
    assert f"`{preset}`" in text, f"CRM preset {preset!r} is not in the README section 'Exporting to your CRM'"


def test_walking_the_group_finds_the_foundation_commands() -> None:
    assert {"leadmagnet serve", "leadmagnet check", "leadmagnet new", "leadmagnet settings", "leadmagnet keys"} <= set(commands(cli))


def test_readme_rows_are_what_leadmagnet_settings_prints() -> None:
    """A documented setting's row is exactly the ``leadmagnet settings --markdown`` row (default, help)."""
    from click.testing import CliRunner

    rows = CliRunner().invoke(cli, ["settings", "--markdown"]).output.splitlines()[2:]
    table = sections()["Configuration"]
    for row in rows:
        name = row.split("|")[1].strip()
        if f"| {name} |" in table:
            assert row in table, f"README row differs from `leadmagnet settings --markdown`: {row}"
