#!/usr/bin/env bash
# Create the MindSpore oracle venv, outside the repository, for fixture export and the live tests.
#
# MindSpore is an oracle only: litert never imports it.  It gets its own venv
# so its pinned numpy/protobuf cannot disturb the project's packages.
#   bash tools/mindspore/setup_venv.sh            # -> /work/venvs/mindspore
#   MINDSPORE_VENV=/some/dir bash tools/mindspore/setup_venv.sh
# About 800 MB to download, 2.5 GB installed (CPU wheel, Python 3.11).
set -euo pipefail
VENV="${MINDSPORE_VENV:-/work/venvs/mindspore}"
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q "mindspore>=2.3"
"$VENV/bin/python" -c "import mindspore; print('mindspore', mindspore.__version__, 'in', '$VENV')"
