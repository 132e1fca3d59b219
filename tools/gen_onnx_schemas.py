"""Regenerate ``core/litert/schema/onnx_ops.tsv`` from the installed ``onnx``.

The core must not import ``onnx`` at run time, yet its operator schemas follow
ONNX: attribute names, types, defaults and arities of every version of every
operator.  This development-time script extracts them into a committed table.

    python tools/gen_onnx_schemas.py
"""
from __future__ import annotations

from pathlib import Path

import onnx
from onnx import defs, helper, numpy_helper

from litert.schema.registry import write_table

OUT = Path(__file__).resolve().parents[1] / "core" / "litert" / "schema" / "onnx_ops.tsv"
_ATTR_TYPES = {v: k.lower() for k, v in onnx.AttributeProto.AttributeType.items()}
_OPTION = {
    defs.OpSchema.FormalParameterOption.Single: "single",
    defs.OpSchema.FormalParameterOption.Optional: "optional",
    defs.OpSchema.FormalParameterOption.Variadic: "variadic",
}


def _default(attr: onnx.AttributeProto):
    if attr.type == 0:
        return None
    value = helper.get_attribute_value(attr)
    if attr.type == onnx.AttributeProto.STRING:
        return value.decode()
    if attr.type == onnx.AttributeProto.STRINGS:
        return [v.decode() for v in value]
    if attr.type == onnx.AttributeProto.TENSOR:
        array = numpy_helper.to_array(value)
        return {"tensor": array.tolist(), "dtype": int(value.data_type), "dims": list(array.shape)}
    if attr.type in (onnx.AttributeProto.INTS, onnx.AttributeProto.FLOATS):
        return list(value)
    return value


def _schema(s: defs.OpSchema) -> dict:
    return {
        "since": s.since_version,
        "deprecated": s.deprecated,
        "attrs": {
            name: {"type": _ATTR_TYPES[int(a.type)], "required": a.required, "default": _default(a.default_value)}
            for name, a in sorted(s.attributes.items())
        },
        "inputs": [[p.name, _OPTION[p.option]] for p in s.inputs],
        "outputs": [[p.name, _OPTION[p.option]] for p in s.outputs],
        "min_inputs": s.min_input,
        "max_inputs": min(s.max_input, 2**31 - 1),
        "min_outputs": s.min_output,
        "max_outputs": min(s.max_output, 2**31 - 1),
        "function": s.has_function or s.has_context_dependent_function,
    }


def main() -> None:
    table: dict[tuple[str, str], list] = {}
    for s in defs.get_all_schemas_with_history():
        table.setdefault((s.domain or "", s.name), []).append(_schema(s))
    for versions in table.values():
        versions.sort(key=lambda v: v["since"])
    write_table(OUT, onnx.__version__, table)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {len(table)} operators)")


if __name__ == "__main__":
    main()
