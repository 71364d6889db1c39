#!/usr/bin/env bash
# Install everything the tests need (Debian's Chromium for the browser tests, the Python test
# extras) and run the whole suite. Usage: bash scripts/test.sh [pytest options]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh
[ -x /usr/bin/chromium ] || apt_install chromium  # the browser tests launch /usr/bin/chromium
"$VENV/bin/pip" install --quiet --disable-pip-version-check -e '.[test]'
exec "$VENV/bin/python" -m pytest "$@"
