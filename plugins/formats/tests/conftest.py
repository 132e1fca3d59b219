"""Make the core and this plugin importable without installing them."""
import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
_ROOT = _HERE.parents[2]
for _p in (_HERE, _ROOT / "core", _ROOT / "plugins" / "formats"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))
