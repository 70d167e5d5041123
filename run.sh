#!/usr/bin/env bash
# Set everything up in .venv (created if missing) and start Overseer Desktop on
# its embedded server with the demo flows. Extra arguments go to the app, e.g.
# ./run.sh --routines-dir ~/my/routines --flows-dir ~/my/flows
set -euo pipefail
cd "$(dirname "$0")"
. ./scripts/setup-env.sh
exec .venv/bin/python -m app "$@"
