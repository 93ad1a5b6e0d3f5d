"""`pygru import FILE -o MODEL.npz`: a GRU from ONNX, PyTorch or Keras."""
import os

from ._common import EXIT_OK, CLIError, UsageError, input_file, output_file, say

NAME = "import"
HELP = "convert an ONNX, PyTorch or Keras GRU to a pygru model"
SESSION = ("pygru import model.onnx -o model.npz", "from ONNX, PyTorch or Keras")
DESCRIPTION = None
EXAMPLES = """\
examples:
  pygru import gru.onnx -o model.npz
  pygru import gru_state_dict.pt -o model.npz          # PyTorch: loaded with weights_only=True
  pygru import net.pt -o model.npz --head fc           # GRU + nn.Linear saved as net.state_dict()
  pygru import model.safetensors -o model.npz
  pygru import model.keras -o model.npz                # Keras 3 / legacy .h5, read with h5py
  pygru import weights.bin -o model.npz --format onnx  # when the extension says nothing
"""

FORMATS = {".onnx": "onnx", ".pt": "torch", ".pth": "torch", ".safetensors": "torch",
           ".keras": "keras", ".h5": "keras", ".hdf5": "keras"}


def add_arguments(p):
    p.add_argument("file", metavar="FILE", help=".onnx, .pt/.pth/.safetensors or .keras/.h5")
    p.add_argument("-o", "--output", required=True, metavar="MODEL.npz", help="pygru model to write")
    p.add_argument("--format", choices=["onnx", "torch", "keras"], help="override the extension")
    p.add_argument("--head", metavar="PREFIX",
                   help="PyTorch: key prefix of the nn.Linear head in the state dict (e.g. fc)")
    p.add_argument("--output-activation", choices=["sigmoid", "tanh", "softmax"],
                   help="PyTorch: activation after the head (a state dict does not record it)")


def run(args):
    import pygru
    input_file(args.file, "FILE")
    output_file(args.output, (".npz",))
    fmt = args.format or FORMATS.get(os.path.splitext(args.file)[1].lower())
    if fmt is None:
        raise UsageError(f"FILE: cannot tell the format of {args.file!r} from its extension "
                         f"(known: {', '.join(sorted(FORMATS))}); pass --format onnx|torch|keras")
    function = {"onnx": "from_onnx", "torch": "from_torch", "keras": "from_keras"}[fmt]
    if fmt != "torch" and (args.head or args.output_activation):
        raise UsageError("--head and --output-activation apply to PyTorch files only "
                         "(ONNX and Keras files record their head)")
    kwargs = {}
    if fmt == "torch":
        kwargs = {"head": args.head, "output_activation": args.output_activation}
    try:
        model = getattr(pygru, function)(args.file, **kwargs)
    except ImportError as exc:
        raise CLIError(f"importing {fmt} needs a package that is not installed: {exc}") from None
    except (ValueError, TypeError, KeyError, OSError) as exc:
        raise CLIError(f"FILE: {args.file!r} could not be imported as {fmt}: {exc}") from None
    model.save(args.output)
    say(args, f"imported {args.file} ({fmt}): {model}")
    say(args, f"wrote {args.output}")
    return EXIT_OK
