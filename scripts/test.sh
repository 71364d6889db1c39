#!/usr/bin/env bash
# Install everything the tests need (Debian's Chromium for the browser tests, Debian's PostgreSQL
# server programs for the PostgreSQL half, nginx for the edge A/B test, the Python test extras),
# run the checks, then the whole suite in two stages: the fast tests first, then the browser (e2e)
# and slow (load, fault) tests.
# Stops at the first stage that fails.
#
# Usage: bash scripts/test.sh [pytest options]   (the options go to both stages, e.g. -x or -q)
# A stage that collects no test (pytest's exit code 5) fails: a filter that selects nothing is a mistake.
# Tests that run against PostgreSQL start a throwaway cluster of their own (tests/support/postgres.py;
# no system cluster is used). Once the server programs are installed (below), they are required:
# a cluster that cannot be started fails them. Only where PostgreSQL cannot be installed (no root,
# no sudo) are they skipped, with the reason. So CI, which runs this very command, always runs them.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh
[ -x /usr/bin/chromium ] || apt_install chromium  # the browser tests launch /usr/bin/chromium
# initdb and pg_ctl of any installed PostgreSQL version (Debian keeps them out of PATH)
# Without it (no root, no sudo) the PostgreSQL tests are skipped with the reason, not the whole run.
has_postgres() { compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null || command -v pg_ctl >/dev/null; }
has_postgres || apt_install postgresql || echo "== PostgreSQL could not be installed: its tests will be skipped" >&2
if has_postgres; then
  export LEADMAGNET_REQUIRE_POSTGRES="${LEADMAGNET_REQUIRE_POSTGRES:-1}"  # installed: its tests must run
fi
# nginx for the test that serves a static A/B export through the generated split snippets
# (tests/test_edge.py; skipped with the reason where it cannot be installed)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || apt_install nginx-light || echo "== nginx could not be installed: its test will be skipped" >&2
"$VENV/bin/pip" install --quiet --disable-pip-version-check -e '.[test]'

# -- checks (static; fast, so they run before any test) ---------------------------------------
# The layers and the Flask/SQL boundaries (import-linter contracts in pyproject.toml,
# docs/decisions.md "Architecture"); the private-name check is a test (tests/test_public_apis.py).
echo "== import contracts"
"$VENV/bin/lint-imports" --no-cache

# -- tests -------------------------------------------------------------------------------------
stage() {  # stage NAME MARK-EXPRESSION [pytest options]
  local name=$1 marks=$2 status=0 start=$SECONDS
  shift 2
  echo "== $name tests (-m \"$marks\")"
  "$VENV/bin/python" -m pytest -m "$marks" "$@" || status=$?
  echo "== $name tests: exit $status in $((SECONDS - start)) s"
  if [ "$status" -eq 5 ]; then
    echo "== $name tests: none collected; that counts as a failure" >&2
  fi
  return "$status"
}

# The fast tests on both cores (pytest-xdist; each worker starts its own PostgreSQL cluster);
# the browser and load tests one at a time: they measure and drive servers of their own.
stage fast "not e2e and not slow" -n 2 "$@"
stage "e2e and slow" "e2e or slow" "$@"
echo "== all tests passed in $SECONDS s"
