"""`python -m pygru ...`: the same command line as the `pygru` script."""
import sys

from .cli import main

sys.exit(main())
