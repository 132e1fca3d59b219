"""Which nodes the compiled kernel library runs, and as which steps.

:data:`LOWERINGS` is the table: ``(domain, op_type) -> lowering function``.
A lowering looks at one node of a partition with static shapes and returns
the library steps that compute it (a :class:`Lowered`), or a string saying why
it declines (dynamic shape, dtype other than float32, an attribute form the
library does not cover); a declined node runs its numpy kernel.

Every shape, stride and offset a step carries is computed here from the
graph's static shapes and checked again by the library against the slot sizes
before the program runs.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from litert.activations import ACTIVATIONS as FUSED_ACTIVATIONS
from litert.activations import fusable
from litert.ir import Graph, Node

from ..kernels.nn._common import reaching_taps, spatial_attrs, window_geometry
from . import module
from .buffers import aligned_empty

F32 = np.dtype(np.float32)
_UNSEEN = object()


# Step and Lowered are written-out slotted classes with a dataclass's __init__, __eq__ and __repr__: every
# process's first load defines them, and ``@dataclass(slots=True)`` took ~0.4 ms each to (its methods
# compiled from source at class creation, then the class made again with slots).


class Step:
    """One library call: ``operands`` are value names per slot position
    (``None`` for an absent optional operand); ``output`` is the value it
    writes, ``also_writes`` any others (LSTM's Y_h, Y_c)."""

    __slots__ = ("kind", "operands", "ints", "floats", "output", "also_writes")

    def __init__(self, kind: int, operands: tuple[str | None, ...], ints: tuple[int, ...], floats: tuple[float, ...],
                 output: str, also_writes: tuple[str, ...] = ()):
        self.kind, self.operands, self.ints, self.floats = kind, operands, ints, floats
        self.output, self.also_writes = output, also_writes

    def _fields(self) -> tuple:
        return (self.kind, self.operands, self.ints, self.floats, self.output, self.also_writes)

    def __eq__(self, other: object) -> bool:
        return self._fields() == other._fields() if type(other) is Step else NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, as the dataclass was

    def __repr__(self) -> str:
        return (f"Step(kind={self.kind!r}, operands={self.operands!r}, ints={self.ints!r}, floats={self.floats!r}, "
                f"output={self.output!r}, also_writes={self.also_writes!r})")

    @property
    def writes(self) -> tuple[str, ...]:
        return (self.output, *self.also_writes)


class Lowered:
    __slots__ = ("steps", "alias", "consts")

    def __init__(self, steps: list[Step] | None = None, alias: tuple[str, str] | None = None,
                 consts: dict[str, np.ndarray] | None = None):
        self.steps: list[Step] = [] if steps is None else steps
        #: output name -> input name it is a reinterpretation of (Reshape & co.)
        self.alias = alias
        #: constants the steps need that the graph does not hold (e.g. folded BatchNorm)
        self.consts: dict[str, np.ndarray] = {} if consts is None else consts

    def __eq__(self, other: object) -> bool:
        if type(other) is not Lowered:
            return NotImplemented
        return (self.steps, self.alias, self.consts) == (other.steps, other.alias, other.consts)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Lowered(steps={self.steps!r}, alias={self.alias!r}, consts={self.consts!r})"


class LowerContext:
    """What a lowering may ask about the partition's values."""

    def __init__(self, graph: Graph, opsets: dict[str, int], threads: int = 1, precision: str = "fp32"):
        self.graph = graph
        self.opsets = opsets
        self.threads = threads
        self.native = module()
        #: convolutions and constant-B MatMul/Gemm in bf16 arithmetic (asked for, and this CPU has AVX512_BF16)
        self.bf16 = precision == "bf16" and self.native.bf16_available()
        #: ... and its convolutions and constant-B products run on AMX tiles (:func:`_bf16_conv_pays`)
        self.amx = self.bf16 and self.native.bf16_amx()
        # asked several times per node (~9 for an elementwise op) and fixed while a partition is planned: memoised
        self._shapes: dict[str, tuple[int, ...] | None] = {}
        self._dtypes: dict[str, np.dtype | None] = {}
        #: declared shape -> itself when every dim is an int, else None
        self._static: dict[tuple, tuple[int, ...] | None] = {}
        #: per name, why it is not a float32 tensor of static shape (None when it is): :meth:`float_tensors`
        self._not_float: dict[str, str | None] = {}
        #: (shape a, shape b) -> broadcast output shape and merged dims (:func:`_broadcast`), or why not: a graph
        #: has few distinct pairs, and ``np.broadcast_shapes`` alone costs microseconds per node
        self.broadcasts: dict[tuple, tuple | str] = {}
        #: :func:`act_fields` and :func:`fold_activation`'s kinds, made once per partition, not once per node
        self.act_fields: dict[int, tuple[int, int]] | None = None
        self.foldable_acts: frozenset[int] | None = None

    def shape(self, name: str) -> tuple[int, ...] | None:
        if name in self._shapes:
            return self._shapes[name]
        value = self.graph.values.get(name)
        if value is None or value.kind != "tensor" or value.shape is None:
            shape = None  # unknown, or a sequence/optional value
        else:
            declared = tuple(value.shape)
            shape = self._static.get(declared, _UNSEEN)  # a graph has few distinct shapes
            if shape is _UNSEEN:
                shape = self._static[declared] = tuple(int(d) for d in declared) if value.is_static else None
        self._shapes[name] = shape
        return shape

    def dtype(self, name: str):
        if name in self._dtypes:
            return self._dtypes[name]
        value = self.graph.values.get(name)
        if value is None:
            dtype = None
        elif value.is_const:
            dtype = value.const.dtype
        else:
            dtype = value.dtype.numpy if value.dtype is not None else None
        self._dtypes[name] = dtype
        return dtype

    def const(self, name: str) -> np.ndarray | None:
        value = self.graph.values.get(name)
        return value.const if value is not None and value.is_const else None

    def mismatch(self, name: str, expected) -> str | None:
        """None when ``name``'s static shape is ``expected``, else why not (the
        graph's declared shape disagrees with the op, e.g. a wrong declared
        output: the numpy kernel, which does not trust it, runs instead)."""
        got = self.shape(name)
        if got == expected:  # the common case, without converting ``expected``
            return None
        if got is None or got != tuple(int(d) for d in expected):
            return f"{name!r} is declared {got}, the op makes {tuple(expected)}"
        return None

    def float_io(self, node: Node) -> "tuple[str, str, tuple[int, ...]] | str":
        """(input 0, output 0, input 0's shape) of a float32 node with static
        shapes, or why not."""
        x, y = node.inputs[0], node.outputs[0]
        why = self.float_tensors(node, [x, y])
        return why if why else (x, y, self.shape(x))

    def float_tensors(self, node: Node, names) -> str | None:
        """None when every named tensor is float32 with a static shape, else why not."""
        known = self._not_float
        for name in names:
            if not name:
                continue
            why = known.get(name, _UNSEEN)
            if why is _UNSEEN:
                why = known[name] = (f"{name!r} is {self.dtype(name)}, native kernels are float32"
                                     if self.dtype(name) != F32 else
                                     f"{name!r} has no static shape" if self.shape(name) is None else None)
            if why is not None:
                return why
        return None


Lowering = Callable[[Node, LowerContext], "Lowered | str"]
LOWERINGS: dict[tuple[str, str], Lowering] = {}


def lowering(*op_types: str, domain: str = ""):
    def register(fn: Lowering) -> Lowering:
        for op in op_types:
            LOWERINGS[(domain, op)] = fn
        return fn

    return register


def float_io(fn: Callable) -> Lowering:
    """A lowering of a float32 node with static shapes, called as ``fn(node, ctx, x, y, x_shape)`` (input 0,
    output 0, input 0's shape); any other node is declined with why (:meth:`LowerContext.float_io`)."""
    def lower(node: Node, ctx: LowerContext):
        io = ctx.float_io(node)
        return io if isinstance(io, str) else fn(node, ctx, *io)

    return lower


def lower(node: Node, ctx: LowerContext) -> "Lowered | str":
    fn = LOWERINGS.get((node.domain, node.op_type))
    if fn is None:
        return f"no native kernel for {node.qualified_op}"
    if node.attrs and any(True for _ in node.subgraphs()):  # no attributes, no bodies
        return "control flow"
    return fn(node, ctx)


# ---------------------------------------------------------------- activations

#: the kernel library's code for each activation of :data:`litert.activations.ACTIVATIONS`
#: (parameters, their order and defaults come from that table)
NATIVE_ACTIVATIONS = {"Relu": "ACT_RELU", "Sigmoid": "ACT_SIGMOID", "Tanh": "ACT_TANH", "LeakyRelu": "ACT_LEAKY_RELU",
                      "HardSigmoid": "ACT_HARD_SIGMOID", "Clip": "ACT_CLIP"}


def activation(ctx: LowerContext, op_type: str, params) -> tuple[int, float, float] | None:
    """(kind, p0, p1) of a fused activation by ONNX name and ``activation_params``, or None."""
    spec = FUSED_ACTIVATIONS.get(op_type)
    if spec is None or op_type not in NATIVE_ACTIVATIONS:
        return None
    p = spec.complete(params) + [0.0, 0.0]
    return getattr(ctx.native, NATIVE_ACTIVATIONS[op_type]), p[0], p[1]


NO_ACT = (0, 0.0, 0.0)


def fused_activation(node: Node, ctx: LowerContext, params) -> "tuple[int, float, float] | str":
    """The activation of a com.microsoft fused node (FusedConv, FusedGemm), or why not."""
    name = node.attrs.get("activation")
    act = NO_ACT if not name else activation(ctx, name, params)
    return f"activation {name!r}" if act is None else act


# ---------------------------------------------------------------- convolution

def _conv_steps(node: Node, ctx: LowerContext, act) -> "Lowered | str":
    x, w = node.inputs[0], node.inputs[1]
    b = node.inputs[2] if len(node.inputs) > 2 and node.inputs[2] else None
    z = node.inputs[3] if len(node.inputs) > 3 and node.inputs[3] else None
    y = node.outputs[0]
    why = ctx.float_tensors(node, [x, w, b, z, y])
    if why:
        return why
    xs, ws, ys = ctx.shape(x), ctx.shape(w), ctx.shape(y)
    if len(xs) not in (3, 4) or len(ws) != len(xs):
        return "native conv is 1-D/2-D"
    if z is not None and ctx.shape(z) != ys:
        return "residual shape differs from the output"
    one_d = len(xs) == 3
    nd = len(xs) - 2
    kernel = list(node.attrs.get("kernel_shape") or ws[2:])
    strides, dilations, pads = spatial_attrs(node.attrs, nd)
    out, pb, _pe = window_geometry(xs[2:], kernel, strides, dilations, pads, node.attrs.get("auto_pad", "NOTSET"))
    if min(pb) < 0 or min(_pe) < 0 or min(out) < 1:
        return "window geometry"
    if any(max(pb[i], _pe[i]) > (kernel[i] - 1) * dilations[i] + 1 + xs[2 + i] + 64 for i in range(nd)):
        # pads wider than window and input: no model does that, a hostile file does, and the native kernels' work
        # then grows faster than the output (a fuzzed 5x5 conv with a 10^6 pad ran for minutes); numpy's is linear
        return "pads far wider than the window and the input"
    why = ctx.mismatch(y, (xs[0], ws[0], *out))
    if why:
        return why
    group = int(node.attrs.get("group", 1))
    n, c = xs[0], xs[1]
    m = ws[0]
    if ws[1] * group != c or m % group:
        return "weight shape does not match the groups"
    if one_d:
        h, wd, oh, ow, kh, kw, sh, sw, dh, dw, pt, pl = 1, xs[2], 1, out[0], 1, kernel[0], 1, strides[0], 1, dilations[0], 0, pb[0]
    else:
        h, wd = xs[2], xs[3]
        oh, ow = out
        kh, kw = kernel
        sh, sw = strides
        dh, dw = dilations
        pt, pl = pb
    depthwise = group == c and m == c and c > 1
    ints = (n, c, h, wd, m, oh, ow, kh, kw, sh, sw, dh, dw, pt, pl, group, act[0])
    weights = ctx.const(w)
    if depthwise:
        return Lowered([Step(ctx.native.STEP_DWCONV2D, (x, w, b, z, y), ints, (act[1], act[2]), y)])
    # on AMX tiles the direct bf16 conv outruns every Winograd variant (float32 F(4x4) included)
    unit = _winograd_unit(ints, act, ctx) if weights is not None and not ctx.amx else None
    if unit is not None:
        packed_name = f"{node.name}/winograd_weights"
        # bf16 GEMMs only in F(2x2, 3x3) of an ungrouped conv; F(4x4, 3x3) and F(2x2, 5x5) run in float32
        bf16 = ctx.bf16 and (unit, kh, group) == (2, 3, 1)
        packed = packed_weights(ctx, "winograd", weights, bf16, rows=m, k=c, groups=group, unit=unit, kernel=kh)
        kind = (ctx.native.STEP_CONV2D_WINOGRAD_BF16 if bf16 else
                ctx.native.STEP_CONV2D_WINOGRAD4 if unit == 4 else ctx.native.STEP_CONV2D_WINOGRAD)
        return Lowered([Step(kind, (x, packed_name, b, z, y), ints, (act[1], act[2]), y)], consts={packed_name: packed})
    if weights is not None and ctx.native.conv_packed_available():
        # the library's own GEMM over weights packed once, here (float32 values or bf16 pairs, 4 bytes each)
        packed_name = f"{node.name}/packed_weights"
        k = (c // group) * kh * kw
        bf16 = ctx.bf16 and (ctx.amx or _bf16_conv_pays(kh * kw, m // group, oh * ow))
        packed = packed_weights(ctx, "conv", weights, bf16, rows=m, k=k, groups=group, taps=kh * kw)
        kind = ctx.native.STEP_CONV2D_PACKED_BF16 if bf16 else ctx.native.STEP_CONV2D_PACKED
        return Lowered([Step(kind, (x, packed_name, b, z, y), ints, (act[1], act[2]), y)], consts={packed_name: packed})
    return Lowered([Step(ctx.native.STEP_CONV2D, (x, w, b, z, y), ints, (act[1], act[2]), y)])


def packed_weights(ctx: LowerContext, layout: str, weights: np.ndarray, bf16: bool, **geometry: int) -> np.ndarray:
    """``weights`` packed once by the library into ``layout`` ("conv", "winograd", "gemm_b"; the geometry
    keywords are the library's ``packed_bytes``), 64-byte aligned: float32 values, or bf16 pairs as uint32."""
    packed = aligned_empty(ctx.native.packed_bytes(layout, bf16=bf16, **geometry) // 4, np.uint32 if bf16 else np.float32)
    ctx.native.pack_weights(layout, np.ascontiguousarray(weights, np.float32).reshape(-1), packed, bf16=bf16, **geometry)
    return packed


def _bf16_conv_pays(taps: int, out_channels: int, positions: int) -> bool:
    """Whether a direct convolution gains from bf16: its tasks im2col and round the input into pair panels
    that only `out_channels` weight rows reuse, where float32 reads a k x k conv's input in place (flat rows).
    Measured on Zen 4 at one thread: 3x3 with 32 output channels 0.57x at 7x7, 0.78x at 14x14, 1.0x at 28x28,
    1.14-1.26x from 56x56 up; 1x1 convs 1.28-1.8x at any size (float32 copies their panels too); 64 output
    channels and up gain everywhere."""
    return taps == 1 or out_channels >= 64 or positions >= 2048


def _winograd_unit(ints, act, ctx: LowerContext) -> int | None:
    """The Winograd output tile worth using for this conv (2 or 4), or None for the packed direct conv.

    Only stride-1 convs with a square 3x3 or 5x5 kernel and an activation the epilogue applies (none, ReLU,
    Clip); channel counts are per group.  Every variant runs alpha^2 GEMMs over panels of 32 tiles of an
    image (16 for the last one), so for 3x3, F(4x4, 3x3) (36 GEMMs per panel of 4x4 tiles) takes the maps
    where that costs fewer panel GEMMs than F(2x2, 3x3) (16 per panel of 2x2): from 12x12 up (14x14: one
    16-tile panel against four), from 16 channels each way, since its transforms run 16 tiles per vector and
    even thin GEMMs gain.  Zen 4, one thread, against what ran before (direct or F(2x2)): 16->64 channels at
    55x55 0.58 -> 0.35 ms, 128->32 at 56x56 2.30 -> 1.21, 64->64 at 56x56 1.8-2.0 -> 1.0-1.1, 128->128 at
    14x14 0.43 -> 0.33, AlexNet's grouped 384->384 at 13x13 1.65 -> 1.35.  F(2x2, 3x3) keeps 7x7-10x10
    maps (and bf16) with at least 64 channels each way and one 16-tile panel of tiles (its transforms are
    scalar loops: from 32 channels the direct conv's flat rows are faster): ResNet's 512-channel 7x7 conv
    2.7 -> 2.3 ms at one thread, 1.8 -> 1.2 at two, its 256-channel one 0.74 -> 0.44.  5x5: F(2x2, 5x5)
    (9 multiplies per output against 25) from 24 channels each way and 36 tiles of an image (one thread: AlexNet's 96->256 grouped conv at
    27x27 4.98 -> 2.48 ms, GoogLeNet's 32->96 at 28x28 1.31 -> 0.68, 24->64 at 14x14 0.22 -> 0.19; 16->32 at
    28x28 0.22 -> 0.26, too thin).  F(4x4, 3x3) and F(2x2, 5x5) run in float32 also under
    ``precision="bf16"`` (bf16 operands would add their rounding to transforms that amplify it; in float32
    they beat bf16's direct conv: a bf16 DenseNet-121 was 0.93x its float32 run while bf16 kept the direct
    conv), at ~5x the float32 error of the direct method (winograd.c; docs/native-kernels.md); only an
    ungrouped F(2x2, 3x3) has bf16 GEMMs."""
    n, c, h, w, m, oh, ow, kh, kw, sh, sw, dh, dw, pt, pl, group, _ = ints
    if not (ctx.native.conv_packed_available() and kh == kw and kh in (3, 5) and (sh, sw, dh, dw) == (1, 1, 1, 1)
            and 0 <= pt < kh and 0 <= pl < kw
            and act[0] in (ctx.native.ACT_NONE, ctx.native.ACT_RELU, ctx.native.ACT_CLIP)):
        return None
    cg, mg = c // group, m // group
    tiles2 = -(-oh // 2) * -(-ow // 2)  # per image: a task's tiles come from one image
    if kh == 5:
        return 2 if min(cg, mg) >= 24 and tiles2 >= 36 else None
    tiles4 = -(-oh // 4) * -(-ow // 4)
    if min(cg, mg) >= 16 and 36 * -(-tiles4 // 16) < 16 * -(-tiles2 // 16):
        return 4
    if min(cg, mg) >= 64 and n * tiles2 >= 16:
        return 2
    return None


@lowering("Conv")
def _conv(node: Node, ctx: LowerContext):
    return _conv_steps(node, ctx, NO_ACT)


@lowering("FusedConv", domain="com.microsoft")
def _fused_conv(node: Node, ctx: LowerContext):
    act = fused_activation(node, ctx, node.attrs.get("activation_params"))
    return act if isinstance(act, str) else _conv_steps(node, ctx, act)


# ---------------------------------------------------------------- pooling

@lowering("MaxPool", "AveragePool")
def _pool(node: Node, ctx: LowerContext):
    if len([o for o in node.outputs if o]) != 1 or (len(node.outputs) > 1 and node.outputs[1]):
        return "MaxPool indices output"
    x, y = node.inputs[0], node.outputs[0]
    why = ctx.float_tensors(node, [x, y])
    if why:
        return why
    xs, ys = ctx.shape(x), ctx.shape(y)
    if len(xs) != 4:
        return "native pooling is 2-D"
    kernel = list(node.attrs["kernel_shape"])
    strides, dilations, pads = spatial_attrs(node.attrs, 2)
    out, pb, pe = window_geometry(xs[2:], kernel, strides, dilations, pads, node.attrs.get("auto_pad", "NOTSET"),
                                  bool(node.attrs.get("ceil_mode", 0)))
    why = ctx.mismatch(y, (xs[0], xs[1], *out))
    if why or min(out) < 1:
        return why or "window geometry"
    n = ctx.native
    if node.op_type == "MaxPool":
        kind = n.POOL_MAX
    else:
        kind = n.POOL_AVG_INCLUDE_PAD if node.attrs.get("count_include_pad", 0) else n.POOL_AVG
    # only the taps that can reach the input (the work and the padded plane stay bounded by the output and the
    # input, whatever window a file declares); the include-pad divisor counts the declared window
    reaching = [reaching_taps(xs[2 + i], kernel[i], strides[i], dilations[i], pb[i], out[i]) for i in range(2)]
    if kind == n.POOL_AVG_INCLUDE_PAD and [c for _, c in reaching] != kernel:
        return "count_include_pad window reaching past the input"
    kernel = [count for _, count in reaching]
    pb = [pb[i] - reaching[i][0] * dilations[i] for i in range(2)]
    padded = [(out[i] - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 + max(pb[i], 0) for i in range(2)]
    if padded[0] * padded[1] > 16 * (xs[2] * xs[3] + out[0] * out[1]) + (1 << 16):
        return "padded plane far beyond the input and output (strides or pads)"
    ints = (xs[0], xs[1], xs[2], xs[3], out[0], out[1], kernel[0], kernel[1], strides[0], strides[1],
            dilations[0], dilations[1], pb[0], pb[1], max(pe[0], 0), max(pe[1], 0), kind)
    return Lowered([Step(n.STEP_POOL2D, (x, y), ints, (), y)])


@lowering("GlobalAveragePool", "GlobalMaxPool")
@float_io
def _global_pool(node: Node, ctx: LowerContext, x: str, y: str, xs: tuple[int, ...]):
    if len(xs) < 3:
        return "rank below 3"
    why = ctx.mismatch(y, (xs[0], xs[1]) + (1,) * (len(xs) - 2))
    if why:
        return why
    n = ctx.native
    kind = n.POOL_MAX if node.op_type == "GlobalMaxPool" else n.POOL_AVG
    return Lowered([Step(n.STEP_GLOBAL_POOL, (x, y), (xs[0] * xs[1], math.prod(xs[2:]), kind), (), y)])


# ---------------------------------------------------------------- normalisation

@lowering("BatchNormalization")
def _batchnorm(node: Node, ctx: LowerContext):
    if len([o for o in node.outputs if o]) != 1:
        return "training-mode outputs"
    x, y = node.inputs[0], node.outputs[0]
    why = ctx.float_tensors(node, [x, y])
    if why:
        return why
    params = [ctx.const(name) for name in node.inputs[1:5]]
    if any(p is None for p in params):
        return "scale/bias/mean/var are not constants"
    scale, bias, mean, var = (p.astype(np.float64) for p in params)
    eps = float(node.attrs.get("epsilon", 1e-5))
    mul = scale / np.sqrt(var + eps)
    add = bias - mean * mul
    xs = ctx.shape(x)
    why = ctx.mismatch(y, xs)
    if why or len(xs) < 2:
        return why or "rank below 2"
    c = xs[1]
    if mul.size != c:
        return "parameter size differs from the channels"
    mul_name, add_name = f"{node.name}/native_scale", f"{node.name}/native_shift"
    n = ctx.native
    step = Step(n.STEP_AFFINE, (x, mul_name, add_name, y), (xs[0], c, math.prod(xs[2:]), 0), (0.0, 0.0), y)
    return Lowered([step], consts={mul_name: mul.astype(np.float32), add_name: add.astype(np.float32)})


@lowering("Softmax", "LogSoftmax")
@float_io
def _softmax(node: Node, ctx: LowerContext, x: str, y: str, xs: tuple[int, ...]):
    rank = len(xs)
    if rank == 0 or ctx.mismatch(y, xs):
        return ctx.mismatch(y, xs) or "scalar"
    opset = ctx.opsets.get("", 13)
    axis = int(node.attrs.get("axis", -1 if opset >= 13 else 1))
    axis = axis + rank if axis < 0 else axis
    if opset >= 13:
        outer, length, inner = math.prod(xs[:axis]), xs[axis], math.prod(xs[axis + 1:])
    else:  # coerced to 2-D: [prod(:axis), prod(axis:)]
        outer, length, inner = math.prod(xs[:axis]), math.prod(xs[axis:]), 1
    if length == 0 or inner == 0:
        return "empty axis"
    n = ctx.native
    return Lowered([Step(n.STEP_SOFTMAX, (x, y), (outer, length, inner, int(node.op_type == "LogSoftmax")), (), y)])


@lowering("LayerNormalization")
def _layernorm(node: Node, ctx: LowerContext):
    if len([o for o in node.outputs if o]) != 1:
        return "mean/inv-std outputs"
    x, gamma, y = node.inputs[0], node.inputs[1], node.outputs[0]
    beta = node.inputs[2] if len(node.inputs) > 2 and node.inputs[2] else None
    why = ctx.float_tensors(node, [x, gamma, beta, y])
    if why:
        return why
    xs = ctx.shape(x)
    if ctx.mismatch(y, xs):
        return ctx.mismatch(y, xs)
    axis = int(node.attrs.get("axis", -1))
    axis = axis + len(xs) if axis < 0 else axis
    size = math.prod(xs[axis:])
    if ctx.shape(gamma) is None or math.prod(ctx.shape(gamma)) != size or (beta and math.prod(ctx.shape(beta)) != size):
        return "scale/bias do not cover the normalised axes (broadcast)"
    if int(node.attrs.get("stash_type", 1)) != 1:
        return "stash_type"
    n = ctx.native
    step = Step(n.STEP_LAYERNORM, (x, gamma, beta, y), (math.prod(xs[:axis]), size),
                (float(node.attrs.get("epsilon", 1e-5)),), y)
    return Lowered([step])


@lowering("InstanceNormalization")
def _instancenorm(node: Node, ctx: LowerContext):
    x, gamma, beta, y = node.inputs[0], node.inputs[1], node.inputs[2], node.outputs[0]
    why = ctx.float_tensors(node, [x, gamma, beta, y])
    if why:
        return why
    xs = ctx.shape(x)
    if len(xs) < 3 or ctx.mismatch(y, xs):
        return ctx.mismatch(y, xs) or "rank below 3"
    if ctx.shape(gamma) != (xs[1],) or ctx.shape(beta) != (xs[1],):
        return "scale/bias shape"
    n = ctx.native
    step = Step(n.STEP_INSTANCENORM, (x, gamma, beta, y), (xs[0], xs[1], math.prod(xs[2:])),
                (float(node.attrs.get("epsilon", 1e-5)),), y)
    return Lowered([step])


# ---------------------------------------------------------------- elementwise

def _broadcast(shape_a, shape_b, out_shape) -> tuple[list[int], list[int], list[int]] | None:
    """Output shape and element strides of a and b (0 where broadcast), with
    adjacent dims merged where both operands stay contiguous; None if the
    innermost dim would be strided."""
    rank = len(out_shape)
    a = [1] * (rank - len(shape_a)) + list(shape_a)
    b = [1] * (rank - len(shape_b)) + list(shape_b)

    def strides(dims):
        out, s = [0] * rank, 1
        for d in range(rank - 1, -1, -1):
            out[d] = s if dims[d] != 1 else 0
            s *= dims[d]
        return out

    sa, sb = strides(a), strides(b)
    shape = list(out_shape)
    # merge dims d-1 and d when both operands step through them contiguously
    ms, ma, mb = [shape[-1] if rank else 1], [sa[-1] if rank else 0], [sb[-1] if rank else 0]
    for d in range(rank - 2, -1, -1):
        def mergeable(st, inner_st, inner_len):
            return (st == 0 and inner_st == 0) or (st != 0 and inner_st != 0 and st == inner_st * inner_len)
        if mergeable(sa[d], ma[0], ms[0]) and mergeable(sb[d], mb[0], ms[0]):
            ms[0] *= shape[d]
        elif shape[d] == 1:
            continue
        else:
            ms.insert(0, shape[d])
            ma.insert(0, sa[d])
            mb.insert(0, sb[d])
    if not rank:
        return [1], [0], [0]
    if ma[-1] not in (0, 1) or mb[-1] not in (0, 1):
        return None
    return ms, ma, mb


_BINARY = {"Add": "BIN_ADD", "Sub": "BIN_SUB", "Mul": "BIN_MUL", "Div": "BIN_DIV", "Max": "BIN_MAX",
           "Min": "BIN_MIN", "Pow": "BIN_POW", "Sum": "BIN_ADD"}


@lowering(*_BINARY)
def _binary(node: Node, ctx: LowerContext):
    if len(node.inputs) != 2:
        return "not two inputs"
    a, b, y = node.inputs[0], node.inputs[1], node.outputs[0]
    why = ctx.float_tensors(node, [a, b, y])
    if why:
        return why
    shapes = ctx.shape(a), ctx.shape(b)
    plan = ctx.broadcasts.get(shapes)
    if plan is None:
        plan = ctx.broadcasts[shapes] = _binary_plan(*shapes, ctx.native.MAX_DIMS)
    if isinstance(plan, str):
        return plan
    out_shape, dims = plan
    if ctx.mismatch(y, out_shape) or dims is None:
        return ctx.mismatch(y, out_shape) or "empty"
    ints = (getattr(ctx.native, _BINARY[node.op_type]), 0, *dims)
    return Lowered([Step(ctx.native.STEP_BINARY, (a, b, y), ints, (0.0, 0.0), y)])


def _binary_plan(shape_a, shape_b, max_dims: int) -> "tuple[tuple[int, ...], tuple[int, ...] | None] | str":
    """The output shape of a binary op over ``shape_a`` and ``shape_b`` and its step's dims (rank, then
    (extent, stride a, stride b) per merged dim; None for an empty output), or why it does not lower."""
    try:
        out_shape = tuple(int(d) for d in np.broadcast_shapes(shape_a, shape_b))
    except ValueError:
        return "shapes do not broadcast"
    if 0 in out_shape:
        return out_shape, None
    merged = _broadcast(shape_a, shape_b, out_shape)
    if merged is None:
        return "broadcast pattern"
    shape, sa, sb = merged
    if len(shape) > max_dims:
        return "rank"
    dims = [len(shape)]
    for d in range(len(shape)):
        dims += [shape[d], sa[d], sb[d]]
    return out_shape, tuple(dims)


_UNARY = {"Relu": "ACT_RELU", "Sigmoid": "ACT_SIGMOID", "Tanh": "ACT_TANH", "HardSwish": "ACT_HARD_SWISH",
          "Erf": "ACT_ERF", "Exp": "ACT_EXP", "Neg": "ACT_NEG", "Abs": "ACT_ABS", "Sqrt": "ACT_SQRT",
          "Reciprocal": "ACT_RECIPROCAL", "Softplus": "ACT_SOFTPLUS", "LeakyRelu": "ACT_LEAKY_RELU",
          "HardSigmoid": "ACT_HARD_SIGMOID", "Elu": "ACT_ELU", "Gelu": "ACT_GELU", "Clip": "ACT_CLIP"}


def _unary_params(node: Node, ctx: LowerContext) -> tuple[float, float] | str:
    spec = fusable(node)
    if spec is not None and spec.params:
        params = spec.params_of(node, ctx.const)
        if params is None:
            return f"{node.op_type} parameters are not constants"
        p = params + [0.0, 0.0]
        return p[0], p[1]
    if node.op_type == "Elu":
        return float(node.attrs.get("alpha", 1.0)), 0.0
    return 0.0, 0.0


@lowering(*_UNARY)
def _unary(node: Node, ctx: LowerContext):
    x, y = node.inputs[0], node.outputs[0]
    why = ctx.float_tensors(node, [x, y])
    if why:
        return why
    kind = getattr(ctx.native, _UNARY[node.op_type])
    if node.op_type == "Gelu" and node.attrs.get("approximate", "none") == "tanh":
        kind = ctx.native.ACT_GELU_TANH
    params = _unary_params(node, ctx)
    if isinstance(params, str):
        return params
    xs = ctx.shape(x)
    if ctx.mismatch(y, xs):
        return ctx.mismatch(y, xs)
    n = math.prod(xs)
    return Lowered([Step(ctx.native.STEP_UNARY, (x, y), (kind, n), params, y)])


# ---------------------------------------------------------------- matmul

@lowering("MatMul")
def _matmul(node: Node, ctx: LowerContext):
    a, b, y = node.inputs[0], node.inputs[1], node.outputs[0]
    why = ctx.float_tensors(node, [a, b, y])
    if why:
        return why
    sa, sb, sy = ctx.shape(a), ctx.shape(b), ctx.shape(y)
    if len(sa) < 2 or len(sb) < 2:
        return "1-D operand"
    m, k = sa[-2], sa[-1]
    k2, n = sb[-2], sb[-1]
    if k != k2:
        return "inner dims differ"
    try:
        batch_shape = np.broadcast_shapes(sa[:-2], sb[:-2])
    except ValueError:
        return "batch dims do not broadcast"
    if ctx.mismatch(y, (*batch_shape, m, n)):
        return ctx.mismatch(y, (*batch_shape, m, n))
    batch_a, batch_b = math.prod(sa[:-2]), math.prod(sb[:-2])
    batch = math.prod(batch_shape)
    if batch_b == 1:
        # B shared: A's batch folds into its rows, one GEMM
        ints = (1, batch_a * m, n, k, 0, 0, 0, 0, 0)
        packed = _packed_b(node, ctx, b, k, n, trans_b=False)
        if packed:
            return Lowered([Step(packed[2], (a, packed[0], None, y), ints, (1.0, 1.0, 0.0, 0.0), y)], consts=packed[1])
    elif batch_a == batch and batch_b == batch and tuple(sa[:-2]) == tuple(sb[:-2]):
        ints = (batch, m, n, k, m * k, k * n, 0, 0, 0)
    elif batch_a == 1 and batch_b == batch:
        ints = (batch, m, n, k, 0, k * n, 0, 0, 0)
    else:
        return "batch broadcast pattern"
    return Lowered([Step(_matmul_kind(ctx, k), (a, b, None, y), ints, (1.0, 1.0, 0.0, 0.0), y)])


def _matmul_kind(ctx: LowerContext, k: int) -> int:
    """The step of a MatMul/Gemm whose B is not a constant: bf16 arithmetic when asked for (each task packs
    its block of B into pairs per call), else float32."""
    return ctx.native.STEP_MATMUL_BF16 if ctx.bf16 and k >= 1 else ctx.native.STEP_MATMUL


def _gemm_steps(node: Node, ctx: LowerContext, act) -> "Lowered | str":
    a, b, y = node.inputs[0], node.inputs[1], node.outputs[0]
    c = node.inputs[2] if len(node.inputs) > 2 and node.inputs[2] else None
    why = ctx.float_tensors(node, [a, b, c, y])
    if why:
        return why
    if int(node.attrs.get("transA", 0)):
        return "transA"
    sa, sb, sy = ctx.shape(a), ctx.shape(b), ctx.shape(y)
    if len(sa) != 2 or len(sb) != 2:
        return "rank"
    m, k = sa
    trans_b = int(node.attrs.get("transB", 0))
    n = sb[0] if trans_b else sb[1]
    if (sb[1] if trans_b else sb[0]) != k or ctx.mismatch(y, (m, n)):
        return ctx.mismatch(y, (m, n)) or "inner dims differ"
    bias_kind = 0
    if c is not None:
        sc = ctx.shape(c)
        if math.prod(sc) == 1:
            bias_kind = 3
        elif tuple(sc) in ((n,), (1, n)):
            bias_kind = 1
        elif tuple(sc) == (m, n):
            bias_kind = 2
        else:
            return "bias broadcast pattern"
    floats = (float(node.attrs.get("alpha", 1.0)), float(node.attrs.get("beta", 1.0)), act[1], act[2])
    packed = _packed_b(node, ctx, b, k, n, trans_b=bool(trans_b))
    if packed:
        ints = (1, m, n, k, 0, 0, 0, bias_kind, act[0])
        return Lowered([Step(packed[2], (a, packed[0], c, y), ints, floats, y)], consts=packed[1])
    ints = (1, m, n, k, 0, 0, trans_b, bias_kind, act[0])
    return Lowered([Step(_matmul_kind(ctx, k), (a, b, c, y), ints, floats, y)])


def _packed_b(node: Node, ctx: LowerContext, b: str, k: int, n: int, trans_b: bool):
    """A constant B packed once for the library's own AVX-512 GEMM (the
    weights as the kernel's vector operand: measured on Ice Lake at one
    thread, [197, 192] x [192, 768] 1.9x and x [768, 192] 1.4x faster than
    OpenBLAS's sgemm, which packs both operands on every call), as (the
    packed constant's name, consts, the step kind: float32 or bf16
    arithmetic); None where B is not constant or the CPU lacks AVX-512."""
    weights = ctx.const(b)
    if weights is None or k < 1 or n < 1 or not ctx.native.conv_packed_available():
        return None
    name = f"{node.name}/packed_b"
    packed = packed_weights(ctx, "gemm_b", weights, ctx.bf16, k=k, n=n, trans_b=trans_b)
    kind = ctx.native.STEP_MATMUL_PACKED_BF16 if ctx.bf16 else ctx.native.STEP_MATMUL_PACKED
    return name, {name: packed}, kind


@lowering("Gemm")
def _gemm(node: Node, ctx: LowerContext):
    return _gemm_steps(node, ctx, NO_ACT)


@lowering("FusedGemm", domain="com.microsoft")
def _fused_gemm(node: Node, ctx: LowerContext):
    act = fused_activation(node, ctx, [node.attrs[k] for k in ("activation_alpha", "activation_beta") if k in node.attrs])
    return act if isinstance(act, str) else _gemm_steps(node, ctx, act)


# ---------------------------------------------------------------- data movement

@lowering("Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout")
def _alias(node: Node, ctx: LowerContext):
    if len([o for o in node.outputs if o]) != 1:
        return "mask output"
    x, y = node.inputs[0], node.outputs[0]
    if ctx.shape(x) is None or ctx.shape(y) is None or ctx.dtype(x) != ctx.dtype(y) or ctx.dtype(x) is None:
        return "dynamic shape"
    if math.prod(ctx.shape(x)) != math.prod(ctx.shape(y)):
        return "size changes"
    if node.op_type == "Dropout" and len(node.inputs) > 2 and node.inputs[2]:
        training = ctx.const(node.inputs[2])
        if training is None or bool(training):
            return "training mode"
    return Lowered(alias=(y, x))


@lowering("Transpose")
def _transpose(node: Node, ctx: LowerContext):
    x, y = node.inputs[0], node.outputs[0]
    xs = ctx.shape(x)
    if xs is None or ctx.dtype(x) is None or ctx.dtype(x).itemsize not in (1, 2, 4, 8):
        return "dynamic shape or dtype"
    perm = list(node.attrs.get("perm") or reversed(range(len(xs))))
    if sorted(perm) != list(range(len(xs))) or ctx.mismatch(y, [xs[p] for p in perm]):
        return ctx.mismatch(y, [xs[p] for p in perm]) if sorted(perm) == list(range(len(xs))) else "perm"
    # drop unit dims, which do not move data
    keep = [d for d in range(len(xs)) if xs[d] != 1] or [0]
    rank_map = {d: i for i, d in enumerate(keep)}
    shape = [xs[d] for d in keep]
    perm2 = [rank_map[p] for p in perm if p in rank_map]
    # merge output dims that stay adjacent and in order in the input (one longer run each)
    groups: list[list[int]] = []
    for p in perm2:
        if groups and groups[-1][-1] + 1 == p:
            groups[-1].append(p)
        else:
            groups.append([p])
    order = sorted(range(len(groups)), key=lambda i: groups[i][0])  # groups in input order
    merged_shape = [math.prod(shape[d] for d in groups[i]) for i in order]
    position = {g: k for k, g in enumerate(order)}
    perm2 = [position[i] for i in range(len(groups))]
    shape = merged_shape
    ints = (ctx.dtype(x).itemsize, len(shape), *shape, *perm2)
    return Lowered([Step(ctx.native.STEP_TRANSPOSE, (x, y), ints, (), y)])


def _blocks_along(ctx: LowerContext, names: list[str], axis: int, itemsize: int) -> list[tuple[str, int, int]]:
    """(tensor, bytes of each of its rows from ``axis`` on, where they start in the whole's rows) of the parts a
    Concat joins or a Split makes, in order: one strided copy each."""
    blocks, offset = [], 0
    for name in names:
        part = math.prod(ctx.shape(name)[axis:]) * itemsize
        blocks.append((name, part, offset))
        offset += part
    return blocks


@lowering("Concat")
def _concat(node: Node, ctx: LowerContext):
    y = node.outputs[0]
    ys = ctx.shape(y)
    dt = ctx.dtype(y)
    if ys is None or dt is None or any(ctx.shape(i) is None or ctx.dtype(i) != dt for i in node.inputs if i):
        return "dynamic shape or mixed dtypes"
    axis = int(node.attrs["axis"])
    axis = axis + len(ys) if axis < 0 else axis
    parts = [ctx.shape(i) for i in node.inputs if i]
    if not parts or any(len(p) != len(ys) or p[:axis] != ys[:axis] or p[axis + 1:] != ys[axis + 1:] for p in parts) \
            or sum(p[axis] for p in parts) != ys[axis]:
        return "input shapes do not make the declared output"
    outer, row = math.prod(ys[:axis]), math.prod(ys[axis:]) * dt.itemsize
    blocks = _blocks_along(ctx, [i for i in node.inputs if i], axis, dt.itemsize)
    return Lowered([Step(ctx.native.STEP_COPY, (name, y), (outer, part, 0, part, offset, row), (), y)
                    for name, part, offset in blocks if part])


@lowering("Split")
def _split(node: Node, ctx: LowerContext):
    x = node.inputs[0]
    xs, dt = ctx.shape(x), ctx.dtype(x)
    if xs is None or dt is None or any(ctx.shape(o) is None for o in node.outputs if o):
        return "dynamic shape"
    axis = int(node.attrs.get("axis", 0))
    axis = axis + len(xs) if axis < 0 else axis
    for name in node.outputs:
        s = ctx.shape(name) if name else None
        if s is None or len(s) != len(xs) or s[:axis] != xs[:axis] or s[axis + 1:] != xs[axis + 1:]:
            return "output shapes do not split the input"
    outer, row = math.prod(xs[:axis]), math.prod(xs[axis:]) * dt.itemsize
    blocks = _blocks_along(ctx, node.outputs, axis, dt.itemsize)  # every output is there: each has a shape
    if sum(part for _, part, _ in blocks) != row:
        return "split sizes do not cover the axis"
    return Lowered([Step(ctx.native.STEP_COPY, (x, name), (outer, part, offset, row, 0, part), (), name)
                    for name, part, offset in blocks])


@lowering("Slice")
def _slice(node: Node, ctx: LowerContext):
    x, y = node.inputs[0], node.outputs[0]
    xs, ys, dt = ctx.shape(x), ctx.shape(y), ctx.dtype(x)
    if xs is None or ys is None or dt is None:
        return "dynamic shape"
    if len(xs) != len(ys) or ctx.dtype(y) != dt:
        return "rank or dtype changes"
    changed = [d for d in range(len(xs)) if xs[d] != ys[d]]
    if len(changed) > 1:
        return "slices more than one axis"
    if not changed:
        return Lowered(alias=(y, x))
    axis = changed[0]
    consts = [ctx.const(n) if i < len(node.inputs) and n else None for i, n in enumerate(node.inputs[1:5], 1)]
    starts, ends = consts[0], consts[1]
    axes = consts[2] if len(consts) > 2 else None
    steps = consts[3] if len(consts) > 3 else None
    if starts is None or ends is None or (len(node.inputs) > 3 and node.inputs[3] and axes is None) or \
            (len(node.inputs) > 4 and node.inputs[4] and steps is None):
        return "non-constant slice parameters"
    axes_l = [int(a) + len(xs) if int(a) < 0 else int(a) for a in (axes if axes is not None else range(len(starts)))]
    if steps is not None and any(int(s) != 1 for s in steps):
        return "step other than 1"
    if axis not in axes_l:
        return "slice geometry"
    i = axes_l.index(axis)
    start = int(starts[i])
    start = max(0, min(xs[axis], start + xs[axis] if start < 0 else start))
    if start + ys[axis] > xs[axis]:
        return "slice geometry"
    inner = math.prod(xs[axis + 1:]) * dt.itemsize
    outer = math.prod(xs[:axis])
    return Lowered([Step(ctx.native.STEP_COPY, (x, y),
                         (outer, ys[axis] * inner, start * inner, xs[axis] * inner, 0, ys[axis] * inner), (), y)])


# ---------------------------------------------------------------- activation folding

def act_fields(ctx: LowerContext) -> dict[int, tuple[int, int]]:
    """Step kinds with a fused activation: where its kind sits in ``ints`` and its
    two parameters in ``floats``."""
    if ctx.act_fields is None:
        n = ctx.native
        ctx.act_fields = {n.STEP_CONV2D: (16, 0), n.STEP_DWCONV2D: (16, 0), n.STEP_AFFINE: (3, 0), n.STEP_BINARY: (1, 0),
                          n.STEP_MATMUL: (8, 2), n.STEP_MATMUL_PACKED: (8, 2), n.STEP_MATMUL_PACKED_BF16: (8, 2),
                          n.STEP_MATMUL_BF16: (8, 2)}
    return ctx.act_fields


def fold_bias(producer: Step, node: Node, ctx: LowerContext) -> bool:
    """Fuse ``node``, an Add of a constant row [n] to the output of MatMul
    step ``producer`` (a transformer's projections are MatMul + Add), into
    that step's per-column bias, when it has no bias or activation yet."""
    n = ctx.native
    if producer.kind not in (n.STEP_MATMUL, n.STEP_MATMUL_PACKED, n.STEP_MATMUL_PACKED_BF16, n.STEP_MATMUL_BF16) \
            or node.op_type != "Add" or node.domain \
            or len(node.inputs) != 2 or producer.operands[2] is not None or producer.ints[7] != 0 \
            or producer.ints[8] != n.ACT_NONE:
        return False
    others = [name for name in node.inputs if name != producer.output]
    if len(others) != 1:
        return False
    bias = ctx.const(others[0])
    cols = producer.ints[2]
    if bias is None or bias.dtype != np.float32 or bias.size != cols or bias.shape[-1] != cols \
            or ctx.shape(node.outputs[0]) != ctx.shape(producer.output):
        return False
    operands = list(producer.operands)
    operands[2] = others[0]
    ints = list(producer.ints)
    ints[7] = 1
    producer.operands, producer.ints = tuple(operands), tuple(ints)
    return True


def fold_scale(producer: Step, node: Node, ctx: LowerContext) -> bool:
    """Fuse ``node``, a Mul of the output of MatMul step ``producer`` by a constant scalar (attention's
    1/sqrt(d) after Q.K^T), into that step's alpha, when it has no bias or activation yet (alpha scales the
    product before either)."""
    n = ctx.native
    if producer.kind not in (n.STEP_MATMUL, n.STEP_MATMUL_PACKED, n.STEP_MATMUL_PACKED_BF16, n.STEP_MATMUL_BF16) \
            or node.op_type != "Mul" or node.domain or len(node.inputs) != 2 or producer.ints[7] != 0 \
            or producer.ints[8] != n.ACT_NONE or producer.floats[0] != 1.0:
        return False
    others = [name for name in node.inputs if name != producer.output]
    scale = ctx.const(others[0]) if len(others) == 1 else None
    if scale is None or scale.dtype != np.float32 or scale.size != 1 \
            or ctx.shape(node.outputs[0]) != ctx.shape(producer.output):
        return False
    producer.floats = (float(scale.reshape(())), *producer.floats[1:])
    return True


def fold_preactivation(producer: Lowered, consumer: Lowered, name: str, ctx: LowerContext) -> bool:
    """Fuse ``producer``, a per-channel scale and shift with a ReLU (a pre-activation block's BatchNorm and ReLU,
    one ``STEP_AFFINE``), into ``consumer``, the packed 1x1 conv that alone reads its output: the conv packs
    max(x * scale + shift, 0) straight from the affine's input (``STEP_CONV2D_PACKED_PREACT``), and the pass
    over the whole input goes (DenseNet-121 runs 120 of them over its growing Concats, 4% of its time); a bf16
    conv on AMX tiles of ``PREACT_BF16_CHANNELS`` or more input channels applies it as it rounds its input
    (``STEP_CONV2D_PACKED_PREACT_BF16``).  The
    conv reads it as ``name`` (the ReLU folded into the affine is an alias of its output); the caller checks that
    nothing else reads it.  ``producer`` is left without steps."""
    n = ctx.native
    if len(producer.steps) != 1 or len(consumer.steps) != 1:
        return False
    affine, conv = producer.steps[0], consumer.steps[0]
    preact = {n.STEP_CONV2D_PACKED: n.STEP_CONV2D_PACKED_PREACT}
    if ctx.amx and conv.ints[1] >= n.PREACT_BF16_CHANNELS:
        preact[n.STEP_CONV2D_PACKED_BF16] = n.STEP_CONV2D_PACKED_PREACT_BF16
    if affine.kind != n.STEP_AFFINE or affine.ints[3] != n.ACT_RELU or conv.kind not in preact \
            or conv.operands[0] != name:
        return False
    batch, c, h, w, _, oh, ow, kh, kw, sh, sw, dh, dw, pt, pl, group, _ = conv.ints
    if (kh, kw, sh, sw, dh, dw, pt, pl, group) != (1, 1, 1, 1, 1, 1, 0, 0, 1) or (oh, ow) != (h, w) \
            or tuple(affine.ints[:3]) != (batch, c, h * w):
        return False
    x, scale, shift = affine.operands[:3]
    consumer.steps[0] = Step(preact[conv.kind], (x, *conv.operands[1:5], scale, shift), conv.ints,
                             conv.floats, conv.output)
    consumer.consts.update(producer.consts)
    producer.steps.clear()
    return True


def fold_activation(producer: Step, node: Node, ctx: LowerContext, lowered: "Lowered | str | None" = None) -> bool:
    """Fuse activation ``node`` into ``producer`` (which writes its input) when
    the producer has a fused-activation field that is still empty.  ``lowered`` is the node's own lowering
    when the caller has it (not lowered twice then)."""
    fields = act_fields(ctx).get(producer.kind)
    if fields is None or node.op_type not in _UNARY or node.domain:
        return False
    if not isinstance(lowered, Lowered) or len(lowered.steps) != 1 or lowered.steps[0].kind != ctx.native.STEP_UNARY:
        lowered = _unary(node, ctx)
    if isinstance(lowered, str):
        return False
    kind, params = lowered.steps[0].ints[0], lowered.steps[0].floats
    if ctx.foldable_acts is None:
        n = ctx.native
        ctx.foldable_acts = frozenset((n.ACT_RELU, n.ACT_CLIP, n.ACT_SIGMOID, n.ACT_TANH, n.ACT_LEAKY_RELU,
                                       n.ACT_HARD_SIGMOID, n.ACT_HARD_SWISH, n.ACT_GELU, n.ACT_GELU_TANH, n.ACT_SILU))
    if kind not in ctx.foldable_acts:
        return False
    at, pf = fields
    if producer.ints[at] != ctx.native.ACT_NONE:
        return False
    ints = list(producer.ints)
    ints[at] = kind
    floats = list(producer.floats)
    floats[pf:pf + 2] = params
    producer.ints, producer.floats = tuple(ints), tuple(floats)
    return True


@lowering("LRN")
@float_io
def _lrn(node: Node, ctx: LowerContext, x: str, y: str, xs: tuple[int, ...]):
    if len(xs) < 3 or ctx.mismatch(y, xs):
        return ctx.mismatch(y, xs) or "rank below 3"
    ints = (xs[0], xs[1], math.prod(xs[2:]), int(node.attrs["size"]))
    floats = (float(node.attrs.get("alpha", 1e-4)), float(node.attrs.get("beta", 0.75)), float(node.attrs.get("bias", 1.0)))
    return Lowered([Step(ctx.native.STEP_LRN, (x, y), ints, floats, y)])


@lowering("LSTM")
def _lstm(node: Node, ctx: LowerContext):
    a = node.attrs
    inputs = list(node.inputs) + [""] * (8 - len(node.inputs))
    x, w, r, b, seq_lens, h0, c0, peep = inputs[:8]
    outputs = list(node.outputs) + [""] * (3 - len(node.outputs))
    if int(a.get("layout", 0)) or int(a.get("input_forget", 0)) or a.get("clip") is not None or peep:
        return "layout, input_forget, clip or peepholes"
    acts = [s.lower() for s in (a.get("activations") or [])]
    direction = a.get("direction", "forward")
    dirs = 2 if direction == "bidirectional" else 1
    if acts and acts != ["sigmoid", "tanh", "tanh"] * dirs:
        return "activations other than sigmoid/tanh/tanh"
    why = ctx.float_tensors(node, [x, w, r, b, h0, c0, *outputs])
    if why:
        return why
    xs, ws, rs = ctx.shape(x), ctx.shape(w), ctx.shape(r)
    if len(xs) != 3:
        return "rank"
    seq, batch, inp = xs
    hid = int(a.get("hidden_size") or rs[-1])
    if ws != (dirs, 4 * hid, inp) or rs != (dirs, 4 * hid, hid) or (b and ctx.shape(b) != (dirs, 8 * hid)):
        return "weight shapes"
    if seq_lens:
        lens = ctx.const(seq_lens)
        if lens is None or np.any(lens != seq):
            return "sequence_lens shorter than the sequence"
    state = (dirs, batch, hid)
    for name in (h0, c0):
        if name and ctx.shape(name) != state:
            return "initial state shape"
    expected = [(seq, dirs, batch, hid), state, state]
    for name, shape in zip(outputs, expected):
        if name and ctx.mismatch(name, shape):
            return ctx.mismatch(name, shape)
    written = [o for o in outputs if o]
    if not written:
        return "no outputs"
    w_const, r_const = ctx.const(w), ctx.const(r)
    if w_const is None or r_const is None:
        return "W or R is not a constant"
    # the kernel's layout: W and R transposed per direction (rows of 4h gates)
    w_t, r_t = f"{node.name}/native_w_t", f"{node.name}/native_r_t"
    ints = (seq, batch, inp, hid, {"forward": 0, "reverse": 1, "bidirectional": 2}[direction])
    operands = (x, w_t, r_t, b or None, h0 or None, c0 or None, *(o or None for o in outputs))
    step = Step(ctx.native.STEP_LSTM, operands, ints, (), written[0], tuple(written[1:]))
    return Lowered([step], consts={name: np.ascontiguousarray(const.astype(np.float32, copy=False).transpose(0, 2, 1))
                                   for name, const in ((w_t, w_const), (r_t, r_const))})


@lowering("ConvTranspose")
def _conv_transpose(node: Node, ctx: LowerContext):
    from ..kernels.nn.convtranspose import transpose_geometry  # the numpy kernel owns the geometry

    x, w, y = node.inputs[0], node.inputs[1], node.outputs[0]
    b = node.inputs[2] if len(node.inputs) > 2 and node.inputs[2] else None
    why = ctx.float_tensors(node, [x, w, b, y])
    if why:
        return why
    xs, ws = ctx.shape(x), ctx.shape(w)
    if len(xs) != 4 or len(ws) != 4:
        return "native ConvTranspose is 2-D"
    group = int(node.attrs.get("group", 1))
    kernel = list(node.attrs.get("kernel_shape") or ws[2:])
    if ws[0] != xs[1] or xs[1] % group or list(ws[2:]) != kernel:
        return "weight shape does not match the input"
    out, pb, strides, dilations = transpose_geometry(node.attrs, xs[2:], kernel)
    m = ws[1] * group
    why = ctx.mismatch(y, (xs[0], m, *out))
    if why or min(out) < 1:
        return why or "empty output"
    ints = (xs[0], xs[1], xs[2], xs[3], m, out[0], out[1], kernel[0], kernel[1], strides[0], strides[1],
            dilations[0], dilations[1], pb[0], pb[1], group, ctx.native.ACT_NONE)
    return Lowered([Step(ctx.native.STEP_CONVTRANSPOSE2D, (x, w, b, y), ints, (0.0, 0.0), y)])


@lowering("Resize")
@float_io
def _resize(node: Node, ctx: LowerContext, x: str, y: str, xs: tuple[int, ...]):
    from ..kernels.nn.resize import ResizeCore  # the numpy kernel owns the coordinate rules

    if len(xs) != 4:
        return "native Resize is over the last two axes of a 4-D tensor"
    params = [ctx.const(n) if n else None for n in (list(node.inputs[1:4]) + [""] * 3)[:3]]
    if any(n and p is None for n, p in zip(node.inputs[1:4], params)):
        return "roi/scales/sizes are not constants"
    roi, scales, sizes = params
    if scales is not None and scales.size == 0:
        scales = None
    if sizes is not None and sizes.size == 0:
        sizes = None
    core = ResizeCore(node.attrs)
    if core.antialias or core.mode not in ("nearest", "linear", "cubic"):
        return "antialiasing"
    try:
        plan = core.plan(tuple(xs), roi, scales, sizes)
    except (ValueError, TypeError, IndexError) as err:
        return f"resize geometry: {err}"
    tables = {2: None, 3: None}
    for axis_plan in plan:
        if axis_plan.axis not in tables or axis_plan.extrap is not None:
            return "resizes a batch/channel axis or extrapolates"
        idx = np.asarray(axis_plan.idx).reshape(len(axis_plan.idx), -1).astype(np.int32)
        w = np.ones(idx.shape, np.float32) if axis_plan.w is None else np.asarray(axis_plan.w, np.float32).reshape(idx.shape)
        tables[axis_plan.axis] = (idx, w)
    for axis in (2, 3):
        if tables[axis] is None:  # axis kept: identity taps
            tables[axis] = (np.arange(xs[axis], dtype=np.int32)[:, None], np.ones((xs[axis], 1), np.float32))
    (iy, wy), (ix, wx) = tables[2], tables[3]
    oh, ow = iy.shape[0], ix.shape[0]
    why = ctx.mismatch(y, (xs[0], xs[1], oh, ow))
    if why:
        return why
    names = [f"{node.name}/native_{k}" for k in ("iy", "wy", "ix", "wx")]
    consts = dict(zip(names, (np.ascontiguousarray(iy), np.ascontiguousarray(wy), np.ascontiguousarray(ix),
                              np.ascontiguousarray(wx))))
    ints = (xs[0] * xs[1], xs[2], xs[3], oh, ow, iy.shape[1], ix.shape[1])
    return Lowered([Step(ctx.native.STEP_RESIZE2D, (x, *names, y), ints, (), y)], consts=consts)


@lowering("Gather")
def _gather(node: Node, ctx: LowerContext):
    """Gather of one constant index (a token, a row): a strided block copy."""
    x, idx, y = node.inputs[0], node.inputs[1], node.outputs[0]
    xs, dt, index = ctx.shape(x), ctx.dtype(x), ctx.const(idx)
    if xs is None or dt is None or index is None or index.size != 1 or index.dtype.kind not in "iu":
        return "dynamic shape or a non-constant/multiple index"
    axis = int(node.attrs.get("axis", 0))
    axis = axis + len(xs) if axis < 0 else axis
    i = int(index.reshape(()))
    i = i + xs[axis] if i < 0 else i
    if not 0 <= i < xs[axis]:
        return "index out of range"  # the numpy kernel raises the error
    expected = xs[:axis] + tuple(index.shape) + xs[axis + 1:]
    if ctx.mismatch(y, expected) or ctx.dtype(y) != dt:
        return ctx.mismatch(y, expected) or "dtype"
    inner = math.prod(xs[axis + 1:]) * dt.itemsize
    rows = math.prod(xs[:axis])
    return Lowered([Step(ctx.native.STEP_COPY, (x, y), (rows, inner, i * inner, xs[axis] * inner, 0, inner), (), y)])


# ---------------------------------------------------------------- int8 ops (their own module, same table)

from . import qlowering  # noqa: E402,F401  (registers the QLinear*/QGemm/(De)QuantizeLinear lowerings)
