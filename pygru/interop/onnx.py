"""ONNX interchange: a graph of GRU nodes (+ head) -> GRUModel, and GRUModel -> .onnx.

ONNX GRU (opset 7+), gate order z, r, h; W [D, 3H, I], R [D, 3H, H],
B [D, 6H] = (Wb_zrh, Rb_zrh):
    linear_before_reset=0: h~ = tanh(W_h x + Wb_h + R_h (r * h) + Rb_h)   == pygru reset_before
    linear_before_reset=1: h~ = tanh(W_h x + Wb_h + r * (R_h h + Rb_h))   == pygru reset_after
    h' = (1 - z) * h~ + z * h
"""
import numpy as np

from ._common import UnsupportedModelError, build_model, check_file, in_file, require, rzn_to_zrn, zrn_to_rzn

OPSET = 14
_PASS_THROUGH = {"Identity", "Dropout"}  # identity at inference
_ACTIVATIONS = {"Sigmoid": "sigmoid", "Tanh": "tanh", "Softmax": "softmax", "Relu": "relu"}
# GRU activations attribute: (f for r and z, g for n) -> pygru's names
_GATE_ACTS = {"sigmoid": "sigmoid", "hardsigmoid": "hard_sigmoid"}
_CANDIDATE_ACTS = {"tanh": "tanh", "relu": "relu"}
# Layers outside pygru's model family, named with the nearest form it runs.
_OUT_OF_SCOPE = {
    "LSTM": "an LSTM layer (nearest supported form: a forward GRU layer)",
    "RNN": "a simple RNN layer (nearest supported form: a forward GRU layer)",
    "Conv": "a convolution (Conv1D) (nearest supported form: GRU layers on the per-step features)",
    "Attention": "attention (nearest supported form: GRU layers + one dense head)",
    "MultiHeadAttention": "attention (nearest supported form: GRU layers + one dense head)",
}
_ZERO_PRESERVING = {"Slice", "Reshape", "Expand", "Squeeze", "Unsqueeze", "Identity", "Cast", "Tile", "Transpose"}


def from_onnx(path, values=None):
    """A GRUModel with the weights of an ONNX model (``.onnx`` path or a
    ModelProto) holding a chain of forward GRU nodes (``linear_before_reset``
    0 or 1, ``layout`` 0 or 1, default activations), optionally followed by a
    dense head (MatMul [+ Add] or Gemm) and a Sigmoid, Tanh or Softmax over
    the last axis.

    The Transpose / Squeeze / Gather(-1) nodes that exporters put around GRU
    outputs are followed, and the Reshape that torch's dynamo exporter uses to
    fold the direction axis into the features; so are Identity and Dropout
    (inference no-ops). pygru takes (batch, time, features) even when the
    graph is time-major. Weights must be initializers, Constant nodes, or
    graph inputs whose values are given in `values` ({input name: array}, as
    in ONNX's backend test cases). Extra graph outputs that are GRU final
    states (Y_h, PyTorch's h_n) and the inputs sequence_lens and initial_h
    (graph inputs; use import_graph(path).run(feeds) to run the graph with
    them) are accepted. A non-zero constant initial_h needs import_graph.
    Reverse or bidirectional direction, clip, other activations and any other
    node on the data path raise UnsupportedModelError naming it.
    """
    graph = import_graph(path, values)
    fixed = sorted(l for l, src in graph.initial_h.items() if src[0] == "const")
    if fixed:
        raise UnsupportedModelError(
            f"{graph.where}: a non-zero constant initial_h (GRU layers {fixed}) is not supported by from_onnx, "
            "whose GRUModel starts from zero states; use pygru.interop.onnx.import_graph(path).run(feeds), "
            "or predict(X, initial_state=graph.initial_state(batch))")
    return graph.model


def import_graph(path, values=None):
    """The ONNX graph as an OnnxGraph: `.model` (the GRUModel from_onnx
    returns) and `.run(feeds)`, which computes every graph output by name from
    the graph's own inputs (sequence, sequence_lens, initial_h) in the graph's
    own layouts, like onnxruntime.InferenceSession.run."""
    onnx = require("onnx", "from_onnx")

    if isinstance(path, onnx.ModelProto):
        proto, where = path, "model"
    else:
        path = check_file(path, "ONNX")
        where = f"path {path!r}"
        try:
            proto = onnx.load(path)
        except Exception as exc:  # onnx raises protobuf DecodeError, ValueError, OSError ...
            raise ValueError(f"path: {path!r} is not a readable ONNX model: expected an ONNX protobuf, got "
                             f"{type(exc).__name__}: {exc}") from None
    try:
        walker = _Walker(proto, where, values)
        model = in_file(None if where == "model" else path, walker.run)
    except (IndexError, KeyError, AttributeError) as exc:
        # A structurally broken graph (a node without the inputs or
        # attributes its op needs): say so instead of leaking the lookup
        # that failed (the tools/fuzz onnx harness).
        raise ValueError(f"{where}: malformed ONNX graph ({type(exc).__name__}: {exc})") from None
    return OnnxGraph(model, walker)


class OnnxGraph:
    """An imported ONNX graph: the GRUModel plus how the graph's inputs and
    outputs map onto predict(lengths=, initial_state=, return_state=)."""

    def __init__(self, model, walker):
        self.model, self.where = model, walker.where
        self.input_name, self.input_axes = walker.input_name, walker.input_axes
        self.lengths_source, self.initial_h = walker.lengths_source, walker.initial_h
        self.output_name, self.output_axes = walker.output_name, walker.output_axes
        self.state_outputs = walker.state_outputs

    def initial_state(self, feeds, batch):
        """predict's initial_state (one [batch, H] array per layer) from the
        graph's initial_h constants and `feeds`."""
        hs = []
        for l, H in enumerate(self.model.hidden_sizes):
            kind, *rest = self.initial_h.get(l, ("zero",))
            if kind == "zero":
                hs.append(np.zeros((batch, H), np.float32))
                continue
            arr = np.asarray(rest[0] if kind == "const" else feeds[rest[0]], np.float32)
            layout, index = rest[1], rest[2]
            arr = arr if layout == 0 else arr.transpose(1, 0, 2)  # -> [D or L, B, H]
            hs.append(arr[index])
        return hs

    def run(self, feeds):
        """{output name: array} for every graph output; feeds as
        InferenceSession.run takes them ({input name: array})."""
        X = np.asarray(feeds[self.input_name])
        X = X.transpose([self.input_axes.index(a) for a in "BTF"])
        lengths = None
        if self.lengths_source is not None:
            kind, src = self.lengths_source
            lengths = np.asarray(src if kind == "const" else feeds[src]).astype(np.int64)
        seq = "T" in self.output_axes
        if lengths is not None and seq and self.model.output_size is not None:
            raise UnsupportedModelError(f"{self.where}: sequence_lens with a per-step dense head (ONNX "
                                        "zeroes Y at padding before the head)")
        Y, hn = self.model.predict(X, return_sequences=seq, lengths=lengths,
                                   initial_state=self.initial_state(feeds, X.shape[0]), return_state=True)
        hs = list(hn)
        if lengths is not None and seq:
            Y[np.arange(Y.shape[1])[None, :] >= lengths[:, None]] = 0  # ONNX: Y is 0 past sequence_lens
        out = {self.output_name: _arrange(Y, ("B", "T", "F") if seq else ("B", "F"), self.output_axes)}
        for name, (layers, axes) in self.state_outputs.items():
            out[name] = _arrange(np.stack([hs[l] for l in layers]), ("D", "B", "F"), axes)
        return out


_FOLDABLE = {"Identity", "Cast", "Concat", "Slice", "Unsqueeze", "Squeeze", "Transpose", "Reshape"}


_FOLD_MAX = 1 << 28  # elements: far beyond any GRU weight gru_c accepts


def _fold(walker, name, depth=0, memo=None):
    """The value of tensor `name` when it is computed from constants alone by
    the shape ops above, else None: torch's dynamo exporter leaves the gate
    reordering of a large GRU weight (Slice, Concat, Unsqueeze of the
    initializer) unfolded. Each node is folded once (`memo`: a forged graph's
    shared inputs cannot make it exponential), and a node that numpy cannot
    evaluate (a forged graph's shapes or attributes) folds to None."""
    memo = {} if memo is None else memo
    if walker.consts.get(name) is not None:
        return walker.consts[name]
    if name in memo:
        return memo[name]
    memo[name] = None
    node = walker.producer.get(name)
    if node is None or node.op_type not in _FOLDABLE or depth > 64:
        return None
    args = [_fold(walker, i, depth + 1, memo) if i else None for i in node.input]
    if any(a is None for a, i in zip(args, node.input) if i):
        return None
    try:
        memo[name] = _fold_op(node.op_type, walker._attrs(node), args)
    except (ValueError, IndexError, TypeError, KeyError):
        pass
    return memo[name]


def _fold_op(op, a, args):
    """One _FOLDABLE node on constant inputs (numpy errors for bad ones)."""
    x = args[0]
    if op == "Concat":
        if sum(np.asarray(v).size for v in args) > _FOLD_MAX:
            raise ValueError("too large")
        return np.concatenate(args, axis=a["axis"])
    if op in ("Unsqueeze", "Squeeze"):
        axes = a.get("axes", args[1] if len(args) > 1 else None)
        axes = None if axes is None else tuple(int(v) for v in np.atleast_1d(axes))
        return np.expand_dims(x, axes) if op == "Unsqueeze" else np.squeeze(x, axes)
    if op == "Transpose":
        return np.transpose(x, a.get("perm"))
    if op == "Reshape":
        return x.reshape([x.shape[i] if v == 0 and not a.get("allowzero") else int(v) for i, v in enumerate(args[1])])
    if op == "Cast":
        from onnx import helper
        return x.astype(helper.tensor_dtype_to_np_dtype(a["to"]))
    if op == "Slice":
        if a or len(args) < 3:    # opset < 10: starts/ends as attributes
            return None
        ax = args[3] if len(args) > 3 and args[3] is not None else range(len(args[1]))
        st = args[4] if len(args) > 4 and args[4] is not None else [1] * len(args[1])
        index = [slice(None)] * x.ndim
        for k, b, e, s in zip(ax, args[1], args[2], st):
            index[int(k)] = slice(int(b), int(e), int(s))
        return x[tuple(index)]
    return x


def _arrange(arr, have, want):
    """arr with axes `have` laid out as `want`: a stack of layers' states (D)
    becomes L where the graph concatenated them; size-1 axes are added or
    squeezed as the graph has them."""
    have = list(have)
    if "L" in want and "D" in have:
        have[have.index("D")] = "L"
    for a in [a for a in have if a not in want]:
        arr = arr.reshape(arr.shape[:have.index(a)] + arr.shape[have.index(a) + 1:])
        have.remove(a)
    for a in want:
        if a not in have:
            arr, have = arr[..., None], have + [a]
    return arr.transpose([have.index(a) for a in want])


def _to_array(tensor, where):
    """numpy_helper.to_array, with a clear error for a corrupted tensor (an
    unknown data type, data of the wrong length: the tools/fuzz onnx harness
    found KeyError from onnx's type table)."""
    from onnx import numpy_helper

    try:
        return numpy_helper.to_array(tensor)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"{where}: tensor {tensor.name!r} cannot be read ({type(exc).__name__}: {exc})") from None


class _Walker:
    """Follows the data path from the graph input to the graph output."""

    def __init__(self, proto, where, values=None):
        self.where = where
        self.graph = g = proto.graph
        self.opset = max([o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")] or [1])
        self.consts = {t.name: _to_array(t, where) for t in g.initializer}
        graph_inputs = [i.name for i in g.input]
        if values is not None:
            if not hasattr(values, "items"):
                raise TypeError(f"values: expected a dict {{graph input name: array}}, got {type(values).__name__}")
            for key, value in values.items():
                if key not in graph_inputs:
                    raise ValueError(f"values: expected names of graph inputs {graph_inputs}, got {key!r}")
                self.consts[key] = np.asarray(value)
        self.producer = {}
        self.consumers = {}
        for node in g.node:
            for out in node.output:
                self.producer[out] = node
            for inp in node.input:
                self.consumers.setdefault(inp, []).append(node)
            if node.op_type == "Constant":
                self.consts[node.output[0]] = self._constant_value(node)
        # Concat(axis 0) of GRU Y_h outputs: PyTorch's h_n of a stacked GRU
        # (exported for `h[-1]`). Only its last input can be on the data path.
        y_h = {n.output[1] for n in g.node if n.op_type == "GRU" and len(n.output) > 1 and n.output[1]}
        self.state_concats = {id(n) for n in g.node if n.op_type == "Concat" and self._attrs(n).get("axis") == 0
                              and n.input and all(i in y_h for i in n.input)}
        for node in g.node:
            if node.op_type in _OUT_OF_SCOPE:
                raise self.fail(f"{node.op_type} node {node.name!r}: {_OUT_OF_SCOPE[node.op_type]}")
        self.gru_layer = {}                      # id(GRU node) -> layer index
        self.lengths_source, self.initial_h = None, {}
        self.input_axes = None
        self._find_outputs()

    def _state_source(self, name):
        """(GRU nodes, axis labels) when tensor `name` is a final state
        (a GRU's Y_h, squeezed or concatenated over layers), else None."""
        node = self.producer.get(name)
        if node is None:
            return None
        if node.op_type == "GRU":
            if len(node.output) < 2 or node.output[1] != name:
                return None
            return [node], ("D", "B", "F") if self._attrs(node).get("layout", 0) == 0 else ("B", "D", "F")
        if node.op_type in _PASS_THROUGH:
            return self._state_source(node.input[0])
        if node.op_type == "Squeeze":
            src = self._state_source(node.input[0])
            return src and (src[0], self._axes(node, "Squeeze", self._attrs(node), src[1], 0))
        if id(node) in self.state_concats:
            srcs = [self._state_source(i) for i in node.input]
            if all(s and s[1] == ("D", "B", "F") for s in srcs):
                return [n for s in srcs for n in s[0]], ("L", "B", "F")
        return None

    def _find_outputs(self):
        """The output the data path ends in, and the graph outputs that are
        final states (their nodes are left off the data path)."""
        outs = [o.name for o in self.graph.output]
        states = {o: self._state_source(o) for o in outs}
        main = [o for o in outs if states[o] is None] or outs[:1]
        if len(main) != 1:
            raise self.fail(f"a graph with {len(main)} outputs {main} that are not GRU final states "
                            "(expected one, plus any Y_h)")
        self.output_name = main[0]
        self._states = {o: src for o, src in states.items() if src is not None and o != self.output_name}
        self.state_only = set()
        for o in self._states:
            self._mark_state_only(o)

    def _mark_state_only(self, name):
        node = self.producer.get(name)
        if node is None or node.op_type == "GRU" or name == self.output_name:
            return
        if all(id(c) in self.state_only for o in node.output for c in self.consumers.get(o, [])):
            self.state_only.add(id(node))
            for i in node.input:
                self._mark_state_only(i)

    @property
    def state_outputs(self):
        return {o: ([self.gru_layer[id(n)] for n in nodes], axes) for o, (nodes, axes) in self._states.items()}

    def _graph_source(self, name, what, nm):
        """The graph input that `name` (a GRU's sequence_lens / initial_h)
        comes from through Identity / Cast, and the layer it slices (Slice of
        one index along axis 0, PyTorch's h0[l]), or a constant."""
        index = 0
        node = self.producer.get(name)
        while node is not None and name not in self.consts:
            if node.op_type in ("Identity", "Cast"):
                name = node.input[0]
            elif node.op_type == "Slice" and len(node.input) >= 3:
                starts, ends = (np.atleast_1d(self.const(i, f"{what} Slice")) for i in node.input[1:3])
                axes = np.atleast_1d(self.const(node.input[3], f"{what} Slice")) if len(node.input) > 3 else [0]
                steps = self.const(node.input[4], f"{what} Slice") if len(node.input) > 4 else 1
                if list(axes) != [0] or ends[0] != starts[0] + 1 or np.any(np.asarray(steps) != 1):
                    raise self.fail(f"{nm}: {what} sliced other than one index of axis 0")
                index, name = int(starts[0]), node.input[0]
            else:
                raise self.fail(f"{nm}: {what} computed by a {node.op_type} node")
            node = self.producer.get(name)
        if name in self.consts:
            return ("const", self.consts[name], index)
        if name not in [i.name for i in self.graph.input]:
            raise self.fail(f"{nm}: {what} from tensor {name!r}, neither a graph input nor a constant")
        return ("input", name, index)

    def fail(self, feature):
        return UnsupportedModelError(f"{self.where}: {feature} is not supported")

    @staticmethod
    def _attrs(node):
        from onnx import helper

        return {a.name: helper.get_attribute_value(a) for a in node.attribute}

    def _constant_value(self, node):
        for a in node.attribute:
            if a.name == "value":
                return _to_array(a.t, self.where)
            if a.name in ("value_float", "value_int"):
                return np.array(a.f if a.name == "value_float" else a.i)
            if a.name in ("value_floats", "value_ints"):
                return np.array(list(a.floats) if a.name == "value_floats" else list(a.ints))
        return None

    def const(self, name, what):
        if self.consts.get(name) is None and self.producer.get(name) is not None:
            folded = _fold(self, name)
            if folded is not None:
                self.consts[name] = folded
        if name not in self.consts or self.consts[name] is None:
            raise self.fail(f"{what} computed at run time (tensor {name!r}); only initializers/Constant nodes")
        return self.consts[name]

    def is_zero(self, name):
        """True when tensor `name` is all zeros whatever the input: a zero
        constant, or ConstantOfShape(0) reshaped/sliced (what exporters build
        for a default initial state)."""
        if name in self.consts:
            return self.consts[name] is not None and not np.any(self.consts[name])
        node = self.producer.get(name)
        if node is None:
            return False
        if node.op_type == "ConstantOfShape":
            value = self._constant_value(node)
            return value is None or not np.any(value)
        return node.op_type in _ZERO_PRESERVING and self.is_zero(node.input[0])

    def data_consumers(self, name):
        # Shape nodes only feed shape computations (e.g. the zero initial state);
        # the Y_h of a lower layer may feed an h_n Concat whose last layer is used.
        return [n for n in self.consumers.get(name, []) if n.op_type != "Shape" and id(n) not in self.state_only
                and not (id(n) in self.state_concats and n.input[-1] != name)]

    def run(self):
        self.input_name = self._sequence_input()
        out_name = self.output_name
        name, labels = self.input_name, ("x0", "x1", "F")  # graph input: (?, ?, features)
        layers, pre, heads, n_states = [], [], [], 0
        while name != out_name:
            dense = heads if layers else pre      # [weight, bias, activation] of each Dense layer
            users = self.data_consumers(name)
            halves = self._direction_halves(name, users, labels)
            if halves is not None:     # [forward, reverse] along the features: torch's cat(h_n[-2], h_n[-1])
                name, labels = halves.output[0], tuple(lab for lab in labels if lab != "D")
                continue
            if len(users) != 1:
                raise self.fail(f"tensor {name!r} used by {len(users)} nodes "
                                f"{[n.op_type for n in users]} (expected a single chain)")
            node = users[0]
            op, attrs = node.op_type, self._attrs(node)
            if node.input[0] != name and op != "Add" and id(node) not in self.state_concats:
                raise self.fail(f"{op} node {node.name!r} taking the sequence as input #"
                                f"{list(node.input).index(name)}")
            if op in _PASS_THROUGH:
                pass
            elif op in ("Transpose", "Squeeze", "Gather"):
                labels = self._axes(node, op, attrs, labels, n_states)
            elif op == "Reshape" and "D" in labels and labels.index("D") == len(labels) - 2:
                # (..., D, H) -> (..., D * H): torch's exporters (D = 1, and [forward, reverse] for 2)
                shape = np.atleast_1d(self.const(node.input[1], "Reshape shape"))
                width = layers[-1]["weight_hh"].shape[1] * (2 if layers[-1].get("direction") == "bidirectional" else 1)
                if len(shape) != len(labels) - 1 or shape[-1] not in (-1, width):
                    raise self.fail(f"Reshape node {node.name!r} to {shape.tolist()} (only folding the "
                                    "direction axis into the features)")
                labels = labels[:-2] + labels[-1:]
            elif op == "Concat" and id(node) in self.state_concats and labels == ("D", "B", "F"):
                labels, n_states = ("L", "B", "F"), len(node.input)
            elif op == "GRU":
                if heads:
                    raise self.fail(f"GRU node {node.name!r} after the dense head")
                layer, labels, name = self._gru(node, attrs, labels, first=not layers)
                layers.append(layer)
                continue
            elif op in ("MatMul", "Gemm"):
                if labels[-1] != "F" or (not layers and len(labels) != 3):
                    raise self.fail(f"{op} node {node.name!r} at this position (Dense layers before or after "
                                    "the GRUs)")
                dense.append(list(self._head(node, op, attrs, labels)) + [None])
            elif op == "Add" and dense and dense[-1][1] is None and dense[-1][2] is None:
                other = [i for i in node.input if i != name]
                if len(other) != 1:
                    raise self.fail(f"Add node {node.name!r} adding the sequence to itself")
                b = np.asarray(self.const(other[0], "dense bias"), np.float32)
                O = dense[-1][0].shape[0]
                if b.size != O or b.shape[-1:] != (O,):
                    raise ValueError(f"{self.where}: dense bias {other[0]!r}: expected shape ({O},), got {b.shape}")
                dense[-1][1] = b.reshape(-1)
            elif op in _ACTIVATIONS:
                if not dense or dense[-1][2] is not None:
                    raise self.fail(f"{op} node {node.name!r} without a dense layer (MatMul/Gemm) right before it")
                if op == "Softmax":
                    axis = attrs.get("axis", -1 if self.opset >= 13 else 1) % len(labels)
                    if axis != len(labels) - 1:
                        raise self.fail(f"Softmax node {node.name!r} over axis {axis} (only the last axis)")
                dense[-1][2] = _ACTIVATIONS[op]
            else:
                raise self.fail(f"{op} node {node.name!r} on the data path")
            name = node.output[0]
        if not layers:
            raise ValueError(f"{self.where}: no GRU node on the path from the input to the output")
        if sorted(a for a in labels if a != "D") not in (["B", "F"], ["B", "F", "T"]):
            raise self.fail(f"graph output with axes {labels} (expected (batch, features) or "
                            "(batch, time, features) in either order)")
        self.output_axes = labels
        if any(l.get("direction", "forward") != "forward" for l in layers) and (self._states or self.initial_h):
            raise self.fail("initial_h or Y_h graph outputs with a reverse or bidirectional GRU (not yet; "
                            "the Y output alone is)")
        for d in pre + heads:
            d[1] = np.zeros(d[0].shape[0], np.float32) if d[1] is None else d[1]
        head = tuple(heads[0][:2]) if heads else None
        return build_model(layers, head, heads[0][2] if heads else None, return_sequences="T" in labels,
                           pre=[tuple(d) for d in pre], post=[tuple(d) for d in heads[1:]])

    def _direction_halves(self, name, users, labels):
        """The Concat node when `name` (axes `labels` with a direction axis of 2)
        feeds only Gather(D=0) and Gather(D=1), concatenated in that order along
        the features: the same as folding D into the features. Else None."""
        if len(users) != 2 or "D" not in labels or any(u.op_type != "Gather" for u in users):
            return None
        d = labels.index("D")
        idx = []
        for u in users:
            value = self.consts.get(u.input[1]) if len(u.input) > 1 else None
            if self._attrs(u).get("axis", 0) % len(labels) != d or value is None or np.shape(value) != ():
                return None
            idx.append(int(value) % 2)
        cats = [self.data_consumers(u.output[0]) for u in users]
        if sorted(idx) != [0, 1] or any(len(c) != 1 for c in cats) or cats[0][0] is not cats[1][0]:
            return None
        cat = cats[0][0]
        order = {u.output[0]: i for u, i in zip(users, idx)}
        if (cat.op_type != "Concat" or [order.get(i) for i in cat.input] != [0, 1]
                or self._attrs(cat).get("axis") % (len(labels) - 1) != len(labels) - 2 or labels[-1] != "F"):
            return None
        return cat

    def _sequence_input(self):
        """The one graph input that is neither a weight (initializer or
        `values`) nor the source of a GRU's sequence_lens / initial_h."""
        aux = set()
        for node in self.graph.node:
            if node.op_type == "GRU":
                for k in (4, 5):
                    if len(node.input) > k and node.input[k] and not self.is_zero(node.input[k]):
                        src = self._graph_source(node.input[k], ("sequence_lens", "initial_h")[k - 4],
                                                 f"GRU node {node.name!r}")
                        if src[0] == "input":
                            aux.add(src[1])
        inputs = [i.name for i in self.graph.input if i.name not in self.consts and i.name not in aux]
        if len(inputs) != 1:
            raise self.fail(f"a graph with {len(inputs)} inputs {inputs} besides sequence_lens / initial_h "
                            "(expected one sequence input; give weight inputs' values in `values`)")
        return inputs[0]

    def _axes(self, node, op, attrs, labels, n_states):
        """The axis labels after a Transpose, Squeeze or Gather node on the data
        path (T time, B batch, F features, D direction, L layer)."""
        if op == "Transpose":
            perm = attrs.get("perm", list(range(len(labels)))[::-1])
            if not isinstance(perm, (list, tuple)) or sorted(perm) != list(range(len(labels))):
                raise ValueError(f"{self.where}: Transpose node {node.name!r} has perm {perm!r}, "
                                 f"not a permutation of the {len(labels)} axes")
            return tuple(labels[i] for i in perm)
        elif op == "Squeeze":
            axes = attrs.get("axes") if self.opset < 13 else (
                self.const(node.input[1], "Squeeze axes") if len(node.input) > 1 and node.input[1] else None)
            if axes is None:
                raise self.fail(f"Squeeze node {node.name!r} without axes")
            axes = {int(a) % len(labels) for a in np.atleast_1d(axes)}
            if any(labels[a] != "D" for a in axes):
                raise self.fail(f"Squeeze node {node.name!r} of axes {[labels[a] for a in axes]}")
            return tuple(lab for i, lab in enumerate(labels) if i not in axes)
        else:  # Gather
            axis = attrs.get("axis", 0) % len(labels)
            idx = self.const(node.input[1], "Gather indices")
            # the last time step, or the (only / last) layer of a final state
            last = {"T": (-1,), "D": (-1, 0), "L": (-1, n_states - 1)}
            if labels[axis] == "T" and self.gru_layer and self._last_direction != "forward":
                raise self.fail(f"Gather node {node.name!r} of the last step of a {self._last_direction} GRU's Y "
                                "(PyTorch's out[:, -1]: its reverse half has read one step; pygru's last step "
                                "is both directions' final states, the Y_h)")
            if labels[axis] not in last or idx.shape != () or int(idx) not in last[labels[axis]]:
                raise self.fail(f"Gather node {node.name!r} of {labels[axis]}[{idx.tolist()}] (only the last "
                                "time step, or the last layer's final state)")
            return labels[:axis] + labels[axis + 1:]

    def _gru(self, node, a, labels, first):
        """(layer weights, output labels, name of the followed output)."""
        nm = f"GRU node {node.name!r}"
        direction = a.get("direction", b"forward")
        direction = direction.decode() if isinstance(direction, bytes) else direction
        if direction not in ("forward", "reverse", "bidirectional"):
            raise self.fail(f"{nm}: direction={direction!r}")
        self._last_direction = direction
        D = 2 if direction == "bidirectional" else 1
        if "clip" in a:
            raise self.fail(f"{nm}: clip={a['clip']}")
        gate, cand = self._gru_activations(nm, a, D)
        layout = a.get("layout", 0)
        want = ("T", "B") if layout == 0 else ("B", "T")
        if labels[2] != "F" or (labels[:2] != want and not (first and set(labels[:2]) == {"x0", "x1"})):
            raise self.fail(f"{nm}: input with axes {labels} for layout={layout}")
        if first:
            named = dict(zip(labels[:2], want))
            self.input_axes = (named.get("x0", "T"), named.get("x1", "B"), "F")
        ins = list(node.input) + [""] * (6 - len(node.input))
        layer_index = self.gru_layer[id(node)] = len(self.gru_layer)
        if ins[4]:
            kind, src, _ = self._graph_source(ins[4], "sequence_lens", nm)
            if self.lengths_source is not None and self.lengths_source[0] == kind == "input" \
                    and self.lengths_source[1] != src:
                raise self.fail(f"{nm}: sequence_lens from another input than the first GRU's")
            self.lengths_source = (kind, src)
        if ins[5] and not self.is_zero(ins[5]):
            kind, src, index = self._graph_source(ins[5], "initial_h", nm)
            self.initial_h[layer_index] = (kind, src, layout, index)
        W = np.asarray(self.const(ins[1], f"{nm} W"), np.float32)
        R = np.asarray(self.const(ins[2], f"{nm} R"), np.float32)
        if R.ndim != 3 or R.shape[0] != D or R.shape[1] != 3 * R.shape[2]:
            raise ValueError(f"{self.where}: {nm}: R: expected shape ({D}, 3H, H), got {R.shape}")
        H = R.shape[2]
        if a.get("hidden_size", H) != H:
            raise ValueError(f"{self.where}: {nm}: hidden_size={a['hidden_size']} but R has shape {R.shape}")
        if W.ndim != 3 or W.shape[:2] != (D, 3 * H):
            raise ValueError(f"{self.where}: {nm}: W: expected shape ({D}, {3 * H}, input_size), got {W.shape}")
        B = np.zeros((D, 6 * H), np.float32) if not ins[3] else np.asarray(self.const(ins[3], f"{nm} B"), np.float32)
        if B.shape != (D, 6 * H):
            raise ValueError(f"{self.where}: {nm}: B: expected shape ({D}, {6 * H}), got {B.shape}")
        halves = [{"weight_ih": zrn_to_rzn(W[d]), "weight_hh": zrn_to_rzn(R[d]),
                   "bias_ih": zrn_to_rzn(B[d, :3 * H]), "bias_hh": zrn_to_rzn(B[d, 3 * H:])} for d in range(D)]
        layer = dict(halves[0], reset_after=bool(a.get("linear_before_reset", 0)), direction=direction,
                     activation=cand, recurrent_activation=gate)
        if D == 2:
            layer["reverse"] = halves[1]
        outs = list(node.output) + [""] * (2 - len(node.output))
        used = [i for i, o in enumerate(outs) if o and (self.data_consumers(o) or o == self.output_name)]
        if len(used) != 1:
            raise self.fail(f"{nm}: {len(used)} of its outputs (Y, Y_h) used (expected one)")
        if used[0] == 0:
            out_labels = ("T", "D", "B", "F") if layout == 0 else ("B", "T", "D", "F")
        else:
            out_labels = ("D", "B", "F") if layout == 0 else ("B", "D", "F")
        return layer, out_labels, outs[used[0]]

    def _gru_activations(self, nm, a, D):
        """(recurrent_activation, activation) from a GRU node's activations
        (f, g per direction; both directions alike) and their alpha/beta
        (HardSigmoid: 0.2, 0.5 is Keras 2's; 1/6, 0.5 Keras 3's)."""
        acts = [s.decode() if isinstance(s, bytes) else s for s in a.get("activations", [])] or ["Sigmoid", "Tanh"] * D
        alpha, beta = list(a.get("activation_alpha", [])), list(a.get("activation_beta", []))
        low = [s.lower() for s in acts]
        if len(low) != 2 * D or low[:2] * D != low or low[0] not in _GATE_ACTS or low[1] not in _CANDIDATE_ACTS:
            raise self.fail(f"{nm}: activations={acts} (f in Sigmoid, HardSigmoid; g in Tanh, Relu; the same "
                            "for both directions)")
        gate = _GATE_ACTS[low[0]]
        if gate == "hard_sigmoid":
            a0 = alpha[0] if alpha else 0.2
            b0 = beta[0] if beta else 0.5
            if len(set(alpha)) > 1 or len(set(beta)) > 1 or abs(b0 - 0.5) > 1e-7:
                raise self.fail(f"{nm}: HardSigmoid alpha={alpha} beta={beta} (only alpha 0.2 or 1/6, beta 0.5)")
            if abs(a0 - 1 / 6) < 1e-7:
                gate = "hard_sigmoid_keras3"
            elif abs(a0 - 0.2) > 1e-7:
                raise self.fail(f"{nm}: HardSigmoid alpha={a0} (only 0.2, Keras 2 / ONNX's default, or 1/6)")
        elif alpha or beta:
            raise self.fail(f"{nm}: activation_alpha / activation_beta for activations {acts}")
        return gate, _CANDIDATE_ACTS[low[1]]

    def _head(self, node, op, a, labels):
        W = np.asarray(self.const(node.input[1], f"{op} weight"), np.float32)
        if W.ndim != 2:
            raise ValueError(f"{self.where}: {op} weight {node.input[1]!r}: expected a 2-D matrix, got {W.shape}")
        if op == "MatMul":
            return W.T, None
        if len(labels) != 2 or a.get("transA", 0):
            raise self.fail(f"Gemm node {node.name!r} with transA or a non-2-D input")
        if a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0:
            raise self.fail(f"Gemm node {node.name!r} with alpha/beta != 1")
        W = W if a.get("transB", 0) else W.T
        b = None
        if len(node.input) > 2 and node.input[2]:
            b = np.asarray(self.const(node.input[2], "Gemm bias"), np.float32)
            if b.size != W.shape[0]:
                raise ValueError(f"{self.where}: Gemm bias: expected {W.shape[0]} values, got shape {b.shape}")
            b = np.broadcast_to(b.reshape(-1), (W.shape[0],)).copy()
        return W, b


# ---------------------------------------------------------------------- export


def init_shape(inits, name, shape):
    from onnx import numpy_helper

    inits.append(numpy_helper.from_array(np.array(shape, np.int64), name))
    return name


def _onnx_activations(g, D):
    """A GRU node's activations attributes for a layer's non-default ones."""
    if g.activation == "tanh" and g.recurrent_activation == "sigmoid":
        return {}
    f = "Sigmoid" if g.recurrent_activation == "sigmoid" else "HardSigmoid"
    out = {"activations": [f, "Tanh" if g.activation == "tanh" else "Relu"] * D}
    if f == "HardSigmoid":
        out["activation_alpha"] = [0.2 if g.recurrent_activation == "hard_sigmoid" else 1 / 6] * D
        out["activation_beta"] = [0.5] * D
    return out


def _gru_nodes(helper, nodes, init, axis, inits, model, w, states, x):
    """One GRU node per layer on the time-major tensor x, its output brought
    to (T, B, D * H), or (B, D * H) final states after the last layer without
    return_sequences; returns that tensor's name."""
    spec = model.spec
    last = model.num_layers - 1
    for l, g in enumerate(spec.gru_layers):
        H, D = g.hidden_size, len(g.suffixes)
        W = init(f"W{l}", np.stack([rzn_to_zrn(w[f"weight_ih_l{l}{sfx}"]) for sfx in g.suffixes]))
        R = init(f"R{l}", np.stack([rzn_to_zrn(w[f"weight_hh_l{l}{sfx}"]) for sfx in g.suffixes]))
        B = init(f"B{l}", np.stack([np.concatenate([rzn_to_zrn(w[f"bias_ih_l{l}{sfx}"]),
                                                    rzn_to_zrn(w[f"bias_hh_l{l}{sfx}"])]) for sfx in g.suffixes]))
        ins = [x, W, R, B]
        if states:
            nodes.append(helper.make_node("Slice", ["initial_h", axis(l), axis(l + 1), axis(0)], [f"h0_{l}"]))
            ins += ["", f"h0_{l}"]
        nodes.append(helper.make_node("GRU", ins, [f"Y{l}", f"Yh{l}"], name=f"gru{l}", hidden_size=H,
                                      linear_before_reset=int(g.reset_after), direction=g.direction,
                                      **_onnx_activations(g, D)))
        if l < last or model.return_sequences:   # Y (T, D, B, H) -> (T, B, D * H)
            nodes.append(helper.make_node("Transpose", [f"Y{l}"], [f"Yt{l}"], perm=[0, 2, 1, 3]))
            nodes.append(helper.make_node("Reshape", [f"Yt{l}", init_shape(inits, f"shape{l}", [0, 0, D * H])],
                                          [f"h{l}"]))
        else:                                    # Y_h (D, B, H) -> (B, D * H): the final states
            nodes.append(helper.make_node("Transpose", [f"Yh{l}"], [f"Yht{l}"], perm=[1, 0, 2]))
            nodes.append(helper.make_node("Reshape", [f"Yht{l}", init_shape(inits, f"shape{l}", [0, D * H])],
                                          [f"h{l}"]))
        x = f"h{l}"
    return x


def _dense_nodes(helper, nodes, init, w, named, x):
    """MatMul + Add (+ activation) nodes of the Dense layers [(weight prefix,
    Dense)] applied to tensor x; returns the last output's name."""
    for key, d in named:
        c = key.replace(".", "_")
        nodes.append(helper.make_node("MatMul", [x, init(f"{c}_WT", w[f"{key}.weight"].T)], [f"{c}_mm"]))
        nodes.append(helper.make_node("Add", [f"{c}_mm", init(f"{c}_b", w[f"{key}.bias"])], [f"{c}_out"]))
        x = f"{c}_out"
        if d.activation is not None:
            op = {v: k for k, v in _ACTIVATIONS.items()}[d.activation]
            nodes.append(helper.make_node(op, [x], [f"{c}_act"], **({"axis": -1} if op == "Softmax" else {})))
            x = f"{c}_act"
    return x


def to_onnx(model, path, opset=OPSET, states=False):
    """Write `model` as an ONNX graph (opset >= 14) to `path`, atomically.

    Input "input" (batch, time, input_size) float32, dynamic batch and time;
    output "output" (batch, output_dim) or (batch, time, output_dim) with
    return_sequences. One GRU node per layer (time-major, layout=0, the layout
    every runtime implements; Transpose nodes convert), linear_before_reset =
    the layer's reset_after, then MatMul + Add and the activation.
    states=True (layers of one hidden size): also input "initial_h"
    [num_layers, batch, hidden] and output "h_n" (the final states), in
    PyTorch's h0 / h_n layout, as torch.onnx.export writes nn.GRU(x, h0)."""
    onnx = require("onnx", "to_onnx")
    from onnx import TensorProto, helper, numpy_helper

    from .._io import atomic_write

    if opset < 14:
        raise ValueError(f"opset: expected 14 or newer, got {opset}")
    if states and len(set(model.hidden_sizes)) != 1:
        raise ValueError(f"states: initial_h / h_n [num_layers, batch, hidden] need one hidden size, "
                         f"got hidden sizes {list(model.hidden_sizes)}")
    w = model.get_weights()
    nodes, inits = [], []

    def init(name, arr):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr, np.float32), name))
        return name

    def axis(a):
        if f"axis{a}" not in [t.name for t in inits]:
            inits.append(numpy_helper.from_array(np.array([a], np.int64), f"axis{a}"))
        return f"axis{a}"

    spec = model.spec
    if states and not spec.streams:
        raise ValueError("states: initial_h / h_n are not written for reverse or bidirectional GRU layers yet")
    x = _dense_nodes(helper, nodes, init, w, [(k, d) for k, d, _ in spec.named_layers() if str(k).startswith("pre")],
                     "input")
    nodes.append(helper.make_node("Transpose", [x], ["x_tbi"], perm=[1, 0, 2]))
    x = "x_tbi"
    x = _gru_nodes(helper, nodes, init, axis, inits, model, w, states, x)
    if model.return_sequences:
        nodes.append(helper.make_node("Transpose", [x], ["h_bth"], perm=[1, 0, 2]))
        x = "h_bth"
    x = _dense_nodes(helper, nodes, init, w, [(k, d) for k, d, _ in spec.named_layers() if str(k).startswith("head")], x)
    nodes.append(helper.make_node("Identity", [x], ["output"]))
    out_shape = ["batch", "time", model.output_dim] if model.return_sequences else ["batch", model.output_dim]
    inputs = [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", "time", model.input_size])]
    outputs = [helper.make_tensor_value_info("output", TensorProto.FLOAT, out_shape)]
    if states:
        L, H = model.num_layers, model.hidden_sizes[0]
        nodes.append(helper.make_node("Concat", [f"Yh{l}" for l in range(L)], ["h_n"], axis=0))
        inputs.append(helper.make_tensor_value_info("initial_h", TensorProto.FLOAT, [L, "batch", H]))
        outputs.append(helper.make_tensor_value_info("h_n", TensorProto.FLOAT, [L, "batch", H]))
    graph = helper.make_graph(nodes, "pygru", inputs, outputs, initializer=inits)
    from .. import __version__

    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="pygru", producer_version=__version__)
    proto.ir_version = min(proto.ir_version, 8)  # readable by older runtimes too
    onnx.checker.check_model(proto)
    data = proto.SerializeToString()
    atomic_write(path, lambda f: f.write(data))
