"""Keep the README honest: every setting, front-matter key, CLI command and CRM preset that the
code defines must be documented in the README section where a marketer looks for it."""

from __future__ import annotations

import base64
import importlib.util
import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import click
import pytest

from leadmagnet.cli import cli
from leadmagnet.content.contract import KEYS
from leadmagnet.delivery import webhook_http
from leadmagnet.delivery.endpoints import new_secret
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


def signed_requests() -> tuple[str, list[tuple[dict[str, str], bytes, bool]]]:
    """A secret and requests signed as the sender signs them: (headers, body, should verify)."""
    secret = new_secret()
    key = base64.b64decode(secret.removeprefix("whsec_"))
    body = json.dumps({"type": "lead.created", "timestamp": "2026-12-03T12:00:00.000000Z", "data": {"contact": {"id": 1}}}).encode()
    now = int(time.time())
    good = webhook_http.headers(key, "msg_readme", now, body)
    other = webhook_http.headers(base64.b64decode(new_secret()[6:]), "msg_readme", now, body)
    rotated = {**good, "webhook-signature": f"{other['webhook-signature']} {good['webhook-signature']}"}  # several signatures
    stale = webhook_http.headers(key, "msg_readme", now - 3600, body)
    return secret, [
        (good, body, True),
        (rotated, body, True),
        (good, body + b" ", False),  # the body was changed
        ({**good, "webhook-id": "msg_other"}, body, False),
        (other, body, False),  # signed with another secret
        (stale, body, False),  # an hour old: a replay
    ]


def readme_code(language: str) -> str:
    """The ``language`` code block of the README's "Verifying a request"."""
    text = sections()["Webhooks"].split("### Verifying a request", 1)[1]
    return re.search(rf"^```{language}\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL).group(1)


def test_the_readmes_python_verification_accepts_our_signatures_and_nothing_else() -> None:
    namespace: dict = {}
    exec(readme_code("python"), namespace)  # noqa: S102 - the README's own example
    secret, cases = signed_requests()
    assert [namespace["verify"](secret, headers, body) for headers, body, _ in cases] == [ok for _, _, ok in cases]


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_the_readmes_node_verification_accepts_our_signatures_and_nothing_else(tmp_path: Path) -> None:
    secret, cases = signed_requests()
    script = tmp_path / "verify.js"
    script.write_text(
        readme_code("js")
        + "\nconst input = JSON.parse(require('fs').readFileSync(0, 'utf8'));\n"
        + "console.log(JSON.stringify(input.cases.map(([headers, body]) => verify(input.secret, headers, Buffer.from(body, 'base64')))));\n",
        encoding="utf-8",
    )
    given = json.dumps({"secret": secret, "cases": [[headers, base64.b64encode(body).decode()] for headers, body, _ in cases]})
    done = subprocess.run(["node", str(script)], input=given, capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(done.stdout) == [ok for _, _, ok in cases]
