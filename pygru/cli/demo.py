"""`pygru demo`: train, export and run as firmware on the bundled data, in one command."""
import os

from ._common import EXIT_OK, CLIError, positive_float, positive_int, say, seed

NAME = "demo"
HELP = "train, export and run as firmware on bundled data, in one command"
SESSION = ("pygru demo", "everything below on bundled data, in one go")
DESCRIPTION = """\
The whole promise in one command: train a GRU classifier on the bundled real
data set (spoken digits 0-9 as MFCC sequences, from the Free Spoken Digit
Dataset), print its test accuracy, export it as a C header, compile a
firmware-style C program (static buffers only) against it with the system C
compiler, run it on every test sequence and check that its predictions (and
every output bit) equal Python's. Where arm-none-eabi-gcc and qemu-system-arm
are installed, repeat that on a Cortex-M4F under QEMU (startup code and
linker script ship in pygru/firmware).

Writes into --out: model.npz, kws.h, main.c, demo_data.h, the host program,
training.png (with matplotlib), history.json and summary.json (written last).
"""
EXAMPLES = """\
examples:
  pygru demo
  pygru demo --out /tmp/kws_demo --epochs 30 --hidden 64
  pygru demo --no-cortex-m --no-progress
"""


def add_arguments(p):
    p.add_argument("--out", default="demo_out", metavar="DIR", help="output folder (default ./demo_out)")
    p.add_argument("--epochs", type=positive_int, default=20, help="default 20")
    p.add_argument("--hidden", type=positive_int, default=32, help="GRU hidden size (default 32)")
    p.add_argument("--lr", type=positive_float, default=1e-2, help="Adam learning rate (default 0.01)")
    p.add_argument("--batch-size", type=positive_int, default=32, help="default 32")
    p.add_argument("--seed", type=seed, default=0, help="default 0")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--no-cortex-m", action="store_true", help="skip the Cortex-M4F / QEMU step")


def run(args):
    from .. import demo
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise CLIError(f"--out: {args.out!r} exists and is not a directory")
    parent = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(parent):
        raise CLIError(f"--out: parent directory {parent!r} does not exist")
    try:
        demo.run(out_dir=args.out, epochs=args.epochs, hidden=args.hidden, lr=args.lr,
                 batch_size=args.batch_size, seed=args.seed, progress=not (args.no_progress or args.quiet),
                 cortex_m=not args.no_cortex_m, log=lambda text: say(args, text))
    except demo.DemoError as exc:
        raise CLIError(str(exc)) from None
    return EXIT_OK
