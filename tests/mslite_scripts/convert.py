"""A MindSpore Lite user's conversion script (its documented ``Converter``), ONNX -> .ms.

Run as it is in MindSpore Lite 2.0's venv, or with only the import line
changed to ``import litert.mslite as mslite`` (tests/test_mslite_api.py).

    python convert.py MODEL.onnx OUTPUT_PREFIX [--input-format NHWC|NCHW]

writes OUTPUT_PREFIX.ms.
"""
import argparse
import os
import sys

import mindspore_lite as mslite


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("output")
    parser.add_argument("--input-format", default="NHWC", choices=("NHWC", "NCHW"))
    args = parser.parse_args(argv)
    converter = mslite.Converter()
    converter.save_type = mslite.ModelType.MINDIR_LITE
    converter.input_format = getattr(mslite.Format, args.input_format)
    converter.optimize = "general"
    converter.convert(fmk_type=mslite.FmkType.ONNX, model_file=args.model, output_file=args.output)
    return 0 if os.path.isfile(args.output + ".ms") else 1


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)  # MindSpore Lite 2.0 may crash in interpreter teardown after the work is done
