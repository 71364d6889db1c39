"""The foundation commands (``serve``, ``check``, ``new``, ``settings``, ``keys``), run for real:
through click's runner on temporary folders, and ``serve`` as a subprocess answering HTTP."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from leadmagnet.app import create_app
from leadmagnet.cli import cli
from leadmagnet.content.catalog import load_catalog
from leadmagnet.content.contract import KEYS
from leadmagnet.foundation import config
from tests.support.cases import build_content
from tests.support.content import submit
from tests.support.ports import free_port
from tests.support.servers import wait_until_up
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parent.parent
LEADMAGNET = Path(sys.executable).parent / "leadmagnet"


def run(runner: CliRunner, *args: str):
    return runner.invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def folders(tmp_path: Path) -> list[str]:
    return ["--content", str(tmp_path / "content"), "--instance", str(tmp_path / "instance")]


@pytest.mark.parametrize("offer_type", ["ebook", "webinar"])
def test_new_writes_an_offer_that_passes_check(cli_runner: CliRunner, tmp_path: Path, folders: list[str], offer_type: str) -> None:
    result = run(cli_runner, *folders, "new", offer_type, "q1-demo")
    assert result.exit_code == 0, result.output
    source = tmp_path / "content" / "q1-demo.md"
    assert f"wrote {source}" in result.output
    text = source.read_text()
    assert f"type: {offer_type}" in text and "# " in text  # commented starting point
    if offer_type == "ebook":
        assert (tmp_path / "content" / "files" / "q1-demo.pdf").read_bytes().startswith(b"%PDF")
    checked = run(cli_runner, *folders, "check", "--strict")
    assert checked.exit_code == 0, checked.output
    assert "1 offers OK, 0 errors, 0 warnings" in checked.output


@pytest.mark.parametrize("offer_type", ["ebook", "webinar"])
def test_new_writes_a_draft_and_says_how_to_publish_it(cli_runner: CliRunner, tmp_path: Path, folders: list[str], offer_type: str) -> None:
    """A placeholder offer is never published by accident: it is a draft until the author says so."""
    result = run(cli_runner, *folders, "new", offer_type, "q1-demo")
    assert result.exit_code == 0, result.output
    assert "draft" in result.output and "remove `draft: true`" in result.output
    assert "\ndraft: true\n" in (tmp_path / "content" / "q1-demo.md").read_text()
    catalog = load_catalog(tmp_path / "content")
    assert catalog.errors == [] and catalog.pages["q1-demo"].offer.draft is True
    checked = run(cli_runner, *folders, "check")
    assert checked.exit_code == 0 and "1 drafts not published" in checked.output, checked.output


def test_new_refuses_to_overwrite_and_bad_slugs(cli_runner: CliRunner, tmp_path: Path, folders: list[str]) -> None:
    assert run(cli_runner, *folders, "new", "ebook", "guide").exit_code == 0
    source = tmp_path / "content" / "guide.md"
    source.write_text("mine")
    again = cli_runner.invoke(cli, [*folders, "new", "ebook", "guide"])
    assert again.exit_code == 1 and f"{source} already exists; pick another slug or pass --force" in again.output
    assert source.read_text() == "mine"
    assert run(cli_runner, *folders, "new", "ebook", "guide", "--force").exit_code == 0
    assert source.read_text() != "mine"
    bad = cli_runner.invoke(cli, [*folders, "new", "ebook", "Bad_Slug"])
    assert bad.exit_code == 2 and "use lower-case letters, digits and single hyphens" in bad.output
    reserved = cli_runner.invoke(cli, [*folders, "new", "webinar", "healthz"])
    assert reserved.exit_code == 2 and "used by leadmagnet itself" in reserved.output
    wrong_type = cli_runner.invoke(cli, [*folders, "new", "podcast", "x"])
    assert wrong_type.exit_code == 2


def test_check_lists_every_problem_and_exits_1(cli_runner: CliRunner, tmp_path: Path) -> None:
    content = build_content(
        tmp_path,
        "bad-starts-at-date",
        "invalid-yaml",
        "unknown-key-typo",
        "slug-clash-a",
        "slug-clash-b",
        "missing-theme",
        "valid-ebook",
        "long-description",
    )
    result = run(cli_runner, "--content", str(content), "--instance", str(tmp_path / "i"), "check")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    expected = [
        "content/bad-starts-at-date.md: starts_at: '2027-13-01' is not a valid date: month 13 (a month is 01 to 12)",
        "content/invalid-yaml.md: front matter is not valid YAML at line",
        "content/unknown-key-typo.md: subtitel: unknown key (did you mean 'subtitle'?)",
        "content/slug-clash-b.md: slug: 'same-slug' is already used by content/slug-clash-a.md",
        "content/missing-theme.md: theme: theme 'no-such-theme' not found",
        "content/long-description.md: description: warning: is 163 characters",
    ]
    for start in expected:
        assert any(line.startswith(start) for line in lines), (start, lines)
    assert "3 offers OK, 5 errors, 1 warnings in" in result.output


def test_check_is_0_when_clean_and_strict_fails_on_warnings(cli_runner: CliRunner, tmp_path: Path) -> None:
    content = build_content(tmp_path, "valid-ebook", "long-description")
    args = ["--content", str(content), "--instance", str(tmp_path / "i"), "check"]
    assert run(cli_runner, *args).exit_code == 0
    assert run(cli_runner, *args, "--strict").exit_code == 1


def test_check_of_the_sample_content_is_clean(cli_runner: CliRunner, tmp_path: Path) -> None:
    result = run(cli_runner, "--content", str(ROOT / "content"), "--instance", str(tmp_path / "i"), "check", "--strict")
    assert result.exit_code == 0, result.output
    assert "4 offers OK, 0 errors, 0 warnings" in result.output


def test_check_of_a_missing_folder_says_so(cli_runner: CliRunner, tmp_path: Path) -> None:
    result = cli_runner.invoke(cli, ["--content", str(tmp_path / "none"), "check"])
    assert result.exit_code == 1 and "content folder does not exist" in result.output


def test_check_reads_the_content_dir_setting(cli_runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    content = build_content(tmp_path, "bad-slug")
    monkeypatch.setenv("LEADMAGNET_CONTENT_DIR", str(content))
    result = cli_runner.invoke(cli, ["check"])
    assert result.exit_code == 1 and "content/bad-slug.md: slug:" in result.output


def test_settings_lists_every_setting(cli_runner: CliRunner) -> None:
    text = run(cli_runner, "settings").output
    table = run(cli_runner, "settings", "--markdown").output
    for s in config.SETTINGS:
        assert s.env in text
        assert f"| `{s.env}` |" in table


def test_keys_lists_every_front_matter_key(cli_runner: CliRunner) -> None:
    text = run(cli_runner, "keys").output
    for key in KEYS.values():
        assert f"{key.name} (" in text
    assert "file (ebook, required)" in text and "join_url (webinar, required)" in text


def test_help_of_each_foundation_command_has_an_example(cli_runner: CliRunner) -> None:
    for name in ("serve", "check", "new", "settings", "keys"):
        assert "Example: leadmagnet" in run(cli_runner, name, "--help").output, name


def test_serve_starts_and_answers_http(tmp_path: Path) -> None:
    content = build_content(tmp_path, "valid-ebook", "invalid-yaml")
    command = [str(LEADMAGNET), "--content", str(content), "--instance", str(tmp_path / "instance"), "serve", "--port"]

    def fetch(port: int) -> None:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/valid-ebook", timeout=5) as response:
            assert response.status == 200
            body = response.read()
        assert b"<h1>A valid ebook</h1>" in body
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/invalid-yaml", timeout=5)
        assert info.value.code == 404

    output, port = serving(command, fetch, cwd=tmp_path)
    assert f"Serving 1 offers from {content} on http://127.0.0.1:{port}/" in output
    assert output.count("content/invalid-yaml.md: front matter is not valid YAML") == 1, output  # once, not again by the CLI
    assert (tmp_path / "instance" / "leadmagnet.db").is_file()


def test_bad_setting_exits_with_a_message_naming_it(cli_runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADMAGNET_INDEX_PAGE", "maybe")
    for args in (["check"], ["new", "ebook", "x"], ["serve", "--port", "1"]):
        result = cli_runner.invoke(cli, ["--content", str(tmp_path / "c"), "--instance", str(tmp_path / "i"), *args])
        assert result.exit_code == 1, args
        assert "Error: LEADMAGNET_INDEX_PAGE: 'maybe' is not a boolean (use true or false)" in result.output, args


def test_broken_config_toml_exits_with_a_message_naming_it(cli_runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "i").mkdir()
    (tmp_path / "i" / "config.toml").write_text("SITE_NAME = \n")
    result = cli_runner.invoke(cli, ["--content", str(tmp_path / "c"), "--instance", str(tmp_path / "i"), "check"])
    assert result.exit_code == 1 and f"Error: {tmp_path / 'i' / 'config.toml'}: " in result.output


def test_check_validates_drafts_and_scheduled_offers_too(cli_runner: CliRunner, tmp_path: Path) -> None:
    content = build_content(tmp_path, "draft", "scheduled")
    (content / "draft.md").write_text((content / "draft.md").read_text().replace("file: files/guide.pdf", "file: files/missing.pdf"))
    result = run(cli_runner, "--content", str(content), "--instance", str(tmp_path / "i"), "check")
    assert result.exit_code == 1
    assert "content/draft.md: file: 'files/missing.pdf' does not exist under" in result.output
    assert "1 offers OK, 1 errors, 0 warnings" in result.output


def test_build_command_ends_without_teardown_and_loses_nothing(tmp_path: Path) -> None:
    """The installed ``leadmagnet build`` skips the interpreter's teardown after a success: its
    report still reaches a pipe, the export and build cache are whole, and a failure still
    exits with its message and status."""
    content = build_content(tmp_path / "site")
    instance = tmp_path / "instance"
    env = {**os.environ, "LEADMAGNET_BASE_URL": "https://offers.example.com"}
    command = [str(LEADMAGNET), "--content", str(content), "--instance", str(instance), "build"]
    done = subprocess.run([*command, str(tmp_path / "out")], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().endswith("pages rendered)"), done.stdout
    manifest = json.loads((tmp_path / "out" / ".leadmagnet-build.json").read_text())["files"]
    assert manifest and all((tmp_path / "out" / rel).is_file() for rel in manifest)
    assert list((instance / "build-cache").glob("*.pickle"))
    failed = subprocess.run([*command, str(content / "out")], capture_output=True, text=True, timeout=120, env=env)
    assert failed.returncode == 1 and "must be outside the content folder" in failed.stderr
    # Started with stdout closed (cron, pythonw): still a success.
    quiet = subprocess.run(
        ["bash", "-c", '"$@" >&-', "run", *command, str(tmp_path / "no-stdout")], capture_output=True, text=True, timeout=120, env=env
    )
    assert quiet.returncode == 0, quiet.stderr
    assert (tmp_path / "no-stdout" / ".leadmagnet-build.json").is_file()


def test_scripts_calling_main_keep_their_process_and_atexit_handlers_run(tmp_path: Path) -> None:
    """Only the installed command ends quickly: a deploy script calling ``main()`` gets its
    SystemExit back and carries on, and atexit handlers (an instance config.py may register
    some) run in both cases."""
    content = build_content(tmp_path / "site")
    env = {**os.environ, "LEADMAGNET_BASE_URL": "https://offers.example.com"}
    args = ["--content", str(content), "--instance", str(tmp_path / "instance"), "build"]
    script = (
        "import atexit, sys\n"
        "from leadmagnet.cli import main\n"
        "atexit.register(lambda: print('atexit ran', flush=True))\n"
        f"sys.argv = ['leadmagnet', *{args!r}, {str(tmp_path / 'a')!r}]\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    print('main exited with', exc.code)\n"
        "print('after the build: uploading')\n"
    )
    wrapper = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env)
    assert wrapper.returncode == 0, wrapper.stderr
    assert wrapper.stdout.splitlines()[-3:] == ["main exited with 0", "after the build: uploading", "atexit ran"]
    (tmp_path / "instance").mkdir(exist_ok=True)
    (tmp_path / "instance" / "config.py").write_text("import atexit\natexit.register(lambda: print('instance atexit ran', flush=True))\n")
    installed = subprocess.run([str(LEADMAGNET), *args, str(tmp_path / "b")], capture_output=True, text=True, timeout=120, env=env)
    assert installed.returncode == 0, installed.stderr
    assert installed.stdout.splitlines()[-1] == "instance atexit ran"


BROKEN_WEBINAR = """---
title: Broken
type: webinar
description: Every problem of this file is reported, each once.
starts_at: 2027-13-01T10:00:00
timezone: Europe/Pariss
duration_minutes: 30
join_url: https://meet.example.com/a
fields:
  - {name: plan, type: checkbx, requird: true}
  - frist_name
  - {name: size, type: select}
---
Body.
"""


def test_check_prints_each_problem_once_and_every_one(tmp_path: Path) -> None:
    """The installed command, as a person runs it: each problem on one line of the output
    (not again on stderr through logging), and every problem, not the first one per key."""
    content = tmp_path / "content"
    content.mkdir()
    (content / "broken.md").write_text(BROKEN_WEBINAR)
    done = subprocess.run(
        [str(LEADMAGNET), "--content", str(content), "--instance", str(tmp_path / "i"), "check"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    lines = (done.stdout + done.stderr).splitlines()
    problems = [line for line in lines if line.startswith("content/broken.md: ")]
    assert len(problems) == len(set(problems)), lines
    expected = [
        "content/broken.md: starts_at: '2027-13-01T10:00:00' is not a valid date: month 13 (a month is 01 to 12)",
        "content/broken.md: timezone: 'Europe/Pariss' is not an IANA timezone name (did you mean 'Europe/Paris'?)",
        "content/broken.md: fields: item 1 (plan): unknown key 'requird' (did you mean 'required'?)",
        "content/broken.md: fields: item 1 (plan): type 'checkbx' is not a field type (did you mean 'checkbox'?)",
        "content/broken.md: fields: item 2: 'frist_name' is not a built-in field",
        "content/broken.md: fields: item 3 (size): a select field needs choices",
    ]
    for start in expected:
        assert sum(line.startswith(start) for line in problems) == 1, (start, problems)
    assert len(problems) == len(expected), problems
    assert "0 offers OK, 6 errors, 0 warnings in" in done.stderr


def offer_file(content: Path, name: str, *lines: str) -> None:
    content.mkdir(exist_ok=True)
    (content / "files").mkdir(exist_ok=True)
    (content / "files" / "guide.pdf").write_bytes(b"%PDF-1.4\n")
    (content / f"{name}.md").write_text("---\n" + "\n".join(lines) + "\ndescription: A case.\n---\nBody.\n")


WEBINAR = ("title: W", "type: webinar", "duration_minutes: 30", "join_url: https://meet.example.com/a")


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (("starts_at: 2027-13-01T10:00:00", "timezone: Europe/Paris"), "starts_at: '2027-13-01T10:00:00' is not a valid date: month 13"),
        (
            ("starts_at: 2027-02-30T10:00:00+01:00",),
            "starts_at: '2027-02-30T10:00:00+01:00' is not a valid date: day 30 (February 2027 has 28 days)",
        ),
        (
            ("starts_at: 2027-03-01T25:00:00", "timezone: Europe/Paris"),
            "starts_at: '2027-03-01T25:00:00' is not a valid date: hour 25 (an hour is 00 to 23)",
        ),
        (("starts_at: 2027-03-01T16:60:00Z",), "starts_at: '2027-03-01T16:60:00Z' is not a valid date: minute 60 (a minute is 00 to 59)"),
        (
            ("starts_at: 2027-03-01T16:00:00", "timezone: europe/paris"),
            "timezone: 'europe/paris' is not an IANA timezone name (did you mean 'Europe/Paris'?)",
        ),
    ],
)
def test_a_bad_date_or_zone_says_what_is_wrong(cli_runner: CliRunner, tmp_path: Path, lines: tuple[str, ...], expected: str) -> None:
    offer_file(tmp_path / "content", "w", *WEBINAR, *lines)
    result = run(cli_runner, "--content", str(tmp_path / "content"), "--instance", str(tmp_path / "i"), "check")
    assert result.exit_code == 1
    assert any(line.startswith(f"content/w.md: {expected}") for line in result.output.splitlines()), result.output


def test_dates_already_past_are_warnings(cli_runner: CliRunner, tmp_path: Path) -> None:
    content = tmp_path / "content"
    offer_file(content, "ended", "title: E", "type: ebook", "file: files/guide.pdf", "expires_at: 2020-01-01")
    offer_file(content, "past", *WEBINAR, "starts_at: 2020-03-01T16:00:00+01:00")
    offer_file(content, "past-with-replay", *WEBINAR, "starts_at: 2020-03-01T16:00:00+01:00", "replay_url: https://video.example.com/r")
    offer_file(content, "coming", *WEBINAR, "starts_at: 2099-03-01T16:00:00+01:00", "expires_at: 2099-12-31")
    args = ["--content", str(content), "--instance", str(tmp_path / "i"), "check"]
    result = run(cli_runner, *args)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(line.startswith("content/ended.md: expires_at: warning: 2020-01-01 00:00 UTC has passed") for line in lines), lines
    assert any(line.startswith("content/past.md: starts_at: warning: 2020-03-01 16:00 UTC+01:00 has passed") for line in lines), lines
    assert not [line for line in lines if line.startswith(("content/past-with-replay.md", "content/coming.md"))], lines
    assert "4 offers OK, 0 errors, 2 warnings" in result.output
    assert run(cli_runner, *args, "--strict").exit_code == 1


def test_serve_sends_the_queued_emails_and_says_so(tmp_path: Path) -> None:
    """The development server sends by default (without SMTP: instance/outbox/*.eml), so the
    quick start's first form fill gives an email; LEADMAGNET_SEND_IN_SERVER=false turns it off."""
    content = build_content(tmp_path, "valid-ebook")
    instance = tmp_path / "instance"
    app = create_app({"CONTENT_DIR": str(content), "INSTANCE_DIR": str(instance), "TESTING": True, "RATE_LIMIT": "off"})
    assert submit(app.test_client(), "valid-ebook", "ann@example.com").status_code in (302, 303)
    outbox = instance / "outbox"
    assert not list(outbox.glob("*.eml"))  # queued, not sent
    command = [str(LEADMAGNET), "--content", str(content), "--instance", str(instance), "serve", "--port"]
    sent, _ = serving(
        command, lambda _port: wait_until(lambda: list(outbox.glob("*.eml")), timeout=30, what="the server's sender wrote the email")
    )
    assert f"Also sending queued emails from this process, as files in {outbox}" in sent, sent
    quiet, _ = serving(command, lambda _port: None, env={**os.environ, "LEADMAGNET_SEND_IN_SERVER": "false"})
    assert "Not sending emails: run `leadmagnet send --watch` beside it" in quiet, quiet


def serving(command: list[str], meanwhile, env: dict[str, str] | None = None, cwd: Path | None = None) -> tuple[str, int]:
    """Run ``command PORT`` until it answers and ``meanwhile(port)`` returns; its output and port."""
    port = free_port()
    proc = subprocess.Popen([*command, str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=cwd)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/_ping", proc)
        meanwhile(port)
    finally:
        proc.terminate()
        try:
            output = proc.communicate(timeout=10)[0].decode()
        except subprocess.TimeoutExpired:
            proc.kill()
            output = proc.communicate()[0].decode()
    return output, port


def quick_start_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Quick start\n", 1)[1].split("\n## ", 1)[0]
    return section.split("```sh\n")[1:]


def test_readme_commands_use_one_form_and_the_quick_start_runs_as_written(tmp_path: Path) -> None:
    """Every example says `leadmagnet ...` (the quick start puts .venv/bin on PATH once), and the
    quick start's commands run as written in a checkout: a .venv and the sample content."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert ".venv/bin/leadmagnet" not in text
    blocks = [block.split("```", 1)[0] for block in quick_start_blocks()]
    (commands,) = [block for block in blocks if "leadmagnet new" in block]
    assert commands.startswith('export PATH="$PWD/.venv/bin:$PATH"'), commands
    section = text.split("\n## Quick start\n", 1)[1].split("\n## ", 1)[0]
    assert "leadmagnet send" in section and "remove `draft: true`" in section
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / ".venv").symlink_to(ROOT / ".venv")
    shutil.copytree(ROOT / "content", checkout / "content")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADMAGNET_")}
    env["PATH"] = "/usr/bin:/bin"  # no leadmagnet but the one the quick start puts on PATH
    done = subprocess.run(["bash", "-euc", commands], cwd=checkout, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (checkout / "content" / "growth-guide.md").is_file() and (checkout / "content" / "q1-demo.md").is_file()
