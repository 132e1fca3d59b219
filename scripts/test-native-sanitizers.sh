#!/usr/bin/env bash
# Build litert-cpu's kernel library with AddressSanitizer + UBSan and run the
# native kernel tests and the model tests against it.
#
# The sanitized build goes to a scratch copy of plugins/cpu that is put first
# on PYTHONPATH, so the developer's own build is left alone.  Python itself is
# not instrumented: libasan is preloaded, and leak checking is off (CPython
# keeps memory at exit by design; the library's per-thread scratch buffers
# live as long as their threads).
#
#   bash scripts/test-native-sanitizers.sh            # after scripts/test.sh made .venv
#   bash scripts/test-native-sanitizers.sh -k conv    # extra pytest arguments
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
[ -x "$PY" ] || { echo "run scripts/test.sh first (it creates .venv)" >&2; exit 1; }
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cp -r plugins/cpu/native plugins/cpu/litert_cpu plugins/cpu/setup.py plugins/cpu/pyproject.toml "$WORK/"
rm -f "$WORK"/litert_cpu/_native*.so
(cd "$WORK" && LITERT_CPU_SANITIZE=1 LITERT_CPU_REQUIRE_NATIVE=1 "$OLDPWD/$PY" setup.py -q build_ext --inplace >/dev/null)
# libstdc++ preloaded too, so that ASan finds the real __cxa_throw (onnx throws C++ exceptions)
ASAN_LIB="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libstdc++.so.6)"
export PYTHONPATH="$WORK${PYTHONPATH:+:$PYTHONPATH}"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
LD_PRELOAD="$ASAN_LIB" "$PY" - <<'PY'
import litert_cpu, litert_cpu._native as n
assert litert_cpu.__file__.startswith(__import__("os").environ["PYTHONPATH"].split(":")[0]), litert_cpu.__file__
print("sanitized build:", n.__file__)
PY
LD_PRELOAD="$ASAN_LIB" exec "$PY" -m pytest -q -p no:cacheprovider \
    plugins/cpu/tests/test_native_kernels.py plugins/cpu/tests/test_native_qkernels.py plugins/cpu/tests/test_native_bf16.py \
    tests/test_models_vs_onnxruntime.py "$@"
