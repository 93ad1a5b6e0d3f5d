#!/usr/bin/env python3
"""Write a demo model for the firmware example: a keyword-spotting shape
(13 MFCC features in, 2 GRU layers of 32, 5 classes with softmax), seeded
random weights. Usage: python demo_model.py OUT.npz"""
import os
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if os.path.isfile(os.path.join(_ROOT, "pygru", "__init__.py")):
    sys.path.insert(0, _ROOT)  # a checkout's example uses that checkout's pygru

import pygru  # noqa: E402

if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    pygru.GRUModel(input_size=13, hidden_sizes=[32, 32], output_size=5,
                   output_activation="softmax", seed=0).save(sys.argv[1])
