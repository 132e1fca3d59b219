#!/usr/bin/env bash
# Build the Python 3.7 environment that holds the real MindSpore Lite 2.0.0
# (the oracle of the .ms tests and of benchmarks/compare.py).
#
#   tools/mslite/build_venv.sh [VENV_DIR]       default: /work/venvs/mslite37
#
# MindSpore Lite 2.0.0 is on PyPI only as a cp37 manylinux wheel, so it needs
# a Python 3.7 interpreter (pyenv's 3.7.16 on these machines; override with
# PYTHON37=/path/to/python3.7).  litert never imports it: tests and tools run
# it as a subprocess (tools/mslite/msl_run.py) and read results from files.
set -euo pipefail

VENV="${1:-${LITERT_MSLITE_VENV:-/work/venvs/mslite37}}"
PY37="${PYTHON37:-}"
if [[ -z "$PY37" ]]; then
    for cand in /root/.pyenv/versions/3.7.16/bin/python "$(command -v python3.7 || true)"; do
        if [[ -n "$cand" && -x "$cand" ]]; then PY37="$cand"; break; fi
    done
fi
if [[ -z "$PY37" ]]; then
    echo "no Python 3.7 interpreter found (set PYTHON37=...)" >&2
    exit 1
fi

"$PY37" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade "pip<24"
WHEELS="$(mktemp -d)"
trap 'rm -rf "$WHEELS"' EXIT
"$VENV/bin/python" -m pip download --no-deps --python-version 3.7 --only-binary=:all: \
    --platform manylinux2014_x86_64 -d "$WHEELS" mindspore-lite==2.0.0
# Its runtime dependencies (numpy < 1.22 for cp37; onnx only for the fixture scripts).
"$VENV/bin/python" -m pip install --quiet "numpy<1.22" "$WHEELS"/mindspore_lite-2.0.0-*.whl
"$VENV/bin/python" -c "import mindspore_lite as m; print('mindspore_lite', m.__version__)"
echo "MindSpore Lite venv ready: $VENV"
