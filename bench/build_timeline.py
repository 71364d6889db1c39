"""Where the wall time of a cold ``leadmagnet build`` of 1,000 offers goes, phase by phase.

Each run is a new process, as a user's command is (start-up and imports included), building the
generated offers of ``bench/build.py`` into a new folder. It records when each phase starts and
ends: start-up and imports, the set-up before the first parse worker starts (build cache, scan,
Markdown converter, pool), the parse phase (the workers' first start to their last end), the
boundary between the two pools (catalog, first page, second fork), the render phase, and the
tail after the last page (cards, files, manifest, build cache). Only the phases where a core is
idle (start-up, set-up, boundary, tail) are not divided by the number of cores.

``--source DIR`` alternates each run with the same build from another checkout of the package,
for a before/after in the same minutes: ``git archive <commit> leadmagnet themes content | tar -x
-C DIR``. Run it under the shared lock and on a quiet machine:
``flock /tmp/work/bench.lock .venv/bin/python -m bench.build_timeline --runs 5 [--source DIR]``.
Nothing is recorded in bench/results: this explains the figures of ``bench/build.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.build import generate, work_dir

HERE = Path(__file__).resolve().parent.parent
PHASES = ("start-up and imports", "set-up before parsing", "parse phase", "boundary", "render phase", "tail after the last page", "total")

CHILD = """
import functools, json, os, sys, time
spawned = float(sys.argv[1])
sys.path.insert(0, sys.argv[2])
import leadmagnet.cli, leadmagnet.build as B
from leadmagnet.build import workers
from leadmagnet.foundation import config
from pathlib import Path
imported = time.time()
log = sys.argv[4]

def wrap(name):
    real = getattr(workers, name)
    @functools.wraps(real)
    def timed(*args, **kwargs):
        start = time.time()
        result = real(*args, **kwargs)
        with open(log, "a") as fh:
            fh.write(json.dumps([name, start, time.time()]) + "\\n")
        return result
    setattr(workers, name, timed)

for name in ("_parse_chunk", "render_chunk"):
    wrap(name)
settings = config.resolve({"CONTENT_DIR": sys.argv[5], "INSTANCE_DIR": sys.argv[6]})
B.build(settings, Path(sys.argv[3]))
done = time.time()
cpu = os.times()
print(json.dumps({"imported": imported, "done": done, "cpu": cpu.user + cpu.system, "children": cpu.children_user + cpu.children_system}))
"""


def run_once(source: Path, out: Path, content: Path, instance: Path, env: dict[str, str]) -> dict[str, float]:
    log = out.with_suffix(".log")
    spawned = time.time()
    result = subprocess.run(
        [sys.executable, "-c", CHILD, repr(spawned), str(source), str(out), str(log), str(content), str(instance)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    marks = json.loads(result.stdout.strip().splitlines()[-1])
    chunks = [json.loads(line) for line in log.read_text().splitlines()]
    parse = [c for c in chunks if c[0] == "_parse_chunk"]
    render = [c for c in chunks if c[0] == "render_chunk"]
    first_parse, last_parse = min(c[1] for c in parse), max(c[2] for c in parse)
    first_render, last_render = min(c[1] for c in render), max(c[2] for c in render)
    return {
        "start-up and imports": marks["imported"] - spawned,
        "set-up before parsing": first_parse - marks["imported"],
        "parse phase": last_parse - first_parse,
        "boundary": first_render - last_parse,
        "render phase": last_render - first_render,
        "tail after the last page": marks["done"] - last_render,
        "total": marks["done"] - spawned,
        "cpu": marks["cpu"] + marks["children"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offers", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--source", type=Path, help="another checkout of the package, run alternately (before/after)")
    parser.add_argument("--dir", type=Path, help="where the content and outputs go (default: /dev/shm, as bench/build.py)")
    args = parser.parse_args()
    sources = {"this checkout": HERE, **({f"--source {args.source}": args.source.resolve()} if args.source else {})}
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="lm-bench-timeline-", dir=work_dir(args.dir)) as tmp_name:
        tmp = Path(tmp_name)
        content, instance = tmp / "content", tmp / "instance"
        generate(content, args.offers)
        env = {**os.environ, "LEADMAGNET_BASE_URL": "https://offers.example.com", "PYTHONPYCACHEPREFIX": str(tmp / "pycache")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # bytecode cached, as installed
        results: dict[str, list[dict[str, float]]] = {label: [] for label in sources}
        for i, source in enumerate(sources.values()):  # warm-up: og cards drawn, bytecode written
            run_once(source, tmp / f"warm-{i}", content, instance, env)
        for n in range(args.runs):
            for i, (label, source) in enumerate(sources.items()):
                results[label].append(run_once(source, tmp / f"out-{n}-{i}", content, instance, env))
    print(f"{args.offers} offers, {args.runs} cold runs each, load average {load[0]:.2f} before, {os.getloadavg()[0]:.2f} after")
    for label, runs in results.items():
        best = min(runs, key=lambda r: r["total"])
        print(f"\n{label}: best run {best['total']:.2f} s (CPU {best['cpu']:.2f} s); median of each phase, then the best run's")
        for phase in PHASES:
            print(f"  {phase:26} {statistics.median(r[phase] for r in runs):6.3f} s   {best[phase]:6.3f} s")


if __name__ == "__main__":
    main()
