#!/usr/bin/env bash
# Install litert, its plugins and the test tools into .venv (building the CPU
# plugin's kernel library), run ruff and mypy, then the test suite, then run the kernel library's
# tests again under AddressSanitizer + UBSan.  This is what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# a kernel library that fails to build fails the tests (a user's install would fall back to numpy)
LITERT_CPU_REQUIRE_NATIVE=1 .venv/bin/python -m pip install -q -e ".[test]" -e plugins/cpu -e plugins/formats \
    -e plugins/ascend -e plugins/kirin_npu
# lint and type checks first: seconds, and a failure here names the line
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
if [ $# -eq 0 ]; then
    bash scripts/test-native-sanitizers.sh
fi
