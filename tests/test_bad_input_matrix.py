"""Every row of the bad-input matrix (tests/bad_input_cases.py, documented in
docs/bad_inputs.md): the documented error (type and message) and no partial
output, neither the output file nor a leftover temporary file."""
import os
import re

import pytest

from bad_input_cases import CASES
from conftest import require_module

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NEEDS = {"from_torch": "torch", "from_onnx": "onnx", "from_keras": "h5py"}


def _leftovers(folder):
    return [f for d, _, files in os.walk(folder) for f in files if f.endswith(".tmp")]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case, tmp_path):
    if case.area in NEEDS:
        require_module(NEEDS[case.area])
    if case.id == "torch-wrong-kind" or case.id == "torch-garbage":
        require_module("torch", "pip install torch==2.13.0")
    tmp = str(tmp_path)
    if case.exc is None:
        case.run(tmp)
    else:
        with pytest.raises(case.exc) as info:
            case.run(tmp)
        text = str(info.value.code) if case.exc is SystemExit else str(info.value)
        assert re.search(case.match, text), f"{type(info.value).__name__}: {text!r} does not match {case.match!r}"
        if case.exc is not SystemExit:
            assert text.strip(), "an error without a message"
    for out in case.outputs:
        assert not os.path.exists(os.path.join(tmp, out)), f"partial output {out} was left"
    assert not _leftovers(tmp), f"temporary files left: {_leftovers(tmp)}"


def test_doc_lists_every_case():
    """docs/bad_inputs.md is generated from the table (tools/gen_bad_inputs_doc.py)."""
    with open(os.path.join(ROOT, "docs", "bad_inputs.md"), encoding="utf-8") as f:
        doc = f.read()
    ids = set(re.findall(r"^\| `([a-z0-9-]+)` \|", doc, re.M))
    assert ids == {c.id for c in CASES}, ("docs/bad_inputs.md is out of date; run "
                                           "python tools/gen_bad_inputs_doc.py")
