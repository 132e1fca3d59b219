"""The compiled kernel library, as the CPU backend sees it.

``litert_cpu._native`` is built from ``plugins/cpu/native`` when litert-cpu is
installed (see ``setup.py``).  This module says whether it is active and why
not, registers OpenBLAS's ``cblas_sgemm`` (from the ``scipy-openblas32`` wheel)
as the library's GEMM once a plan needs it (:func:`load_blas`), and hands out
one thread pool per thread count.

``LITERT_CPU_NATIVE=0`` turns the native kernels off: every node then runs its
numpy kernel (the tests keep both paths covered).
"""
from __future__ import annotations

import ctypes
import importlib.util
import os
import threading
from functools import lru_cache
from types import ModuleType

from litert.record import Record

ENV_SWITCH = "LITERT_CPU_NATIVE"


class NativeStatus(Record):
    """Whether the native kernels run, and a line saying what they run on or why not (a plain class: every
    load's probe defines it, and a NamedTuple took ~0.25 ms to define, a frozen dataclass ~0.45)."""

    __slots__ = FIELDS = ("active", "detail")

    def __init__(self, active: bool, detail: str) -> None:
        self.active = active
        self.detail = detail


def _openblas_path() -> str | None:
    """Where the ``scipy-openblas32`` wheel keeps its library, or None when it is not installed.

    Found without importing the package: its ``__init__`` reads its own version through
    ``importlib.metadata`` and asks the library for its build configuration, milliseconds
    every ``litert.load`` paid for a path.
    """
    spec = importlib.util.find_spec("scipy_openblas32")
    if spec is None or not spec.submodule_search_locations:
        return None
    for package in spec.submodule_search_locations:
        lib_dir = os.path.join(package, "lib")
        try:
            names = sorted(n for n in os.listdir(lib_dir) if n.startswith("libscipy_openblas") and ".so" in n)
        except OSError:
            continue
        if names:
            return os.path.join(lib_dir, names[0])
    return None


def _open_single_threaded(path: str) -> ctypes.CDLL:
    """dlopen OpenBLAS with OPENBLAS_NUM_THREADS=1 in the environment for the call.

    Its constructor reads the variable and otherwise starts a server thread per core, which spins for a
    while before sleeping: on 2 cores that spinning thread took a core from litert's pool for the first
    runs after a load (the detection head at 2 threads: 7-13 ms for its first ~10 runs, then 3.3).  Setting
    the thread count to 1 after the fact leaves the started threads spinning.  The variable is restored at
    once (numpy's own OpenBLAS is loaded already and does not read it again).
    """
    key = "OPENBLAS_NUM_THREADS"
    previous = os.environ.get(key)
    os.environ[key] = "1"
    try:
        return ctypes.CDLL(path)
    finally:
        if previous is None:
            del os.environ[key]
        else:
            os.environ[key] = previous


def _load_blas(native: ModuleType) -> str:
    """Registers OpenBLAS's sgemm with the library; returns what was registered."""
    path = _openblas_path()
    if path is None:
        return "own GEMM (scipy-openblas32 not installed)"
    try:
        lib = _open_single_threaded(path)
        sgemm = lib.scipy_cblas_sgemm
        # litert's pool splits the work; each call runs on the thread that makes it
        lib.scipy_openblas_set_num_threads(1)
        corename = lib.scipy_openblas_get_corename
        corename.restype = ctypes.c_char_p
        core = corename().decode(errors="replace")
    except (OSError, AttributeError) as err:
        return f"own GEMM (OpenBLAS unusable: {err})"
    native.set_blas_sgemm(ctypes.cast(sgemm, ctypes.c_void_p).value)
    _keep.append(lib)
    return f"OpenBLAS {core}"


_keep: list = []  # the loaded BLAS stays mapped while its address is registered


@lru_cache(maxsize=1)
def _load() -> tuple[ModuleType | None, NativeStatus]:
    if os.environ.get(ENV_SWITCH, "1").strip().lower() in ("0", "off", "false", "no"):
        return None, NativeStatus(False, f"native kernels off ({ENV_SWITCH}=0): numpy kernels only")
    try:
        from .. import _native
    except ImportError as err:
        return None, NativeStatus(False, f"native kernels not built ({err}); numpy kernels only (reinstall litert-cpu with a C compiler)")
    # what precision="bf16" gets on this CPU, said where users look (litert list-backends)
    bf16 = ("bf16 (AMX tiles)" if _native.bf16_amx() else "bf16 (AVX512_BF16)") if _native.bf16_available() \
        else "no bf16 (bf16 requests run fp32)"
    int8 = "int8 (AMX tiles, VNNI)" if _native.int8_amx() else "int8 (AVX512-VNNI)" if _native.qgemm_vnni_available() \
        else "int8 (portable C)"
    return _native, NativeStatus(True, f"native kernels {_native.isa()}, {bf16}, {int8}")


def module() -> ModuleType | None:
    """The extension module, or None when the native kernels are not active."""
    return _load()[0]


def status() -> NativeStatus:
    """What runs (the GEMM too, once :func:`load_blas` has chosen it)."""
    found = _load()[1]
    return NativeStatus(True, f"{found.detail}, GEMM: {_gemm}") if found.active and _gemm else found


#: the library steps whose kernels call its GEMM (``lk_sgemm``: conv.c's im2col path, convtranspose.c,
#: matmul.c's unpacked operands): a plan holding one has :func:`load_blas` register OpenBLAS first
GEMM_STEPS = ("STEP_CONV2D", "STEP_CONVTRANSPOSE2D", "STEP_MATMUL")

_gemm: str | None = None  # what load_blas registered
_gemm_lock = threading.Lock()


def load_blas() -> str:
    """Register OpenBLAS as the library's GEMM, once per process (the library's own GEMM where it is missing or
    unusable); returns which it is.  Asked by the plans that call the GEMM (:data:`GEMM_STEPS`), not by every
    load: opening OpenBLAS (a 30 MB library, relocated) was 1.2-1.8 ms of every process's first load, and most
    convolutions run the library's packed kernels, which do not call it."""
    global _gemm
    with _gemm_lock:
        if _gemm is None:
            native = module()
            _gemm = _load_blas(native) if native is not None else "numpy's (native kernels off)"
        return _gemm


_pools: dict[tuple[int, int], object] = {}
_pools_lock = threading.Lock()


def _spin_us() -> int:
    """How long idle workers spin before they sleep (``LITERT_CPU_SPIN_US``; -1: the library's default)."""
    text = os.environ.get("LITERT_CPU_SPIN_US", "")
    try:
        return max(-1, int(text)) if text else -1
    except ValueError:
        return -1


def pool(threads: int):
    """The library's thread pool for ``threads`` threads (one per process and count)."""
    native = module()
    if native is None or threads <= 1:
        return None
    key = (os.getpid(), threads)  # a forked child starts its own workers
    with _pools_lock:
        found = _pools.get(key)
        if found is None:
            found = _pools[key] = native.Pool(threads, _spin_us())
        return found
