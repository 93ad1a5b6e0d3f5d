"""The `pygru` command line (also `python -m pygru`).

    pygru demo                                  train, export, run as firmware, compare
    pygru train spoken_digits -o model.npz      train a GRU classifier
    pygru eval model.npz spoken_digits          accuracy on the test split
    pygru export model.npz -o kws.h --name kws  C header for firmware
    pygru import model.onnx -o model.npz        from ONNX / PyTorch / Keras
    pygru tune spoken_digits --target cortex-m4f --mhz 64 --flash 32K --ram 8K -o out
                                                the best model within a budget
    pygru bench                                 speed against torch.nn.GRU
    pygru info                                  version, build, SIMD level, toolchains

Exit codes: 0 success, 1 failure (bad or missing file, wrong format, a failed
build or check), 2 bad command line (unknown option, invalid value). Output
files are written atomically: on failure no partial file is left behind.
Set PYGRU_DEBUG=1 to see Python tracebacks.

Each subcommand is one module of this package with NAME, HELP, SESSION (an
example line and what it does, for `pygru --help`), DESCRIPTION, EXAMPLES,
add_arguments(parser) and run(args) -> exit code; shared helpers are in
_common.py. To add a subcommand, write its module and add its name to
COMMANDS.
"""
import argparse
import importlib
import os
import sys

from ._common import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, PROG, CLIError, UsageError  # noqa: F401
from ._common import format_warning, interrupted_status, stop_signals

# In the order of a typical session, as `pygru --help` lists them.
COMMANDS = ("demo", "train", "eval", "export", "import_", "tune", "bench", "info")


def subcommands():
    return [importlib.import_module(f".{name}", __name__) for name in COMMANDS]


def build_parser():
    from .. import __version__
    fmt = argparse.RawDescriptionHelpFormatter
    modules = subcommands()
    session = "".join(f"  {m.SESSION[0]:<45}{m.SESSION[1]}\n" for m in modules)
    parser = argparse.ArgumentParser(
        prog=PROG, formatter_class=fmt,
        description="pygru: train, run and export GRU models for microcontrollers.",
        epilog=f"""\
commands in order of a typical session:
{session}
`pygru COMMAND --help` shows each command's options and examples.
exit codes: 0 success, 1 failure (files, formats, builds), 2 bad command line.""")
    parser.add_argument("--version", action="version", version=f"pygru {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for m in modules:
        p = sub.add_parser(m.NAME, help=m.HELP, description=m.DESCRIPTION or m.HELP, epilog=m.EXAMPLES,
                           formatter_class=fmt)
        p.add_argument("-q", "--quiet", action="store_true", help="print only errors")
        m.add_arguments(p)
        p.set_defaults(func=m.run)
    return parser


def main(argv=None):
    """Run the command line; returns the exit code (0, 1 or 2; 128 + N after
    signal N, SIGINT or SIGTERM)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:          # --help, --version, or a usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    debug = os.environ.get("PYGRU_DEBUG", "") not in ("", "0")
    where = f"{PROG} {args.command}"
    import warnings
    formatwarning = warnings.formatwarning
    try:
        with stop_signals():
            if not debug:
                warnings.formatwarning = format_warning(where)
            return args.func(args)
    except CLIError as exc:
        if debug:
            raise
        print(f"{where}: error: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print(f"{where}: interrupted", file=sys.stderr)
        return interrupted_status()
    except (OSError, ValueError, TypeError, RuntimeError, ImportError) as exc:
        if debug:
            raise
        print(f"{where}: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    finally:
        warnings.formatwarning = formatwarning
