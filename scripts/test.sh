#!/usr/bin/env bash
# Install litert, its plugins and the test tools into .venv, then run the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test]" -e plugins/cpu -e plugins/formats -e plugins/ascend -e plugins/kirin_npu
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
