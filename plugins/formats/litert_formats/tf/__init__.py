"""TensorFlow frozen GraphDef (``.pb``) reader; no TensorFlow import at run time (own ``graph.proto``)."""
