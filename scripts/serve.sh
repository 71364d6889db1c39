#!/usr/bin/env bash
# Install leadmagnet into .venv and start the development server on the bundled sample offers.
# Usage: bash scripts/serve.sh [leadmagnet serve options, e.g. --port 8000]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh
"$VENV/bin/pip" install --quiet --disable-pip-version-check -e .
exec "$VENV/bin/leadmagnet" serve "$@"
