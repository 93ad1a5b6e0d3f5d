"""The architecture of a pygru model, written once: ModelConfig.

GRUModel, QuantizedGRUModel, training (pygru/training.py) and the C header
exporter (pygru/export.py) all read the same frozen ModelConfig, so a model's
shape is validated in one place and described the same way everywhere.

A model is a short sequence of layers:

    Dense* (a pre-net, run on every time step), GRU+ (1..MAX_LAYERS), Dense* (a head)

with 0..MAX_DENSE pre layers and 0..MAX_DENSE + 1 head layers (gru.h's
`pre[]`, `head`, `post[]`). Dense activations: None ("linear"), "relu",
"sigmoid", "tanh", "softmax".

Weight names are PyTorch's for a module with submodules `pre` (an
nn.Sequential of Linear layers), `gru` layers numbered among the GRU layers
(weight_ih_l0, ...) and `head`: a one-layer head is an nn.Linear
(head.weight, head.bias: the names of every earlier version), a deeper one
an nn.Sequential (head.0.weight, head.1.weight, ...); pre layers are always
pre.0.weight, pre.1.weight, ...

A "plain" configuration (GRU layers, then at most one non-relu Dense head) is
what training and the quantized modes support; its dict form (`to_dict`,
saved in every .npz file) keeps the keys earlier versions wrote, so files
stay readable both ways. Any other configuration is saved as
{"input_size", "layers": [...], "return_sequences"} (LAYERS_KEYS).
"""
import dataclasses
from dataclasses import dataclass
from typing import Optional, Tuple, Union

from ._validate import positive_int

OUTPUT_ACTIVATIONS = (None, "sigmoid", "tanh", "softmax")     # the plain head's
DENSE_ACTIVATIONS = (None, "linear", "relu", "sigmoid", "tanh", "softmax")
CONFIG_KEYS = ("input_size", "hidden_sizes", "output_size", "reset_after", "output_activation",
               "return_sequences")
LAYERS_KEYS = ("input_size", "layers", "return_sequences")

from ._core import MAX_DENSE, MAX_DIM, MAX_LAYERS  # gru.h's limits, as the extension was built


GRU_ACTIVATIONS = ("tanh", "relu")
DIRECTIONS = ("forward", "reverse", "bidirectional")
RECURRENT_ACTIVATIONS = ("sigmoid", "hard_sigmoid", "hard_sigmoid_keras3")


@dataclass(frozen=True)
class GRU:
    """One GRU layer: gate order r, z, n; reset_after=True is PyTorch's form,
    False Cho 2014 / ONNX's. activation (n): "tanh" or "relu" (RNNoise, Keras
    activation="relu"); recurrent_activation (r, z): "sigmoid",
    "hard_sigmoid" = clip(0.2 x + 0.5, 0, 1) (Keras 2, ONNX HardSigmoid's
    defaults) or "hard_sigmoid_keras3" = relu6(x + 3) / 6 (Keras 3).
    direction: "forward", "reverse" (reads each sequence from its last valid
    step, as ONNX's direction="reverse" and Keras' go_backwards, whose output
    sequence is then in reading order: see the importers) or "bidirectional"
    (both, separate weights, outputs concatenated [forward, reverse]; its
    reverse weights are weight_ih_l{k}_reverse ..., PyTorch's names, and a
    "reverse" layer's weights are named so too)."""
    hidden_size: int
    reset_after: bool = True
    activation: str = "tanh"
    recurrent_activation: str = "sigmoid"
    direction: str = "forward"

    @property
    def default(self):
        return self.activation == "tanh" and self.recurrent_activation == "sigmoid" and self.direction == "forward"

    @property
    def output_size(self):
        return 2 * self.hidden_size if self.direction == "bidirectional" else self.hidden_size

    @property
    def suffixes(self):
        """The weight-name suffix of each direction it runs (C layer slots)."""
        return {"forward": ("",), "reverse": ("_reverse",), "bidirectional": ("", "_reverse")}[self.direction]

    def weight_shapes(self, index, size_in):
        H, out = self.hidden_size, {}
        for sfx in self.suffixes:
            out.update({f"weight_ih_l{index}{sfx}": (3 * H, size_in), f"weight_hh_l{index}{sfx}": (3 * H, H),
                        f"bias_ih_l{index}{sfx}": (3 * H,), f"bias_hh_l{index}{sfx}": (3 * H,)})
        return out

    def to_dict(self):
        return {"kind": "gru", "hidden_size": self.hidden_size, "reset_after": self.reset_after,
                "activation": self.activation, "recurrent_activation": self.recurrent_activation,
                "direction": self.direction}


@dataclass(frozen=True)
class Dense:
    """A dense layer y = activation(W x + b), W [units][inputs]; activation
    None (or "linear"), "relu", "sigmoid", "tanh" or "softmax"."""
    units: int
    activation: Optional[str] = None

    @property
    def output_size(self):
        return self.units

    def weight_shapes(self, prefix, size_in):
        return {f"{prefix}.weight": (self.units, size_in), f"{prefix}.bias": (self.units,)}

    def to_dict(self):
        return {"kind": "dense", "units": self.units, "activation": self.activation}


Layer = Union[GRU, Dense]


@dataclass(frozen=True)
class ModelConfig:
    """What a model computes, without its weights: validated on creation.

    >>> ModelConfig.create(3, [16, 8], output_size=2).hidden_sizes
    (16, 8)
    >>> ModelConfig(3, (Dense(8, "tanh"), GRU(16), Dense(4, "relu"), Dense(2))).output_dim
    2
    """
    input_size: int
    layers: Tuple[Layer, ...]
    return_sequences: bool = False

    def __post_init__(self):
        object.__setattr__(self, "input_size", positive_int("input_size", self.input_size, MAX_DIM))
        object.__setattr__(self, "layers", _check_layers(self.layers))
        object.__setattr__(self, "return_sequences", bool(self.return_sequences))

    # ------------------------------------------------------------------ the short form

    @classmethod
    def create(cls, input_size, hidden_sizes, output_size=None, reset_after=True,
               output_activation=None, return_sequences=False):
        """The configuration GRUModel(input_size, hidden_sizes, ...) describes;
        errors name those arguments."""
        if isinstance(hidden_sizes, (list, tuple)):
            if not 1 <= len(hidden_sizes) <= MAX_LAYERS:
                raise ValueError(f"hidden_sizes: expected 1..{MAX_LAYERS} layer sizes, "
                                 f"got {len(hidden_sizes)}")
            sizes = tuple(hidden_sizes)
        else:
            sizes = (positive_int("hidden_sizes", hidden_sizes, MAX_DIM),)
        if isinstance(reset_after, (list, tuple)):
            if len(reset_after) != len(sizes):
                raise ValueError(f"reset_after: expected one flag per layer ({len(sizes)}), "
                                 f"got {len(reset_after)}")
            flags = tuple(bool(r) for r in reset_after)
        else:
            flags = (bool(reset_after),) * len(sizes)
        layers = tuple(GRU(h, r) for h, r in zip(sizes, flags))
        if output_size is not None:
            layers += (Dense(output_size, output_activation),)
        elif output_activation is not None:
            _check_activation("output_activation", output_activation)
            raise ValueError(f"output_activation: {output_activation!r} needs a dense head; set output_size")
        return cls(input_size, layers, return_sequences)

    @classmethod
    def from_dict(cls, config):
        """From the dict to_dict writes (the `__config__` of a saved model):
        the short form's keys (CONFIG_KEYS) or LAYERS_KEYS."""
        if isinstance(config, dict) and set(config) == set(LAYERS_KEYS):
            if not isinstance(config["return_sequences"], bool):
                raise ValueError(f"return_sequences: expected a boolean, got {config['return_sequences']!r}")
            return cls(config["input_size"], _layers_from_dicts(config["layers"]),
                       config["return_sequences"])
        if not isinstance(config, dict) or set(config) != set(CONFIG_KEYS):
            raise ValueError(f"expected keys {sorted(CONFIG_KEYS)} or {sorted(LAYERS_KEYS)}")
        return cls.create(**config)

    def to_dict(self):
        """The JSON-able form saved in .npz files: the keys of every version so
        far for a plain configuration, else LAYERS_KEYS."""
        if not self.plain:
            return {"input_size": self.input_size, "layers": [layer.to_dict() for layer in self.layers],
                    "return_sequences": self.return_sequences}
        return {"input_size": self.input_size, "hidden_sizes": list(self.hidden_sizes),
                "output_size": self.output_size, "reset_after": list(self.reset_after),
                "output_activation": self.output_activation,
                "return_sequences": self.return_sequences}

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    # ------------------------------------------------------------------ views

    @property
    def gru_layers(self):
        return tuple(layer for layer in self.layers if isinstance(layer, GRU))

    @property
    def pre_layers(self):
        """The Dense layers before the first GRU layer (the pre-net)."""
        return self.layers[:next(i for i, l in enumerate(self.layers) if isinstance(l, GRU))]

    @property
    def head_layers(self):
        """The Dense layers after the last GRU layer (the head)."""
        return self.layers[len(self.pre_layers) + self.num_layers:]

    @property
    def head(self):
        """The Dense head of a one-layer head, else None (see head_layers)."""
        heads = self.head_layers
        return heads[0] if len(heads) == 1 else None

    @property
    def plain(self):
        """True for GRU layers and at most one non-relu Dense head: the form
        training, the quantized modes and earlier versions' files support."""
        heads = self.head_layers
        return (not self.pre_layers and len(heads) <= 1 and all(d.activation != "relu" for d in heads)
                and all(g.default for g in self.gru_layers))

    def require_plain(self, what):
        """Nothing for a plain configuration; else a ValueError saying that
        `what` (e.g. "training (fit)") does not support this model yet."""
        if self.plain:
            return
        odd = [i for i, g in enumerate(self.gru_layers) if not g.default]
        if odd:
            g = self.gru_layers[odd[0]]
            found = (f"GRU layer {odd[0]} with activation={g.activation!r}, "
                     f"recurrent_activation={g.recurrent_activation!r}, direction={g.direction!r}")
        elif self.pre_layers:
            found = f"a Dense pre-net of {len(self.pre_layers)} layer(s) before the GRU layers"
        elif len(self.head_layers) > 1:
            found = f"a head of {len(self.head_layers)} Dense layers"
        else:
            found = "a relu Dense head"
        raise ValueError(f"model: {what} is not supported yet for {found} (layers: {self.describe_layers()}); "
                         f"it supports GRU layers (tanh, sigmoid) followed by at most one Dense head with "
                         f"activation {OUTPUT_ACTIVATIONS}")

    @property
    def hidden_sizes(self):
        return tuple(layer.hidden_size for layer in self.gru_layers)

    @property
    def state_sizes(self):
        """The hidden size of each state vector, in the C state's order: one
        per GRU layer and direction (a bidirectional layer: forward, reverse)."""
        return tuple(g.hidden_size for g in self.gru_layers for _ in g.suffixes)

    @property
    def streams(self):
        """False when a GRU layer reads its sequences backwards (it cannot stream)."""
        return all(g.direction == "forward" for g in self.gru_layers)

    @property
    def reset_after(self):
        return tuple(layer.reset_after for layer in self.gru_layers)

    @property
    def num_layers(self):
        """The number of GRU layers."""
        return len(self.gru_layers)

    def layer_inputs(self):
        """[(layer, its input size)] along the sequence of layers."""
        out, size = [], self.input_size
        for layer in self.layers:
            out.append((layer, size))
            size = layer.output_size
        return out

    def named_layers(self):
        """[(weight prefix or GRU index, layer, its input size)]: "pre.i",
        the GRU layer's index among the GRU layers, "head" or "head.i"."""
        n_pre, heads, out, g = len(self.pre_layers), len(self.head_layers), [], 0
        for i, (layer, size_in) in enumerate(self.layer_inputs()):
            if isinstance(layer, GRU):
                out.append((g, layer, size_in))
                g += 1
            elif i < n_pre:
                out.append((f"pre.{i}", layer, size_in))
            else:
                k = i - n_pre - self.num_layers
                out.append(("head" if heads == 1 else f"head.{k}", layer, size_in))
        return out

    @property
    def layer_input_sizes(self):
        """Input size of each GRU layer."""
        return tuple(size for layer, size in self.layer_inputs() if isinstance(layer, GRU))

    @property
    def output_size(self):
        heads = self.head_layers
        return heads[-1].units if heads else None

    @property
    def output_activation(self):
        heads = self.head_layers
        return heads[-1].activation if heads else None

    @property
    def output_dim(self):
        """Values per output step: the head's output size, else the last hidden size."""
        return self.layers[-1].output_size

    def weight_shapes(self):
        """Dict name -> shape of every parameter, in PyTorch's names and layouts
        (see the module docstring)."""
        shapes = {}
        for key, layer, size_in in self.named_layers():
            shapes.update(layer.weight_shapes(key, size_in))
        return shapes

    def describe_layers(self):
        return "[" + ", ".join(_layer_repr(layer) for layer in self.layers) + "]"

    def describe(self):
        """The keyword arguments of GRUModel's repr."""
        if not self.plain:
            return (f"input_size={self.input_size}, layers={self.describe_layers()}, "
                    f"return_sequences={self.return_sequences}")
        head = "" if self.output_size is None else f", output_size={self.output_size}"
        act = "" if self.output_activation is None else f", output_activation={self.output_activation!r}"
        return (f"input_size={self.input_size}, hidden_sizes={list(self.hidden_sizes)}{head}, "
                f"reset_after={list(self.reset_after)}{act}, return_sequences={self.return_sequences}")


def _layer_repr(layer):
    if isinstance(layer, Dense):
        return f"Dense({layer.units})" if layer.activation is None else \
            f"Dense({layer.units}, {layer.activation!r})"
    opts = "" if layer.reset_after else ", reset_after=False"
    opts += "" if layer.activation == "tanh" else f", activation={layer.activation!r}"
    opts += "" if layer.recurrent_activation == "sigmoid" else \
        f", recurrent_activation={layer.recurrent_activation!r}"
    opts += "" if layer.direction == "forward" else f", direction={layer.direction!r}"
    return f"GRU({layer.hidden_size}{opts})"


def _check_activation(name, activation):
    if activation not in DENSE_ACTIVATIONS:
        raise ValueError(f"{name}: expected one of {DENSE_ACTIVATIONS}, got {activation!r}")
    return None if activation == "linear" else activation


def _layers_from_dicts(items):
    """The layers of a LAYERS_KEYS dict (from an untrusted file: every field checked)."""
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_LAYERS + 2 * MAX_DENSE + 1:
        raise ValueError(f"layers: expected a list of 1..{MAX_LAYERS + 2 * MAX_DENSE + 1} layer dicts, "
                         f"got {type(items).__name__}")
    out = []
    for i, item in enumerate(items):
        kind = item.get("kind") if isinstance(item, dict) else None
        keys = {"gru": {"kind", "hidden_size", "reset_after", "activation", "recurrent_activation", "direction"},
                "dense": {"kind", "units", "activation"}}
        if kind not in keys or set(item) != keys[kind]:
            raise ValueError(f"layers[{i}]: expected {{'kind': 'gru', 'hidden_size', 'reset_after', 'activation', "
                             f"'recurrent_activation', 'direction'}} or {{'kind': 'dense', 'units', 'activation'}}, "
                             f"got {item!r:.120}")
        if kind == "gru":
            if not isinstance(item["reset_after"], bool):
                raise ValueError(f"layers[{i}].reset_after: expected a boolean, got {item['reset_after']!r}")
            out.append(GRU(positive_int(f"layers[{i}].hidden_size", item["hidden_size"], MAX_DIM),
                           item["reset_after"], item["activation"], item["recurrent_activation"],
                           item["direction"]))
        else:
            out.append(Dense(positive_int(f"layers[{i}].units", item["units"], MAX_DIM), item["activation"]))
    return tuple(out)


def _check_layers(layers):
    """The layers, normalized, if the runtime can run them; else an error naming
    the offending value (GRUModel's argument for a plain configuration, else
    layers[i])."""
    if not isinstance(layers, (list, tuple)) or not all(isinstance(l, (GRU, Dense)) for l in layers):
        raise TypeError(f"layers: expected a sequence of pygru.config.GRU / Dense layers, got {layers!r}")
    kinds = "".join("g" if isinstance(layer, GRU) else "d" for layer in layers)
    n_pre = len(kinds) - len(kinds.lstrip("d"))
    grus = kinds.count("g")
    if not 1 <= grus <= MAX_LAYERS:
        raise ValueError(f"hidden_sizes: expected 1..{MAX_LAYERS} layer sizes, got {grus}")
    slots = sum(2 if getattr(l, "direction", None) == "bidirectional" else 1 for l in layers if isinstance(l, GRU))
    if slots > MAX_LAYERS:
        raise ValueError(f"layers: expected at most {MAX_LAYERS} GRU layers (a bidirectional one counts twice, "
                         f"as in gru.h's layers[]), got {slots}")
    if "g" in kinds[n_pre:].lstrip("g"):
        raise ValueError(f"layers: expected Dense layers, then GRU layers, then Dense layers; got "
                         f"{'[' + ', '.join(_layer_repr(l) for l in layers) + ']'} (a skip or a GRU "
                         f"between Dense layers is not supported)")
    n_head = len(kinds) - n_pre - grus
    if n_pre > MAX_DENSE or n_head > MAX_DENSE + 1:
        raise ValueError(f"layers: expected at most {MAX_DENSE} Dense layers before the GRU layers and "
                         f"{MAX_DENSE + 1} after them, got {n_pre} and {n_head}")
    short = n_pre == 0 and n_head <= 1
    out, g = [], 0
    for i, layer in enumerate(layers):
        if isinstance(layer, GRU):
            where = f"hidden_sizes[{g}]" if short else f"layers[{i}].hidden_size"
            for field, allowed in (("activation", GRU_ACTIVATIONS), ("recurrent_activation", RECURRENT_ACTIVATIONS),
                                   ("direction", DIRECTIONS)):
                if getattr(layer, field) not in allowed:
                    raise ValueError(f"layers[{i}].{field}: expected one of {allowed}, got {getattr(layer, field)!r}")
            out.append(GRU(positive_int(where, layer.hidden_size, MAX_DIM), bool(layer.reset_after),
                           layer.activation, layer.recurrent_activation, layer.direction))
            g += 1
        else:
            units = positive_int("output_size" if short else f"layers[{i}].units", layer.units, MAX_DIM)
            out.append(Dense(units, _check_activation("output_activation" if short else f"layers[{i}].activation",
                                                      layer.activation)))
    return tuple(out)


class ConfiguredModel:
    """The configuration properties GRUModel and QuantizedGRUModel share: every
    one reads `self.spec`, a ModelConfig. Pickles without the native handle."""

    spec: ModelConfig

    input_size = property(lambda self: self.spec.input_size)
    hidden_sizes = property(lambda self: self.spec.hidden_sizes)
    output_size = property(lambda self: self.spec.output_size)
    reset_after = property(lambda self: self.spec.reset_after)
    output_activation = property(lambda self: self.spec.output_activation)
    return_sequences = property(lambda self: self.spec.return_sequences)
    num_layers = property(lambda self: self.spec.num_layers)
    output_dim = property(lambda self: self.spec.output_dim,
                          doc="Values per output step: the head's output size, else the last hidden size.")

    def config(self):
        """The configuration as a JSON-able dict (ModelConfig.to_dict)."""
        return self.spec.to_dict()

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_native"] = None     # rebuilt from the weights on first use
        return state
