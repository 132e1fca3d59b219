"""Run ONNX node conformance cases straight through the CPU kernel table.

This is a development harness for kernel authors: it bypasses the core
(frontend, passes, scheduler) and feeds each ONNX node of a case to its kernel,
with attribute defaults filled from the installed ``onnx`` schemas.  The real
end-to-end conformance run lives in the top-level ``tests/`` folder.

    python plugins/cpu/tests/kernel_harness.py Conv MaxPool   # case-name filters
"""
from __future__ import annotations

import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper
from onnx.backend.test.case.node import collect_testcases

import litert_cpu.kernels  # noqa: F401  (fills the table)
from litert_cpu.kernels._base import KernelContext
from litert_cpu.kernels._registry import KERNELS


def _attr_value(attr: onnx.AttributeProto):
    value = helper.get_attribute_value(attr)
    if attr.type == onnx.AttributeProto.STRING:
        return value.decode("utf-8")
    if attr.type == onnx.AttributeProto.STRINGS:
        return [v.decode("utf-8") for v in value]
    if attr.type == onnx.AttributeProto.TENSOR:
        return numpy_helper.to_array(value)
    if attr.type == onnx.AttributeProto.TENSORS:
        return [numpy_helper.to_array(v) for v in value]
    if attr.type in (onnx.AttributeProto.INTS, onnx.AttributeProto.FLOATS):
        return list(value)
    return value


def node_attrs(node: onnx.NodeProto, opset: int) -> dict:
    schema = onnx.defs.get_schema(node.op_type, opset, node.domain)
    attrs = {}
    for name, spec in schema.attributes.items():
        if spec.default_value is not None and spec.default_value.type != 0:
            attrs[name] = _attr_value(spec.default_value)
    for attr in node.attribute:
        attrs[attr.name] = _attr_value(attr)
    return attrs


def run_model(model: onnx.ModelProto, inputs: list[np.ndarray]) -> list[np.ndarray]:
    opset = {o.domain: o.version for o in model.opset_import}
    env = {i.name: v for i, v in zip(model.graph.input, inputs)}
    for init in model.graph.initializer:
        env[init.name] = numpy_helper.to_array(init)
    for node in model.graph.node:
        key = ("" if node.domain == "ai.onnx" else node.domain, node.op_type)
        if key not in KERNELS:
            raise NotImplementedError(f"no kernel for {key}")
        ctx = KernelContext(
            op_type=node.op_type,
            domain=key[0],
            opset=opset.get(key[0], 1),
            consts=[env.get(n) if n in {i.name for i in model.graph.initializer} else None for n in node.input],
            input_shapes=[np.shape(env[n]) if n else None for n in node.input],
            input_dtypes=[getattr(env[n], "dtype", None) if n else None for n in node.input],
            num_outputs=len(node.output),
            node_name=node.name,
        )
        kern = KERNELS[key](node_attrs(node, ctx.opset), ctx)
        outs = kern.run(*[env[n] if n else None for n in node.input])
        for name, value in zip(node.output, outs):
            if name:
                env[name] = value
    return [env[o.name] for o in model.graph.output]


def check_case(case, rtol=1e-3, atol=1e-7) -> str | None:
    """``None`` when the case passes, else a one-line reason."""
    for inputs, expected in case.data_sets:
        try:
            got = run_model(case.model, list(inputs))
        except NotImplementedError as e:
            return f"missing: {e}"
        except Exception as e:  # noqa: BLE001 - report, keep going
            return f"error: {type(e).__name__}: {e}"
        for g, e in zip(got, expected):
            if isinstance(e, (list, type(None))):
                continue
            g = np.asarray(g)
            if g.shape != e.shape:
                return f"shape {g.shape} != {e.shape}"
            if e.dtype == object:
                if not np.array_equal(g, e):
                    return "string mismatch"
            elif not np.allclose(g.astype(np.float64), e.astype(np.float64), rtol=rtol, atol=atol, equal_nan=True):
                return f"values differ (max abs {np.max(np.abs(g.astype(np.float64) - e.astype(np.float64)))})"
            elif g.dtype != e.dtype:
                return f"dtype {g.dtype} != {e.dtype}"
    return None


def main(filters: list[str]) -> None:
    cases = [c for c in collect_testcases() if c.kind == "node"]
    if filters:
        cases = [c for c in cases if any(f.lower() in c.name.lower() for f in filters)]
    failed = 0
    for case in cases:
        reason = check_case(case)
        if reason:
            failed += 1
            print(f"FAIL {case.name}: {reason}")
    print(f"{len(cases) - failed}/{len(cases)} passed")


if __name__ == "__main__":
    main(sys.argv[1:])
