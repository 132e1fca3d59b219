"""The committed operator table (``onnx_ops.tsv``) as :class:`litert.schema.registry.Table` reads it: one
operator's line found by its exact name, the newest version of each domain from the first line."""
from __future__ import annotations

import json

from litert.schema.registry import _TABLE, Table, schemas, write_table


def _scan(data: bytes) -> dict[tuple[str, str], tuple[int, list]]:
    """Every line of the table, split (what reading it whole gives)."""
    rows = data.decode("utf-8").splitlines()[1:]
    return {(d, op): (int(since), json.loads(versions)) for d, op, since, versions in (r.split("\t", 3) for r in rows)}


def test_each_operator_is_found_by_its_exact_name():
    data = _TABLE.read_bytes()
    table, scanned = Table(data), _scan(data)
    assert set(table.keys()) == set(scanned) and len(scanned) > 200
    for (domain, op_type), (since, versions) in scanned.items():
        row = table.row(domain, op_type)
        assert row is not None and row[0] == since and json.loads(row[1]) == versions
        assert (domain, op_type) in table
    # a name that begins another's (Conv, ConvInteger, ConvTranspose) or another domain's operator
    assert table.row("", "Conv")[0] == scanned["", "Conv"][0] != scanned["", "ConvInteger"][0]
    assert table.row("", "Nope") is None and table.row("ai.onnx", "Conv") is None
    assert table.row("", "LabelEncoder") is None and table.row("ai.onnx.ml", "LabelEncoder") is not None
    assert ("", "Nope") not in table and ("ai.onnx", "Conv") not in table and ("", "Conv") in table
    assert ("", "LabelEncoder") not in table and ("ai.onnx.ml", "LabelEncoder") in table


def test_the_first_line_holds_the_newest_version_of_each_domain():
    data = _TABLE.read_bytes()
    newest: dict[str, int] = {}
    for (domain, _), (since, _) in _scan(data).items():
        newest[domain] = max(newest.get(domain, 0), since)
    assert Table(data).newest == newest
    assert schemas().latest_opset("") == newest[""] and schemas().latest_opset("ai.onnx.ml") == newest["ai.onnx.ml"]


def test_write_table_round_trip(tmp_path):
    versions = [{"since": 1, "attrs": {}}, {"since": 7, "attrs": {"alpha": {"type": "float"}}}]
    path = tmp_path / "ops.tsv"
    write_table(path, "9.9", {("", "Relu"): versions, ("x.y", "Op"): [{"since": 3}], ("", "Add"): [{"since": 14}]})
    table = Table(path.read_bytes())
    assert table.onnx_version == "9.9" and table.newest == {"": 14, "x.y": 3}
    assert table.row("", "Relu") == (7, json.dumps(versions, separators=(",", ":"), sort_keys=True))
    assert sorted(table.keys()) == [("", "Add"), ("", "Relu"), ("x.y", "Op")]
