"""The built wheel carries the default theme and the sample content, and an installed copy
(no checkout on the path, an empty working directory) serves the samples with that theme."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # pip builds with hatchling from PyPI in an isolated environment, as a release would.
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)], check=True, timeout=300)
    (built,) = out.glob("leadmagnet-*.whl")
    return built


def test_wheel_contains_the_default_theme_and_samples(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "leadmagnet/_bundled/themes/default/templates/offer.html" in names
    assert "leadmagnet/_bundled/themes/default/static/critical.css" in names
    samples = {n for n in names if n.startswith("leadmagnet/_bundled/content/") and n.endswith(".md")}
    assert {Path(n).name for n in samples} >= {"growth-playbook.md", "seo-checklist.md", "q1-product-demo.md", "scaling-content-2026.md"}
    assert "leadmagnet/_bundled/content/files/growth-playbook.pdf" in names  # the samples' assets too
    assert not [n for n in names if "__pycache__" in n or n.startswith("tests/")]
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "leadmagnet = leadmagnet.cli:run" in zipfile.ZipFile(wheel).read(entry_points).decode()


SMOKE = """
import sys
import leadmagnet
from leadmagnet.app import create_app
assert "/site/leadmagnet/" in leadmagnet.__file__, leadmagnet.__file__
app = create_app({"INSTANCE_DIR": "instance"})
client = app.test_client()
page = client.get("/growth-playbook")
assert page.status_code == 200, page.status_code
assert b"<h1>The Growth Playbook</h1>" in page.data
assert client.get("/media/assets/funnel.svg").status_code == 200
print(app.config["CONTENT_DIR"])
"""


def test_installed_wheel_serves_the_bundled_samples(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target", str(site), str(wheel)],
        check=True,
        timeout=120,
    )
    work = tmp_path / "work"
    work.mkdir()
    # The dependencies come from the test venv; leadmagnet itself only from the installed wheel.
    result = subprocess.run(
        [sys.executable, "-c", SMOKE],
        cwd=work,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(site / "leadmagnet" / "_bundled" / "content")
    assert (work / "instance" / "secret_key").is_file()
