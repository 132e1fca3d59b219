"""TensorFlow Lite ``.tflite`` reader (FlatBuffers, identifier ``TFL3``)."""
