"""Caffe nets built from scratch for the Caffe frontend's tests (no Caffe needed).

Each net is written with litert's own Caffe protos: the structure as a
``.prototxt`` (text format, no weights) and the same net with random weight
blobs as a ``.caffemodel`` (binary), as Caffe itself saves them.  OpenCV's DNN
module (``cv2.dnn.readNetFromCaffe``, 4.x) runs them as the oracle.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from google.protobuf import text_format

from litert_formats.caffe import caffe_pb2


class NetBuilder:
    """A NetParameter grown layer by layer; weight blobs are random (seeded) unless given."""

    def __init__(self, name: str, input_shape: tuple[int, ...], seed: int = 0) -> None:
        self.net = caffe_pb2.NetParameter(name=name)
        self.rng = np.random.default_rng(seed)
        self.shapes = {"data": tuple(input_shape)}
        data = self.net.layer.add(name="data", type="Input", top=["data"])
        data.input_param.shape.add(dim=list(input_shape))

    def add(self, type_: str, name: str, bottom, top=None, blobs=(), **params):
        """A layer; ``params`` maps a LayerParameter field (``convolution_param``) to its fields as a dict."""
        bottoms = [bottom] if isinstance(bottom, str) else list(bottom)
        tops = [name] if top is None else ([top] if isinstance(top, str) else list(top))
        layer = self.net.layer.add(name=name, type=type_, bottom=bottoms, top=tops)
        for field, values in params.items():
            getattr(layer, field).CopyFrom(type(getattr(layer, field))(**values))
        for array in blobs:
            blob = layer.blobs.add()
            blob.shape.dim.extend(array.shape)
            blob.data.extend(np.asarray(array, np.float32).ravel().tolist())
        return tops[0] if len(tops) == 1 else tops

    def rand(self, *shape, scale: float = 0.3, low: float | None = None) -> np.ndarray:
        if low is not None:
            return self.rng.uniform(low, low + scale, shape).astype(np.float32)
        return (self.rng.standard_normal(shape) * scale).astype(np.float32)

    def conv(self, name, bottom, cin, out, k, stride=1, pad=0, group=1, dilation=1, bias=True, top=None):
        blobs = [self.rand(out, cin // group, k, k, scale=1.0 / np.sqrt(cin // group * k * k))]
        if bias:
            blobs.append(self.rand(out, scale=0.1))
        p = {"num_output": out, "kernel_size": [k], "stride": [stride], "pad": [pad], "bias_term": bias}
        if group != 1:
            p["group"] = group
        if dilation != 1:
            p["dilation"] = [dilation]
        return self.add("Convolution", name, bottom, top, blobs, convolution_param=p)

    def bn_scale(self, name, bottom, channels):
        """BatchNorm (mean, variance, moving-average factor) + Scale with bias, in place as Caffe nets do."""
        factor = np.array([2.0], np.float32)
        self.add("BatchNorm", f"{name}_bn", bottom, bottom,
                 [self.rand(channels, scale=0.2) * factor, self.rand(channels, scale=1.0, low=0.5) * factor, factor],
                 batch_norm_param={"eps": 1e-5})
        self.add("Scale", f"{name}_scale", bottom, bottom,
                 [self.rand(channels, scale=1.0, low=0.5), self.rand(channels, scale=0.2)],
                 scale_param={"bias_term": True})
        return bottom

    def relu(self, name, bottom, slope=0.0):
        return self.add("ReLU", name, bottom, bottom, relu_param={"negative_slope": slope} if slope else {})

    def ip(self, name, bottom, k, n, top=None):
        return self.add("InnerProduct", name, bottom, top, [self.rand(n, k, scale=1.0 / np.sqrt(k)),
                                                            self.rand(n, scale=0.1)],
                        inner_product_param={"num_output": n})

    def pool(self, name, bottom, method, k=0, stride=1, pad=0, global_=False):
        p = {"pool": method}
        if global_:
            p["global_pooling"] = True
        else:
            p.update(kernel_size=k, stride=stride, pad=pad)
        return self.add("Pooling", name, bottom, pooling_param=p)

    def save(self, folder: Path) -> tuple[Path, Path]:
        """``<name>.prototxt`` (no blobs) and ``<name>.caffemodel`` (with blobs)."""
        structure = caffe_pb2.NetParameter()
        structure.CopyFrom(self.net)
        for layer in structure.layer:
            del layer.blobs[:]
        prototxt = folder / f"{self.net.name}.prototxt"
        prototxt.write_text(text_format.MessageToString(structure))
        caffemodel = folder / f"{self.net.name}.caffemodel"
        caffemodel.write_bytes(self.net.SerializeToString())
        return prototxt, caffemodel


MAX, AVE = caffe_pb2.PoolingParameter.MAX, caffe_pb2.PoolingParameter.AVE
SUM, PROD, EMAX = caffe_pb2.EltwiseParameter.SUM, caffe_pb2.EltwiseParameter.PROD, caffe_pb2.EltwiseParameter.MAX


def lenet() -> NetBuilder:
    n = NetBuilder("lenet", (1, 1, 28, 28), seed=1)
    x = n.conv("conv1", "data", 1, 20, 5)
    x = n.pool("pool1", x, MAX, 2, 2)
    x = n.conv("conv2", x, 20, 50, 5)
    x = n.pool("pool2", x, MAX, 2, 2)
    x = n.ip("ip1", x, 50 * 4 * 4, 100)
    x = n.relu("relu1", x)
    x = n.ip("ip2", x, 100, 10)
    n.add("Softmax", "prob", x)
    return n


def vgg_block() -> NetBuilder:
    """3x3 conv pairs, MAX pooling on an odd size (Caffe's ceil rounding), AVE pooling with padding, Dropout."""
    n = NetBuilder("vgg_block", (1, 3, 23, 23), seed=2)
    x = n.relu("relu1_1", n.conv("conv1_1", "data", 3, 8, 3, pad=1))
    x = n.relu("relu1_2", n.conv("conv1_2", x, 8, 8, 3, pad=1))
    x = n.pool("pool1", x, MAX, 2, 2)            # 23 -> 12 (ceil)
    x = n.relu("relu2_1", n.conv("conv2_1", x, 8, 16, 3, pad=1))
    x = n.pool("pool2", x, AVE, 3, 2, pad=1)     # 12 -> 7 with the window clipped at the padded edge
    x = n.pool("pool3", x, MAX, 3, 2, pad=1)     # 7 -> 4
    x = n.relu("relu6", n.ip("fc6", x, 16 * 4 * 4, 32))
    x = n.add("Dropout", "drop6", x, x, dropout_param={"dropout_ratio": 0.5})
    n.ip("fc7", x, 32, 10)
    return n


def resnet() -> NetBuilder:
    """Stem conv 7x7/2 + BatchNorm/Scale, two residual blocks (identity and projection), Eltwise SUM with coeff."""
    n = NetBuilder("resnet", (1, 3, 32, 32), seed=3)
    x = n.conv("conv1", "data", 3, 16, 7, stride=2, pad=3, bias=False)
    x = n.relu("conv1_relu", n.bn_scale("conv1", x, 16))
    x = n.pool("pool1", x, MAX, 3, 2)                                   # 16 -> 8 (ceil)
    a = n.relu("res2a_relu", n.bn_scale("res2a_1", n.conv("res2a_1", x, 16, 16, 3, pad=1, bias=False), 16))
    a = n.bn_scale("res2a_2", n.conv("res2a_2", a, 16, 16, 3, pad=1, bias=False), 16)
    x = n.add("Eltwise", "res2a", [x, a])
    x = n.relu("res2a_out", x)
    short = n.bn_scale("res3a_proj", n.conv("res3a_proj", x, 16, 32, 1, stride=2, bias=False), 32)
    b = n.relu("res3a_relu", n.bn_scale("res3a_1", n.conv("res3a_1", x, 16, 32, 3, stride=2, pad=1, bias=False), 32))
    b = n.bn_scale("res3a_2", n.conv("res3a_2", b, 32, 32, 3, pad=1, bias=False), 32)
    x = n.add("Eltwise", "res3a", [short, b], eltwise_param={"operation": SUM, "coeff": [1.0, -0.5]})
    x = n.relu("res3a_out", x)
    x = n.pool("pool5", x, AVE, global_=True)
    n.ip("fc", x, 32, 10)
    return n


def squeezenet() -> NetBuilder:
    """Fire modules (squeeze 1x1, expand 1x1 and 3x3 joined by Concat), then a 1x1 classifier, global AVE, Softmax."""
    n = NetBuilder("squeezenet", (1, 3, 33, 33), seed=4)
    x = n.relu("relu1", n.conv("conv1", "data", 3, 16, 3, stride=2))
    x = n.pool("pool1", x, MAX, 3, 2)                                   # 16 -> 8 (ceil)

    def fire(name, bottom, cin, squeeze, expand):
        s = n.relu(f"{name}_relu_s", n.conv(f"{name}_squeeze1x1", bottom, cin, squeeze, 1))
        e1 = n.relu(f"{name}_relu_e1", n.conv(f"{name}_expand1x1", s, squeeze, expand, 1))
        e3 = n.relu(f"{name}_relu_e3", n.conv(f"{name}_expand3x3", s, squeeze, expand, 3, pad=1))
        return n.add("Concat", f"{name}_concat", [e1, e3])

    x = fire("fire2", x, 16, 8, 16)
    x = fire("fire3", x, 32, 8, 16)
    x = n.pool("pool3", x, MAX, 3, 2)                                   # 8 -> 4 (ceil)
    x = fire("fire4", x, 32, 12, 24)
    x = n.relu("relu10", n.conv("conv10", x, 48, 10, 1))
    x = n.pool("pool10", x, AVE, global_=True)
    x = n.add("Flatten", "flat", x)
    n.add("Softmax", "prob", x)
    return n


def mobilenet() -> NetBuilder:
    """Depthwise (group = channels) and pointwise convs with BatchNorm/Scale, a dilated depthwise conv, Eltwise MAX."""
    n = NetBuilder("mobilenet", (1, 3, 32, 32), seed=5)
    x = n.relu("conv1_relu", n.bn_scale("conv1", n.conv("conv1", "data", 3, 16, 3, stride=2, pad=1, bias=False), 16))

    def dw_pw(name, bottom, cin, cout, stride=1, dilation=1):
        d = n.conv(f"{name}_dw", bottom, cin, cin, 3, stride=stride, pad=dilation, group=cin, dilation=dilation,
                   bias=False)
        d = n.relu(f"{name}_dw_relu", n.bn_scale(f"{name}_dw", d, cin))
        p = n.conv(f"{name}_pw", d, cin, cout, 1, bias=False)
        return n.relu(f"{name}_pw_relu", n.bn_scale(f"{name}_pw", p, cout))

    x = dw_pw("conv2", x, 16, 32)
    x = dw_pw("conv3", x, 32, 32, stride=2)
    y = dw_pw("conv4", x, 32, 32, dilation=2)
    x = n.add("Eltwise", "max4", [x, y], eltwise_param={"operation": EMAX})
    x = n.pool("pool", x, AVE, global_=True)
    x = n.relu("fc_relu", n.conv("fc", x, 32, 12, 1))
    x = n.add("Reshape", "reshape", x, reshape_param={"shape": {"dim": [0, -1]}})
    n.add("Softmax", "prob", x)
    return n


def upsample_misc() -> NetBuilder:
    """Deconvolution upsampling, LRN (across and within channels), PReLU, ELU, Slice, Permute, Power, Eltwise PROD."""
    n = NetBuilder("upsample_misc", (1, 4, 12, 12), seed=6)
    x = n.conv("conv1", "data", 4, 12, 3, pad=1)
    x = n.add("PReLU", "prelu1", x, x, [n.rand(12, scale=0.3)])
    x = n.add("LRN", "norm1", x, lrn_param={"local_size": 5, "alpha": 1e-2, "beta": 0.75})
    x = n.pool("pool1", x, MAX, 2, 2)                                   # 12 -> 6
    up = n.add("Deconvolution", "up", x, None, [n.rand(12, 6, 4, 4, scale=0.2), n.rand(6, scale=0.1)],
               convolution_param={"num_output": 6, "kernel_size": [4], "stride": [2], "pad": [1]})  # 6 -> 12
    up = n.add("ELU", "elu", up, up, elu_param={"alpha": 0.5})
    a, b = n.add("Slice", "slice", up, ["part_a", "part_b"], slice_param={"axis": 1, "slice_point": [2]})
    a = n.add("LRN", "norm2", a, lrn_param={"local_size": 3, "alpha": 0.1, "beta": 0.5,
                                            "norm_region": caffe_pb2.LRNParameter.WITHIN_CHANNEL})
    a = n.add("Power", "power", a, power_param={"power": 2.0, "scale": 0.5, "shift": 1.0})
    b = n.add("Sigmoid", "gate", b)
    b2 = n.add("TanH", "tanh", n.conv("conv_b", b, 4, 2, 1))
    x = n.add("Eltwise", "prod", [a, b2], eltwise_param={"operation": PROD})
    x = n.add("Concat", "cat", [x, b], concat_param={"axis": 1})
    n.add("Permute", "perm", x, permute_param={"order": [0, 2, 3, 1]})
    return n


NETS = {"lenet": lenet, "vgg_block": vgg_block, "resnet": resnet, "squeezenet": squeezenet, "mobilenet": mobilenet,
        "upsample_misc": upsample_misc}


def opencv_run(prototxt: Path, caffemodel: Path, feed: np.ndarray, outputs: list[str]) -> dict[str, np.ndarray]:
    """OpenCV DNN's outputs (by layer name) for one input blob, computed in float32 on its CPU path."""
    import cv2

    net = cv2.dnn.readNetFromCaffe(str(prototxt), str(caffemodel))
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    net.setInput(feed)
    return dict(zip(outputs, net.forward(outputs)))
