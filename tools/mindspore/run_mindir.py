"""Run a ``.mindir`` in real MindSpore (the oracle of litert's live MindIR tests).

    /work/venvs/mindspore/bin/python tools/mindspore/run_mindir.py MODEL.mindir INPUTS.npz OUTPUTS.npz

INPUTS.npz holds the inputs in order under the keys ``0``, ``1``, ...;
OUTPUTS.npz receives MindSpore's outputs under the same kind of keys.  The
model is loaded with ``mindspore.load`` and run with ``nn.GraphCell`` in
graph mode on CPU.  Any failure exits non-zero with MindSpore's message on
stderr, so the caller can report it.
"""
from __future__ import annotations

import sys

import numpy as np


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    model, inputs, outputs = argv
    import mindspore as ms
    from mindspore import Tensor, nn

    ms.set_context(mode=ms.GRAPH_MODE)
    ms.set_device("CPU")
    data = np.load(inputs)
    feeds = [Tensor(data[str(i)]) for i in range(len(data.files))]
    result = nn.GraphCell(ms.load(model))(*feeds)
    result = result if isinstance(result, (tuple, list)) else (result,)
    np.savez(outputs, **{str(i): r.asnumpy() for i, r in enumerate(result)})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
