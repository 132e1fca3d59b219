"""litert's reader and writer of MindSpore Lite ``.ms`` models (FlatBuffers, identifier ``MSL2``)."""
