"""The static export of an A/B test (``build/edge.py``): each variant's page, and nginx snippets that
split real traffic at the edge by the weights, keep a visitor on one variant and give crawlers the
control, checked against a real nginx when the machine has one."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from leadmagnet.cli import cli
from tests.support.ports import free_port
from tests.support.servers import wait_until_up
from tests.test_assignment import TITLES, shown, write_test_offer

BASE = "https://offers.example.com"


@pytest.fixture
def exported(cli_runner, content_dir: Path, instance_dir: Path, tmp_path: Path) -> Path:
    write_test_offer(content_dir, weights=(1, 3))
    out = tmp_path / "public"
    args = ["--content", str(content_dir), "--instance", str(instance_dir), "build", "--base-url", BASE, str(out)]
    result = cli_runner.invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out


def test_build_writes_each_variant_page_with_its_name_in_form_and_beacon(exported: Path) -> None:
    control = (exported / "split-guide.html").read_text()
    variant = (exported / "ab" / "split-guide" / "b.html").read_text()
    assert shown(control) == "a" and shown(variant) == "b"
    assert 'data-slug="split-guide" data-variant="b"' in variant and 'data-variant="a"' in control
    for html in (control, variant):
        assert f'<link rel="canonical" href="{BASE}/split-guide">' in html  # one URL for search engines
        assert f'action="{BASE}/split-guide"' in html
    assert (exported / "ab" / "split-guide" / "b.html.gz").is_file()
    sitemap = (exported / "sitemap.xml").read_text()
    assert "/ab/" not in sitemap
    http = (exported / "nginx-ab-http.conf").read_text()
    assert 'split_clients "${remote_addr}${http_user_agent}split-guide" $leadmagnet_ab_split_guide {' in http
    assert "    25%      a;\n    *        b;" in http
    assert "    0b /ab/split-guide/b.html;" in http
    assert "try_files $leadmagnet_page_split_guide =404;" in (exported / "nginx-ab-server.conf").read_text()


def test_no_snippets_without_a_test(cli_runner, content_dir: Path, instance_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "plain"
    cli_runner.invoke(cli, ["--content", str(content_dir), "--instance", str(instance_dir), "build", "--base-url", BASE, str(out)])
    assert (out / "growth-playbook.html").is_file()
    assert not (out / "nginx-ab-http.conf").exists() and not (out / "ab").exists()


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")
def test_nginx_splits_by_the_weights_keeps_a_visitor_and_gives_crawlers_the_control(exported: Path, tmp_path: Path) -> None:
    port = free_port()
    conf = tmp_path / "nginx.conf"
    temp = tmp_path / "nginx-tmp"
    temp.mkdir()
    # As root, nginx's workers run as nobody, who cannot read pytest's private folders.
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf.write_text(
        f"{user}daemon off;\npid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/nginx-error.log;\nevents {{}}\nhttp {{\n"
        f"  access_log off;\n  client_body_temp_path {temp}/body;\n  proxy_temp_path {temp}/proxy;\n"
        f"  fastcgi_temp_path {temp}/fastcgi;\n  uwsgi_temp_path {temp}/uwsgi;\n  scgi_temp_path {temp}/scgi;\n"
        f"  include {exported}/nginx-ab-http.conf;\n"
        f"  server {{\n    listen 127.0.0.1:{port};\n    root {exported};\n    include {exported}/nginx-ab-server.conf;\n"
        "    location / { try_files $uri $uri.html =404; }\n  }\n}\n"
    )
    checked = subprocess.run(["nginx", "-t", "-c", str(conf)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    proc = subprocess.Popen(["nginx", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/split-guide"
        wait_until_up(f"http://127.0.0.1:{port}/growth-playbook", proc)

        def visit(agent: str) -> tuple[str, str]:
            with urllib.request.urlopen(urllib.request.Request(url, headers={"User-Agent": agent})) as response:
                return shown(response.read().decode()), response.headers["Cache-Control"]

        n = 300
        seen = Counter(visit(f"Mozilla/5.0 (visitor {i}) Firefox/120.0")[0] for i in range(n))
        assert abs(seen["b"] - 0.75 * n) <= 4.5 * math.sqrt(n * 0.75 * 0.25), seen
        for i in range(5):  # the same address and browser: the same variant, every time
            agent = f"Mozilla/5.0 (returning {i}) Firefox/120.0"
            assert len({visit(agent)[0] for _ in range(8)}) == 1
        assert visit("Mozilla/5.0 (visitor 1) Firefox/120.0")[1] == "private, max-age=300"
        crawlers = [
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "facebookexternalhit/1.1",
            "LinkedInBot/1.0",
        ]
        assert {visit(agent)[0] for agent in crawlers for _ in range(3)} == {"a"}
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/growth-playbook") as response:  # other pages as before
            assert TITLES["a"] not in response.read().decode()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
