"""Resource variables (VAR_HANDLE, READ_VARIABLE, ASSIGN_VARIABLE, CALL_ONCE) with first-invocation semantics.

Streaming models (microWakeWord's, for one) keep state in resource variables:
a CALL_ONCE operator runs an initialisation subgraph that assigns each
variable its initial value, then the main graph reads the state and assigns
the next one.  litert sessions are stateless, so a ``run`` is the model's
*first* invocation: CALL_ONCE's subgraph is evaluated at load (it may only
assign constants), READ_VARIABLE yields the variable's current value in
graph order (the initial constant, or a value assigned earlier in the same
run) and ASSIGN_VARIABLE's update is not carried to the next run.  This is
what TFLite computes on a fresh interpreter's first ``invoke``.
"""
from __future__ import annotations

import numpy as np


def _shared_name(op) -> str:
    o = op.options
    return f"{o.get('container') or ''}/{o.get('shared_name') or ''}"


def var_handle(b, op) -> None:
    b.variable_of[op.outputs[0]] = _shared_name(op)


def call_once(b, op) -> None:
    index = int(op.options.get("init_subgraph_index", -1))
    if not 0 <= index < len(b.tfl.subgraphs):
        raise b.unsupported(op, f"an init subgraph index {index} outside the file's {len(b.tfl.subgraphs)}")
    sub = b.tfl.subgraphs[index]
    handles: dict[int, str] = {}
    for init_op in sub.operators:
        if init_op.op_name == "VAR_HANDLE":
            handles[init_op.outputs[0]] = _shared_name(init_op)
        elif init_op.op_name == "ASSIGN_VARIABLE" and len(init_op.inputs) == 2:
            handle, value = init_op.inputs
            tensor = sub.tensors[value] if value >= 0 else None
            if handle not in handles or tensor is None or not tensor.is_const:
                raise b.unsupported(op, "an init subgraph assigning a computed value")
            data = tensor.data
            if tensor.quant is not None and data.dtype.kind in "iu":
                data = tensor.quant.dequantize(data)
            b.variables[handles[handle]] = np.asarray(data)
        else:
            raise b.unsupported(op, f"{init_op.op_name} in an init subgraph")


def _variable(b, op) -> str:
    handle = op.inputs[0] if op.inputs else -1
    if handle not in b.variable_of:
        raise b.unsupported(op, "a variable handle no VAR_HANDLE made")
    return b.variable_of[handle]


def read_variable(b, op) -> None:
    name = _variable(b, op)
    if name not in b.variables:
        raise b.unsupported(op, f"reading variable {name!r} before any CALL_ONCE or ASSIGN_VARIABLE set it")
    value = b.variables[name]
    if isinstance(value, np.ndarray):
        b.fold(op, value.astype(np.float32) if value.dtype.kind == "f" or b.out_tensor(op).quant is not None
               else value)
    else:
        b.emit("Identity", [value], [b.out(op)], op)


def assign_variable(b, op) -> None:
    b.variables[_variable(b, op)] = b.inp(op, 1)


READERS = {"VAR_HANDLE": var_handle, "CALL_ONCE": call_once, "READ_VARIABLE": read_variable,
           "ASSIGN_VARIABLE": assign_variable}
