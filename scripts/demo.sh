#!/usr/bin/env bash
# Install litert and its plugins into .venv, then run the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e . -e plugins/cpu -e plugins/formats -e plugins/ascend -e plugins/kirin_npu
.venv/bin/litert list-backends
exec .venv/bin/python scripts/demo.py
