"""MindSpore Lite's quantisation config file: every section parses; bad input is one clear line."""
from __future__ import annotations

import subprocess
import sys

import pytest

from litert.errors import QuantConfigError
from litert.quant import parse_config
from litert.quant.config import SECTIONS

#: MindSpore Lite's shipped full_quant.cfg style, every quantisation section present
FULL = """\
[common_quant_param]
# comment lines and blank lines are fine

quant_type=FULL_QUANT
bit_num=8
min_quant_weight_size=0
min_quant_weight_channel=16
skip_quant_node=conv1,fc3

[data_preprocess_param]
calibrate_path=input_1:/data/calib
calibrate_size=100
input_type=IMAGE
image_to_format=RGB
normalize_mean=[127.5, 127.5, 127.5]
normalize_std=[127.5,127.5,127.5]
resize_width=224
resize_height=224
resize_method=LINEAR
center_crop_width=200
center_crop_height=200

[full_quant_param]
activation_quant_method=KL
bias_correction=false
per_channel=true
"""


def test_full_config_parses_every_value():
    config = parse_config(FULL, "full.cfg")
    assert config.quant_type == "FULL_QUANT" and config.bit_num == 8
    assert config.skip_nodes == {"conv1", "fc3"}
    assert config.activation_method == "KL" and config.per_channel
    pre = config.preprocess
    assert pre["calibrate_path"] == {"input_1": "/data/calib"}
    assert pre["normalize_mean"] == (127.5,) * 3 and pre["resize_width"] == 224 and pre["center_crop_height"] == 200
    assert config.no_effect == []


def test_defaults_follow_mindspore_lite():
    config = parse_config("[common_quant_param]\nquant_type=WEIGHT_QUANT\n")
    assert config.bit_num == 8
    assert config.get("common_quant_param", "min_quant_weight_channel") == 16
    assert config.get("full_quant_param", "activation_quant_method") == "MAX_MIN"
    assert config.get("dynamic_quant_param", "quant_strategy") == "ALWC"
    # bias_correction defaults to true in MindSpore Lite; litert does not correct, and says so
    assert any("bias_correction" in line for line in config.no_effect)


def test_every_reference_section_is_known():
    assert set(SECTIONS) == {"common_quant_param", "weight_quant_param", "mixed_bit_weight_quant_param",
                             "full_quant_param", "data_preprocess_param", "dynamic_quant_param"}


@pytest.mark.parametrize("text, expected", [
    ("[common_quant_param]\nquant_type=WEIGHT_QUANT\nbogus=1\n", ":3: [common_quant_param] unknown key 'bogus'"),
    ("[common_quant_param]\nquant_type=HALF\n", ":2: [common_quant_param] quant_type: 'HALF' is not one of"),
    ("[common_quant_param]\nquant_type=WEIGHT_QUANT\nbit_num=17\n", "[common_quant_param] bit_num: 17 is outside 0..16"),
    ("[common_quant_param]\nquant_type=FULL_QUANT\nbit_num=4\n", "[common_quant_param] bit_num: FULL_QUANT takes 8"),
    ("[nonsense]\n", "unknown section [nonsense]"),
    ("quant_type=FULL_QUANT\n", "before any [section]"),
    ("[common_quant_param]\nbit_num=8\n", "quant_type is required"),
    ("[common_quant_param]\nquant_type=FULL_QUANT\n", "[data_preprocess_param] calibrate_path is required"),
    ("[common_quant_param]\nquant_type=WEIGHT_QUANT\nquant_type=FULL_QUANT\n", "quant_type is given twice"),
    ("[common_quant_param]\nquant_type=WEIGHT_QUANT\n[weight_quant_param]\nper_channel=yes\n",
     "[weight_quant_param] per_channel: 'yes' is not true or false"),
    ("[common_quant_param]\nquant_type=FULL_QUANT\n[full_quant_param]\nactivation_quant_method=RemovalOutlier\n",
     "activation_quant_method: 'RemovalOutlier' is not one of MAX_MIN, KL, REMOVAL_OUTLIER"),
    ("[data_preprocess_param]\nnormalize_mean=1,2,3\n", "normalize_mean: '1,2,3' is not a list"),
    ("[data_preprocess_param]\ncalibrate_path=/no/name\n", "calibrate_path: '/no/name' is not input_name:folder"),
    ("[common_quant_param]\nquant_type=WEIGHT_QUANT\nbit_num=0\n", "mixed-bit search) is not implemented"),
    ("[common_quant_param]\nquant_type=DYNAMIC_QUANT\n[dynamic_quant_param]\nquant_strategy=ACWL\n",
     "ACWL (per-channel activations) is not implemented"),
])
def test_bad_configs_name_section_and_key(text, expected):
    with pytest.raises(QuantConfigError) as caught:
        parse_config(text, "q.cfg")
    message = str(caught.value)
    assert expected in message and "\n" not in message


def test_accepted_keys_without_effect_are_reported():
    text = ("[common_quant_param]\nquant_type=FULL_QUANT\nenable_encode=true\n"
            "[full_quant_param]\ntarget_device=ASCEND\nbias_correction=false\n"
            "[data_preprocess_param]\ncalibrate_path=x:/d\ncalibrate_size=1\ninput_type=BIN\nresize_width=8\n"
            "resize_height=8\n[weight_quant_param]\nper_channel=false\n[micro_param]\nenable_micro=true\n")
    notes = parse_config(text).no_effect
    joined = "\n".join(notes)
    assert "target_device=ASCEND has no effect" in joined
    assert "enable_encode=true has no effect" in joined
    assert "[weight_quant_param] has no effect with quant_type=FULL_QUANT" in joined
    assert "resize_height, resize_width have no effect with input_type=BIN" in joined
    assert "[micro_param] has no effect" in joined


def test_cli_bad_config_exits_1_with_one_line_and_writes_nothing(tmp_path):
    config = tmp_path / "q.cfg"
    config.write_text("[common_quant_param]\nquant_type=WEIGHT_QUANT\n[weight_quant_param]\nper_chanel=true\n")
    model = tmp_path / "m.onnx"
    model.write_bytes(b"")  # never read: the config fails first
    out = tmp_path / "out.onnx"
    run = subprocess.run([sys.executable, "-m", "litert.cli.main", "convert", "--model", str(model), "--output",
                          str(out), "--config-file", str(config)], capture_output=True, text=True)
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "[weight_quant_param] unknown key 'per_chanel'" in lines[0]
    assert not out.exists()
