"""FlatBuffers files by schema slot table, shared by the ``.ms`` and TFLite formats.

Each format commits one generated module (``ms/schema.py``, ``tflite/schema.py``,
made from its ``.fbs`` by ``tools/mslite/gen_schema.py``) holding a :class:`.schema.Schema`:
every table's fields in vtable-slot order with their kind and default, the
union members by tag and the enums.  With it, :mod:`.verify` bounds-checks a
whole file, :func:`.read.read_table` turns a verified table into a ``dict``
and :func:`.build.build_table` writes one, all through the ``flatbuffers``
package's ``Table`` and ``Builder`` primitives rather than one generated
class per table.  :mod:`.model_file` opens a model file with them (map,
verify, read the root) and checks a constant's bytes against its dims.
"""
