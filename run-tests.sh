#!/usr/bin/env bash
# Set everything up in .venv (created if missing) and run the test suite.
# Extra arguments go to pytest, e.g. ./run-tests.sh -k jobs_api
set -euo pipefail
cd "$(dirname "$0")"
. ./scripts/setup-env.sh
export QT_QPA_PLATFORM=offscreen
exec .venv/bin/python -m pytest "$@"
