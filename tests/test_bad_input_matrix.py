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
            check_shape(case, text)
    for out in case.outputs:
        assert not os.path.exists(os.path.join(tmp, out)), f"partial output {out} was left"
    assert not _leftovers(tmp), f"temporary files left: {_leftovers(tmp)}"


# The documented message shape (docs/bad_inputs.md): the argument's name first,
# then what was expected and what came. Warnings are reports, not errors; the
# C-name messages of export.py ("name: 'while' is a C keyword; choose another
# model name") say why a valid-looking value is refused and are left to the
# exporter's owner, as is its own path check (export-missing-dir).
ARGUMENT_FIRST = re.compile(r"^[A-Za-z_][\w.\-]*(\[[^\]]*\])?: ")
SHAPE_EXEMPT = {"export-name-keyword", "export-name-keyword-c99", "export-name-reserved", "export-missing-dir"}


def check_shape(case, text):
    if isinstance(case.exc, type) and issubclass(case.exc, Warning) or case.id in SHAPE_EXEMPT:
        return
    assert ARGUMENT_FIRST.match(text), f"{case.id}: the message does not start with the argument's name: {text!r}"
    head = text.split(": ", 1)[1]
    assert "expected" in head and "got" in head, f"{case.id}: the message does not say what was expected " \
                                                 f"and what came: {text!r}"
    assert head.index("expected") < head.rindex("got"), f"{case.id}: 'expected' should come before 'got': {text!r}"


def test_doc_is_regenerated_from_the_table(tmp_path):
    """docs/bad_inputs.md is what tools/gen_bad_inputs_doc.py writes now, byte
    for byte (every row's actual message, not only its id)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("gen_bad_inputs_doc", os.path.join(ROOT, "tools", "gen_bad_inputs_doc.py"))
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    fresh = tmp_path / "bad_inputs.md"
    gen.main(str(fresh))
    with open(os.path.join(ROOT, "docs", "bad_inputs.md"), encoding="utf-8") as f:
        committed = f.read()
    assert fresh.read_text(encoding="utf-8") == committed, ("docs/bad_inputs.md is out of date; run "
                                                            "python tools/gen_bad_inputs_doc.py")
