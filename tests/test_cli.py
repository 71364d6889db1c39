"""The foundation commands (``serve``, ``check``, ``new``, ``settings``, ``keys``), run for real:
through click's runner on temporary folders, and ``serve`` as a subprocess answering HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from leadmagnet.cli import cli
from leadmagnet.content.contract import KEYS
from leadmagnet.foundation import config
from tests.support.cases import build_content
from tests.support.ports import free_port
from tests.support.servers import wait_until_up

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
        "content/bad-starts-at-date.md: starts_at: '2027-13-01' is not an ISO 8601 date with a UTC offset or timezone",
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
    port = free_port()
    command = [str(LEADMAGNET), "--content", str(content), "--instance", str(tmp_path / "instance"), "serve", "--port", str(port)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/_ping", proc)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/valid-ebook", timeout=5) as response:
            assert response.status == 200
            body = response.read()
        assert b"<h1>A valid ebook</h1>" in body
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/invalid-yaml", timeout=5)
        assert info.value.code == 404
    finally:
        proc.terminate()
        try:
            output = proc.communicate(timeout=10)[0].decode()
        except subprocess.TimeoutExpired:
            proc.kill()
            output = proc.communicate()[0].decode()
    assert f"Serving 1 offers from {content} on http://127.0.0.1:{port}/" in output
    assert "content/invalid-yaml.md: front matter is not valid YAML" in output
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
