#!/usr/bin/env python3
"""Export a saved pygru model (.npz written by GRUModel.save) as a C header.

    python tools/export_header.py model.npz kws.h --name kws

The same thing as pygru.export_c(pygru.load("model.npz"), "kws.h", name="kws"):
one stb-style header with the packed const weights, a ready-to-use
`kws_model` descriptor, KWS_* size macros, a CRC-32 check (kws_check) and an
embedded bit-exact self-test (kws_selftest). Exit status 0 on success, 1 with
a message on stderr if the model, the name or the path is not valid (no file
is written then).
"""
import argparse
import sys

import numpy as np

import pygru
from pygru import export as _export


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="model file written by GRUModel.save (.npz)")
    parser.add_argument("output", help="header to write (.h)")
    parser.add_argument("--name", default="model",
                        help="C name prefix: NAME_model, NAME_selftest, NAME_INPUT_SIZE (default: model)")
    parser.add_argument("--steps", type=int, default=None,
                        help=f"self-test steps (default {_export.DEFAULT_TEST_STEPS})")
    parser.add_argument("--test-input", default=None,
                        help="self-test input sequence: a .npy file of shape (steps, input_size)")
    parser.add_argument("--float-format", choices=_export.FLOAT_FORMATS, default="hex",
                        help="hex (exact hex floats, default) or decimal (shortest round-trip decimals)")
    parser.add_argument("--alignment", type=int, default=_export.DEFAULT_ALIGNMENT,
                        help=f"alignment of the weight arrays in bytes (default {_export.DEFAULT_ALIGNMENT})")
    args = parser.parse_args(argv)
    try:
        model = pygru.load(args.model)
        test_input = None
        if args.test_input is not None:
            test_input = np.load(args.test_input, allow_pickle=False)
        path = pygru.export_c(model, args.output, name=args.name, self_test_steps=args.steps,
                              self_test_input=test_input, float_format=args.float_format,
                              source=args.model, alignment=args.alignment)
    except (ValueError, TypeError, OSError) as exc:
        print(f"export_header: error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
