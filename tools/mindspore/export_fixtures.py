"""Export the MindIR test fixtures with real MindSpore (run it with the MindSpore venv's python).

    bash tools/mindspore/setup_venv.sh
    /work/venvs/mindspore/bin/python tools/mindspore/export_fixtures.py [--out tests/data/mindir] [NAME ...]

For every network below it writes ``<name>.mindir`` (exported with
``mindspore.export``) and ``<name>.npz`` holding the inputs (``input:<name>``,
named as the MindIR graph names them, without the graph prefix) and
MindSpore's own outputs (``output:<i>``) obtained by loading the exported
file back with ``mindspore.load`` + ``nn.GraphCell``.  A network with a
dynamic batch gets one input/output set per batch size (``b<N>/input:...``).

``lenet5_split`` is LeNet-5 exported with MindSpore's split format
(``<name>_graph.mindir`` plus ``<name>_variables/data_0``), which MindSpore
uses for networks over 1 GB of parameters; the threshold is lowered here so a
small network takes that path.

Weights are MindSpore's seeded initialisers, with BatchNorm statistics and
LayerNorm parameters randomised so that they matter.  litert never imports
MindSpore: this script only makes the committed fixtures.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import mindspore as ms
import numpy as np
from mindspore import Tensor, nn, ops

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = ROOT / "tests" / "data" / "mindir"


# ---------------------------------------------------------------- networks


class LeNet5(nn.Cell):
    """MindSpore's model-zoo LeNet-5 (valid convs, max pooling, three Dense layers)."""

    def __init__(self, num_class=10, channel=1):
        super().__init__()
        self.conv1 = nn.Conv2d(channel, 6, 5, pad_mode="valid")
        self.conv2 = nn.Conv2d(6, 16, 5, pad_mode="valid")
        self.fc1 = nn.Dense(16 * 5 * 5, 120)
        self.fc2 = nn.Dense(120, 84)
        self.fc3 = nn.Dense(84, num_class)
        self.relu = nn.ReLU()
        self.max_pool2d = nn.MaxPool2d(kernel_size=2, stride=2)
        self.flatten = nn.Flatten()

    def construct(self, x):
        x = self.max_pool2d(self.relu(self.conv1(x)))
        x = self.max_pool2d(self.relu(self.conv2(x)))
        x = self.flatten(x)
        x = self.relu(self.fc1(x))
        x = self.relu(self.fc2(x))
        return self.fc3(x)


def conv_bn(cin, cout, k, stride=1, group=1, pad_mode="same", padding=0):
    return nn.SequentialCell([
        nn.Conv2d(cin, cout, k, stride=stride, pad_mode=pad_mode, padding=padding, group=group, has_bias=False),
        nn.BatchNorm2d(cout),
    ])


class BasicBlock(nn.Cell):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.a = conv_bn(cin, cout, 3, stride, pad_mode="pad", padding=1)
        self.b = conv_bn(cout, cout, 3, 1)
        self.relu = nn.ReLU()
        self.down = conv_bn(cin, cout, 1, stride) if stride != 1 or cin != cout else None

    def construct(self, x):
        y = self.b(self.relu(self.a(x)))
        skip = x if self.down is None else self.down(x)
        return self.relu(y + skip)


class ResNetBN(nn.Cell):
    """A small residual CNN: BatchNorm after every conv, an identity and a projection shortcut."""

    def __init__(self, classes=10):
        super().__init__()
        self.stem = conv_bn(3, 16, 3, pad_mode="pad", padding=1)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(kernel_size=3, stride=2, pad_mode="same")
        self.block1 = BasicBlock(16, 16, 1)
        self.block2 = BasicBlock(16, 32, 2)
        self.mean = ops.ReduceMean(keep_dims=False)
        self.fc = nn.Dense(32, classes)

    def construct(self, x):
        x = self.pool(self.relu(self.stem(x)))
        x = self.block2(self.block1(x))
        return self.fc(self.mean(x, (2, 3)))


class DepthwiseSeparable(nn.Cell):
    """MobileNetV3-style: depthwise 3x3 + pointwise 1x1, ReLU6, HSwish, a squeeze-excite with HSigmoid."""

    def __init__(self, classes=10):
        super().__init__()
        self.stem = conv_bn(3, 16, 3, stride=2)
        self.hswish = nn.HSwish()
        self.dw = conv_bn(16, 16, 3, group=16)
        self.relu6 = nn.ReLU6()
        self.pw = conv_bn(16, 24, 1)
        self.se_reduce = nn.Conv2d(24, 8, 1, has_bias=True)
        self.se_expand = nn.Conv2d(8, 24, 1, has_bias=True)
        self.relu = nn.ReLU()
        self.hsigmoid = nn.HSigmoid()
        self.dw2 = conv_bn(24, 24, 3, stride=2, group=24)
        self.avg = nn.AvgPool2d(kernel_size=2, stride=2)
        self.flatten = nn.Flatten()
        self.fc = nn.Dense(24 * 2 * 2, classes)
        self.softmax = nn.Softmax()

    def construct(self, x):
        x = self.hswish(self.stem(x))
        x = self.relu6(self.dw(x))
        x = self.hswish(self.pw(x))
        se = ops.mean(x, (2, 3), keep_dims=True)
        x = x * self.hsigmoid(self.se_expand(self.relu(self.se_reduce(se))))
        x = self.relu6(self.dw2(x))
        x = self.avg(x)
        return self.softmax(self.fc(self.flatten(x)))


class EncoderBlock(nn.Cell):
    """A post-LN transformer encoder block: multi-head attention with BatchMatMul, LayerNorm, GELU FFN."""

    def __init__(self, hidden=32, heads=4, ffn=64):
        super().__init__()
        self.heads, self.head_dim = heads, hidden // heads
        self.q = nn.Dense(hidden, hidden)
        self.k = nn.Dense(hidden, hidden)
        self.v = nn.Dense(hidden, hidden)
        self.o = nn.Dense(hidden, hidden)
        self.ln1 = nn.LayerNorm((hidden,), epsilon=1e-5)
        self.ln2 = nn.LayerNorm((hidden,), epsilon=1e-5)
        self.ff1 = nn.Dense(hidden, ffn)
        self.ff2 = nn.Dense(ffn, hidden)
        self.gelu = nn.GELU()
        self.qk = ops.BatchMatMul(transpose_b=True)
        self.pv = ops.BatchMatMul()
        self.softmax = nn.Softmax(axis=-1)
        self.scale = 1.0 / float(np.sqrt(self.head_dim))

    def split(self, x, b, s):
        return ops.transpose(ops.reshape(x, (b, s, self.heads, self.head_dim)), (0, 2, 1, 3))

    def construct(self, x):
        b, s, h = x.shape
        q, k, v = self.split(self.q(x), b, s), self.split(self.k(x), b, s), self.split(self.v(x), b, s)
        probs = self.softmax(self.qk(q, k) * self.scale)
        ctx = ops.reshape(ops.transpose(self.pv(probs, v), (0, 2, 1, 3)), (b, s, h))
        x = self.ln1(x + self.o(ctx))
        return self.ln2(x + self.ff2(self.gelu(self.ff1(x))))


class DynamicBatch(nn.Cell):
    """A conv + pooling head whose batch dimension is exported as dynamic."""

    def __init__(self, classes=5):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, pad_mode="same", has_bias=True)
        self.relu = nn.ReLU()
        self.mean = ops.ReduceMean(keep_dims=False)
        self.fc = nn.Dense(8, classes)

    def construct(self, x):
        return self.fc(self.mean(self.relu(self.conv(x)), (2, 3)))


class MiscOps(nn.Cell):
    """Slicing, casts, concat/stack, gather, squeeze/unsqueeze, tile and elementwise ops on two inputs."""

    def __init__(self):
        super().__init__()
        self.cast = ops.Cast()
        self.concat = ops.Concat(axis=1)
        self.gather = ops.Gather()
        self.index = Tensor(np.array([0, 2], np.int32))

    def construct(self, x, y):
        a = x[:, 1:3]
        b = self.cast(self.cast(y, ms.float16), ms.float32)
        c = self.gather(self.concat((a, b)), self.index, 1)
        d = ops.squeeze(ops.expand_dims(c, 1), 1)
        e = ops.tanh(d) - ops.sqrt(ops.abs(d)) / 2.0 + ops.exp(-d) + ops.maximum(d, 0.5)
        f = ops.sigmoid(e) * ops.stack([e, e], 0).sum(0)
        return f, ops.tile(f, (2, 1))


class PoolVariants(nn.Cell):
    """Explicit asymmetric conv padding with dilation, SAME max/avg pooling, reductions, log-softmax."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, pad_mode="pad", padding=(1, 2, 0, 1), dilation=2, has_bias=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, pad_mode="same")
        self.avgpool = nn.AvgPool2d(kernel_size=3, stride=2, pad_mode="same")
        self.sum = ops.ReduceSum(keep_dims=True)
        self.max = ops.ReduceMax(keep_dims=False)
        self.log_softmax = nn.LogSoftmax(axis=-1)

    def construct(self, x):
        y = ops.sigmoid(self.conv(x))
        z = self.maxpool(y) + self.avgpool(y)
        s = self.sum(z, (1,))
        return self.log_softmax(ops.reshape(self.max(z, (2,)), (z.shape[0], -1))), s


class InlineBlock(nn.Cell):
    @ms.lazy_inline
    def __init__(self, width=8):
        super().__init__()
        self.fc = nn.Dense(width, width)

    def construct(self, x):
        return ops.relu(self.fc(x))


class LazyInlineMLP(nn.Cell):
    """Two @lazy_inline blocks: MindSpore exports the block as a function graph called twice."""

    def __init__(self):
        super().__init__()
        self.blocks = nn.CellList([InlineBlock() for _ in range(2)])

    def construct(self, x):
        for block in self.blocks:
            x = block(x)
        return x


# name -> (factory, input name -> shape with None for a dynamic dim, batch sizes to record)
NETS = {
    "lenet5": (LeNet5, {"x": (2, 1, 32, 32)}, None),
    "resnet_bn": (ResNetBN, {"x": (2, 3, 16, 16)}, None),
    "dwsep_cnn": (DepthwiseSeparable, {"x": (1, 3, 16, 16)}, None),
    "transformer_block": (EncoderBlock, {"x": (2, 8, 32)}, None),
    "dynamic_batch": (DynamicBatch, {"x": (None, 3, 8, 8)}, (1, 3)),
    "lenet5_split": (LeNet5, {"x": (1, 1, 32, 32)}, None),
    "misc_ops": (MiscOps, {"x": (2, 4), "y": (2, 2)}, None),
    "pool_variants": (PoolVariants, {"x": (2, 3, 11, 13)}, None),
    "lazy_inline_mlp": (LazyInlineMLP, {"x": (3, 8)}, None),
}


# ---------------------------------------------------------------- export


def randomize_norms(net: nn.Cell, rng: np.random.Generator) -> None:
    """BatchNorm statistics and LayerNorm affine parameters away from their identity defaults."""
    for name, param in net.parameters_and_names():
        shape = param.shape
        if name.endswith(("moving_variance",)):
            value = rng.uniform(0.5, 1.5, shape)
        elif name.endswith(("moving_mean", ".beta")):
            value = rng.uniform(-0.2, 0.2, shape)
        elif name.endswith(".gamma"):
            value = rng.uniform(0.8, 1.2, shape)
        elif name.endswith(".bias"):
            value = rng.uniform(-0.1, 0.1, shape)
        else:
            continue
        param.set_data(Tensor(value.astype(np.float32)))


def make_readable(paths: list[Path]) -> None:
    """MindSpore writes its files read-only for the owner; fixtures are ordinary files."""
    for path in paths:
        for item in [path, *(path.rglob("*") if path.is_dir() else [])]:
            item.chmod(0o755 if item.is_dir() else 0o644)


def export_one(name: str, out: Path) -> list[Path]:
    factory, inputs, batches = NETS[name]
    ms.set_seed(0)
    rng = np.random.default_rng(sum(map(ord, name)))
    net = factory()
    net.set_train(False)
    randomize_norms(net, rng)
    specs = [Tensor(shape=list(shape), dtype=ms.float32) if None in shape
             else Tensor(np.zeros(shape, np.float32)) for shape in inputs.values()]
    stem = out / name
    if name.endswith("_split"):
        return export_split(net, specs, stem, inputs, rng)
    ms.export(net, *specs, file_name=str(stem), file_format="MINDIR")
    path = stem.with_suffix(".mindir")
    record(path, stem.with_suffix(".npz"), inputs, batches, rng)
    return [path, stem.with_suffix(".npz")]


def export_split(net, specs, stem: Path, inputs, rng) -> list[Path]:
    """Export with the external-weights layout by lowering MindSpore's 1 GB threshold."""
    from mindspore.train import serialization

    saved = serialization.TOTAL_SAVE
    serialization.TOTAL_SAVE = 0  # kilobytes: every parameter goes to <stem>_variables/
    try:
        variables = stem.parent / f"{stem.name}_variables"
        if variables.exists():
            shutil.rmtree(variables)
        ms.export(net, *specs, file_name=str(stem), file_format="MINDIR")
    finally:
        serialization.TOTAL_SAVE = saved
    graph = stem.parent / f"{stem.name}_graph.mindir"
    record(graph, stem.with_suffix(".npz"), inputs, None, rng)
    return [graph, stem.parent / f"{stem.name}_variables", stem.with_suffix(".npz")]


def record(path: Path, npz: Path, inputs: dict, batches, rng: np.random.Generator) -> None:
    """Run the exported file in MindSpore and save inputs and outputs."""
    cell = nn.GraphCell(ms.load(str(path)))
    arrays = {}
    for batch in batches or (None,):
        feeds = [rng.standard_normal([batch if d is None else d for d in shape]).astype(np.float32)
                 for shape in inputs.values()]
        outputs = cell(*[Tensor(f) for f in feeds])
        outputs = outputs if isinstance(outputs, (tuple, list)) else (outputs,)
        prefix = "" if batch is None else f"b{batch}/"
        arrays.update({f"{prefix}input:{n}": f for n, f in zip(inputs, feeds)})
        arrays.update({f"{prefix}output:{i}": o.asnumpy() for i, o in enumerate(outputs)})
    np.savez_compressed(npz, **arrays)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("names", nargs="*", choices=[[]] + list(NETS), help="networks to export (default: all)")
    args = parser.parse_args(argv)
    ms.set_context(mode=ms.GRAPH_MODE)
    ms.set_device("CPU")
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.names or NETS:
        written = export_one(name, args.out)
        make_readable(written)
        sizes = ", ".join(f"{p.name} {sum(f.stat().st_size for f in ([p] if p.is_file() else p.rglob('*')))} B"
                          for p in written)
        print(f"{name}: {sizes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
