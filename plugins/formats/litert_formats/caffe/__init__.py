"""Caffe ``.prototxt`` + ``.caffemodel`` reader; no Caffe import (own ``caffe.proto``)."""
