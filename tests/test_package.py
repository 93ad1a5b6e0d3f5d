"""The shape of the pygru package: what `import pygru` loads, lazy attributes,
no import cycles, no function over 80 lines, the one ModelConfig shared by the
float and quantized models, pickling, and the CLI's subcommand hook."""
import ast
import os
import pickle
import subprocess
import sys
import types

import numpy as np
import pytest

import pygru
from pygru.config import GRU, Dense, ModelConfig

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "pygru")
MAX_FUNCTION_LINES = 80


def _python(code):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    return res.stdout.strip()


def _sources():
    for directory, _, files in os.walk(PACKAGE):
        for f in sorted(files):
            if f.endswith(".py"):
                path = os.path.join(directory, f)
                yield os.path.relpath(path, ROOT), ast.parse(open(path, encoding="utf-8").read())


# ---------------------------------------------------------------------- imports

def test_import_pygru_loads_only_the_float_model():
    loaded = _python("import pygru, sys; print(' '.join(sorted(m for m in sys.modules if m.startswith('pygru'))))")
    assert loaded.split() == ["pygru", "pygru._core", "pygru._io", "pygru._validate", "pygru._version", "pygru.config",
                              "pygru.model"]


def test_lazy_attributes_after_a_plain_import():
    out = _python("import pygru\n"
                  "print(pygru.datasets.available()[0], pygru.interop.UnsupportedModelError.__name__,\n"
                  "      callable(pygru.quantize), pygru.export_c.__module__, pygru.QuantizedGRUModel.__name__)")
    assert out.split() == ["spoken_digits", "UnsupportedModelError", "True", "pygru.export", "QuantizedGRUModel"]
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        pygru.nonexistent
    assert {"datasets", "interop", "export_c", "quantize"} <= set(dir(pygru))


def _module_name(path):
    parts = os.path.splitext(path)[0].split(os.sep)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(module, tree, anywhere):
    """pygru modules `module` imports: at import time (anywhere=False) or
    also inside its functions (anywhere=True)."""
    package = module if os.path.isdir(os.path.join(ROOT, *module.split("."))) else module.rsplit(".", 1)[0]
    found = set()
    for node in (ast.walk(tree) if anywhere else tree.body):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            target = f"{base}.{node.module}" if node.module else base
            found.add(target)
            found.update(f"{target}.{a.name}" for a in node.names)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            found.update(n for n in names if n and n.startswith("pygru"))
    return found


# GRUModel.to_onnx / to_torch hand the model to the importer modules, which
# build GRUModels: a method delegating to a plug-in, imported on call.
DELEGATIONS = {("pygru.model", "pygru.interop.onnx"), ("pygru.model", "pygru.interop.torch")}


@pytest.mark.parametrize("anywhere", [False, True], ids=["at-import", "in-functions-too"])
def test_no_import_cycles(anywhere):
    graph = {_module_name(path): tree for path, tree in _sources()}
    # A package is always imported before its submodules, so an edge to an
    # enclosing package is no cycle.
    edges = {m: {t for t in _imports(m, tree, anywhere) if t in graph and not (m + ".").startswith(t + ".")
                 and (m, t) not in DELEGATIONS} for m, tree in graph.items()}
    state = {}

    def visit(m, stack):
        state[m] = "open"
        for t in edges[m]:
            if state.get(t) == "open":
                raise AssertionError(f"import cycle: {' -> '.join(stack[stack.index(t):] + [t])}")
            if t not in state:
                visit(t, stack + [t])
        state[m] = "done"

    for m in sorted(edges):
        if m not in state:
            visit(m, [m])
    assert edges["pygru.export"] >= {"pygru._cgen", "pygru.config"}     # the graph was read
    assert "pygru.quantize" not in edges["pygru.export"]


def test_no_function_over_80_lines():
    longest = []
    for path, tree in _sources():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                longest.append((node.end_lineno - node.lineno + 1, f"{path}:{node.lineno} {node.name}"))
    longest.sort(reverse=True)
    assert len(longest) > 100 and longest[0][0] <= MAX_FUNCTION_LINES, longest[:5]


# ---------------------------------------------------------------------- the configuration

def test_one_config_for_float_and_quantized_models():
    model = pygru.GRUModel(4, [6, 5], 3, reset_after=[True, False], output_activation="tanh", seed=0)
    spec = model.spec
    assert spec == ModelConfig(4, (GRU(6, True), GRU(5, False), Dense(3, "tanh")))
    assert (spec.hidden_sizes, spec.layer_input_sizes, spec.output_dim) == ((6, 5), (4, 6), 3)
    assert ModelConfig.from_dict(spec.to_dict()) == spec
    q = pygru.quantize(model, np.zeros((2, 3, 4)), mode="integer")
    assert q.spec is spec and q.config() == model.config()
    for attr in ("input_size", "hidden_sizes", "output_size", "reset_after", "output_activation",
                 "return_sequences", "num_layers", "output_dim"):
        assert getattr(q, attr) == getattr(model, attr) == getattr(spec, attr), attr
    with pytest.raises(AttributeError):
        spec.input_size = 3
    assert pygru.GRUModel.from_config(spec, seed=0).get_weights().keys() == model.get_weights().keys()
    assert repr(model) == ("GRUModel(input_size=4, hidden_sizes=[6, 5], output_size=3, reset_after=[True, False], "
                           "output_activation='tanh', return_sequences=False)")


@pytest.mark.parametrize("make, error, match", [
    (lambda: ModelConfig(0, (GRU(4),)), ValueError, r"^input_size: expected a positive integer, got 0"),
    (lambda: ModelConfig(3, ()), ValueError, r"^hidden_sizes: expected 1\.\.8 layer sizes, got 0"),
    (lambda: ModelConfig(3, (GRU(4), GRU(-1))), ValueError, r"^hidden_sizes\[1\]: expected a positive integer"),
    (lambda: ModelConfig(3, (GRU(4), Dense(2, "gelu"))), ValueError, r"^output_activation: expected one of"),
    (lambda: ModelConfig(3, (Dense(2), GRU(4), Dense(3, "gelu"), Dense(1))), ValueError,
     r"^layers\[2\]\.activation: expected one of"),
    (lambda: ModelConfig(3, (GRU(4), Dense(2), GRU(4))), ValueError,
     r"^layers: expected Dense layers, then GRU layers, then Dense layers"),
    (lambda: ModelConfig(3, (Dense(2),) * 5 + (GRU(4),)), ValueError, r"^layers: expected at most 4 Dense"),
    (lambda: ModelConfig(3, [4]), TypeError, r"^layers: expected a sequence of pygru.config.GRU"),
    (lambda: ModelConfig.create(3, [4], reset_after=[True, False]), ValueError, r"^reset_after: expected one flag"),
    (lambda: ModelConfig.create(3, 4, output_activation="tanh"), ValueError, r"needs a dense head"),
    (lambda: ModelConfig.from_dict({"input_size": 3}), ValueError, r"expected keys"),
])
def test_config_errors_name_the_argument(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_models_pickle_without_their_native_handle(tmp_path):
    model = pygru.GRUModel(3, [5], 2, seed=1)
    X = np.random.default_rng(0).standard_normal((2, 4, 3)).astype(np.float32)
    y = model.predict(X)                    # builds the native descriptor
    back = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(back.predict(X), y)
    assert model._native is not None and back.spec == model.spec
    for mode in ("int8", "integer"):
        q = pygru.quantize(model, X, mode=mode)
        yq = q.predict(X)
        np.testing.assert_array_equal(pickle.loads(pickle.dumps(q)).predict(X), yq)


def test_files_in_the_layout_of_earlier_versions_still_load(tmp_path):
    """.npz files written before ModelConfig existed: the config as a dict of
    GRUModel's arguments (model) and inside the quantized metadata."""
    import json
    model = pygru.GRUModel(3, [5, 4], 2, reset_after=[False, True], output_activation="sigmoid", seed=1)
    config = {"input_size": 3, "hidden_sizes": [5, 4], "output_size": 2, "reset_after": [False, True],
              "output_activation": "sigmoid", "return_sequences": False}
    np.savez(tmp_path / "m.npz", __format_version__=np.array(1), __config__=np.array(json.dumps(config)),
             **model.get_weights())
    assert pygru.load(tmp_path / "m.npz").spec == model.spec
    q = pygru.quantize(model, np.ones((1, 2, 3)), mode="integer")
    meta = {"mode": "integer", "config": config, "input_scale": q.input_scale}
    np.savez(tmp_path / "q.npz", __format_version__=np.array(1), __quantized__=np.array(json.dumps(meta)),
             **q.params)
    back = pygru.load_quantized(tmp_path / "q.npz")
    assert back.spec == model.spec
    X = np.random.default_rng(0).standard_normal((2, 3, 3))
    np.testing.assert_array_equal(back.predict(X), q.predict(X))


# ---------------------------------------------------------------------- the CLI hook

def test_a_subcommand_is_one_module_and_one_name(monkeypatch, capsys):
    from pygru import cli
    hello = types.ModuleType("pygru.cli.hello")
    hello.NAME, hello.HELP, hello.SESSION = "hello", "say hello", ("pygru hello", "greets")
    hello.DESCRIPTION, hello.EXAMPLES = None, "examples:\n  pygru hello --to you\n"
    hello.add_arguments = lambda p: p.add_argument("--to", default="world")
    hello.run = lambda args: print(f"hello {args.to}") or 0
    monkeypatch.setitem(sys.modules, "pygru.cli.hello", hello)
    monkeypatch.setattr(cli, "COMMANDS", cli.COMMANDS + ("hello",))
    assert cli.main(["hello", "--to", "you"]) == 0
    assert capsys.readouterr().out == "hello you\n"
    assert cli.main(["--help"]) == 0
    assert "pygru hello" in capsys.readouterr().out
    for module in cli.subcommands():
        assert {"NAME", "HELP", "SESSION", "DESCRIPTION", "EXAMPLES", "add_arguments", "run"} <= set(vars(module))
