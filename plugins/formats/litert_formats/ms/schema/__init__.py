"""The .ms FlatBuffers schema (ms.fbs) and the Python flatc generated from it (committed; see README.md)."""
