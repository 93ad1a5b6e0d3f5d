"""`pygru export MODEL -o FILE.h`: a C header for firmware (float32, int8 or integer)."""
import os
import re

from ._common import EXIT_OK, CLIError, UsageError, load_data, load_model, output_file, positive_int, say

NAME = "export"
HELP = "write a model as a C header for firmware"
SESSION = ("pygru export kws.npz -o kws.h", "C header for firmware")
DESCRIPTION = None
EXAMPLES = """\
examples:
  pygru export kws.npz -o kws.h                 # C names kws_model, KWS_INPUT_SIZE, ...
  pygru export kws.npz -o model.h --name kws --float-format decimal
  pygru export kws.npz -o kws_int8.h --dtype int8 --calibration spoken_digits

In one C file:  #define KWS_IMPLEMENTATION  then  #include "kws.h"
Build with gru_c/src/*.c (pygru.c_source_dir()) and -ffp-contract=off.
"""


def add_arguments(p):
    p.add_argument("model", metavar="MODEL", help="a pygru model (.npz)")
    p.add_argument("-o", "--output", required=True, metavar="FILE.h", help="header to write")
    p.add_argument("--name", help="C name prefix (default: from the output file name)")
    p.add_argument("--dtype", choices=["float32", "int8", "integer"], default="float32",
                   help="float32 (default); int8 weights or integer-only need pygru.quantize")
    p.add_argument("--calibration", metavar="DATA", help="representative data for --dtype int8/integer")
    p.add_argument("--float-format", choices=["hex", "decimal"], default="hex",
                   help="float literals: exact hex (default) or shortest round-trip decimal")
    p.add_argument("--self-test-steps", type=positive_int, default=None,
                   help="steps of the embedded self-test sequence")


def default_name(path):
    """A valid C name prefix made from the output file name."""
    stem = re.sub(r"[^A-Za-z0-9_]", "_", os.path.splitext(os.path.basename(path))[0]).strip("_")
    stem = re.sub(r"_+", "_", stem).lower()
    if not stem or stem[0].isdigit():
        stem = "model_" + stem if stem else "model"
    if stem == "gru" or stem.startswith("gru_"):
        stem = "model_" + stem
    return stem[:32]


def _model(args):
    """The saved model, quantized with --calibration when --dtype asks for it."""
    import pygru
    model = load_model(args.model)
    quantized = getattr(model, "mode", None)
    if quantized and args.dtype != "float32":
        raise UsageError(f"--dtype {args.dtype}: MODEL {args.model!r} is already quantized (mode "
                         f"{quantized!r}); expected a float model to quantize, or no --dtype")
    if args.dtype == "float32":
        return model
    if not args.calibration:
        raise UsageError(f"--dtype {args.dtype} needs --calibration DATA (representative inputs)")
    data = load_data(args.calibration)
    return pygru.quantize(model, data.X_train, mode=args.dtype)


def run(args):
    import pygru
    from .._cgen import check_name
    output_file(args.output, (".h",))
    name = args.name if args.name is not None else default_name(args.output)
    try:
        check_name(name)
    except (TypeError, ValueError) as exc:
        raise UsageError(str(exc).replace("name:", "--name:", 1)) from None
    model = _model(args)
    kwargs = {"name": name, "float_format": args.float_format,
              "source": f"pygru export {os.path.basename(args.model)}"}
    if args.self_test_steps is not None:
        kwargs["self_test_steps"] = args.self_test_steps
    try:
        pygru.export_c(model, args.output, **kwargs)
    except TypeError as exc:
        raise CLIError(f"export failed: {exc}") from None
    upper = name.upper()
    say(args, f"wrote {args.output} ({getattr(model, 'mode', None) or args.dtype}): {name}_model, {upper}_INPUT_SIZE {model.input_size}, "
              f"{upper}_OUTPUT_SIZE {model.output_dim}")
    say(args, f"use: #define {upper}_IMPLEMENTATION (in one .c file), #include \"{os.path.basename(args.output)}\"; "
              f"compile with -I{pygru.c_include_dir()} and {os.path.join(pygru.c_source_dir(), 'src')}/*.c")
    return EXIT_OK
