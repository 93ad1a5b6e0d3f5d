"""The architecture of a pygru model, written once: ModelConfig.

GRUModel, QuantizedGRUModel, training (pygru/training.py) and the C header
exporter (pygru/export.py) all read the same frozen ModelConfig, so a model's
shape is validated in one place and described the same way everywhere.

A model is a sequence of layers: today one or more `GRU` layers, then at most
one `Dense` head on the last layer's output. New layer kinds and options
(Dense pre-nets and deeper heads, GRU direction, candidate and recurrent
activations) become new fields or classes here and new cases in
`_check_layers`; the dict form (`to_dict`, saved in every .npz file) keeps
the keys earlier versions wrote, so their files still load.
"""
import dataclasses
from dataclasses import dataclass
from typing import Optional, Tuple, Union

from ._validate import positive_int

OUTPUT_ACTIVATIONS = (None, "sigmoid", "tanh", "softmax")
CONFIG_KEYS = ("input_size", "hidden_sizes", "output_size", "reset_after", "output_activation",
               "return_sequences")

from ._core import MAX_DIM, MAX_LAYERS  # gru.h's limits, as the extension was built


@dataclass(frozen=True)
class GRU:
    """One GRU layer: gate order r, z, n; reset_after=True is PyTorch's form,
    False Cho 2014 / ONNX's."""
    hidden_size: int
    reset_after: bool = True

    @property
    def output_size(self):
        return self.hidden_size

    def weight_shapes(self, index, size_in):
        H = self.hidden_size
        return {f"weight_ih_l{index}": (3 * H, size_in), f"weight_hh_l{index}": (3 * H, H),
                f"bias_ih_l{index}": (3 * H,), f"bias_hh_l{index}": (3 * H,)}


@dataclass(frozen=True)
class Dense:
    """A dense layer y = activation(W x + b), W [units][inputs]."""
    units: int
    activation: Optional[str] = None

    @property
    def output_size(self):
        return self.units

    def weight_shapes(self, index, size_in):
        # The one Dense layer today is the head; its names are PyTorch's for
        # a submodule called `head`.
        return {"head.weight": (self.units, size_in), "head.bias": (self.units,)}


Layer = Union[GRU, Dense]


@dataclass(frozen=True)
class ModelConfig:
    """What a model computes, without its weights: validated on creation.

    >>> ModelConfig.create(3, [16, 8], output_size=2).hidden_sizes
    (16, 8)
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
            _check_activation(output_activation)
            raise ValueError(f"output_activation: {output_activation!r} needs a dense head; set output_size")
        return cls(input_size, layers, return_sequences)

    @classmethod
    def from_dict(cls, config):
        """From the dict to_dict writes (the `__config__` of a saved model)."""
        if not isinstance(config, dict) or set(config) != set(CONFIG_KEYS):
            raise ValueError(f"expected keys {sorted(CONFIG_KEYS)}")
        return cls.create(**config)

    def to_dict(self):
        """The JSON-able form saved in .npz files (the keys of every version so far)."""
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
    def head(self):
        """The Dense head, or None."""
        last = self.layers[-1]
        return last if isinstance(last, Dense) else None

    @property
    def hidden_sizes(self):
        return tuple(layer.hidden_size for layer in self.gru_layers)

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

    @property
    def layer_input_sizes(self):
        """Input size of each GRU layer."""
        return tuple(size for layer, size in self.layer_inputs() if isinstance(layer, GRU))

    @property
    def output_size(self):
        return None if self.head is None else self.head.units

    @property
    def output_activation(self):
        return None if self.head is None else self.head.activation

    @property
    def output_dim(self):
        """Values per output step: the head's output size, else the last hidden size."""
        return self.layers[-1].output_size

    def weight_shapes(self):
        """Dict name -> shape of every parameter, in PyTorch's names and layouts
        (GRU layers numbered by their position among the GRU layers)."""
        shapes, counts = {}, {}
        for layer, size_in in self.layer_inputs():
            index = counts[type(layer)] = counts.get(type(layer), -1) + 1
            shapes.update(layer.weight_shapes(index, size_in))
        return shapes

    def describe(self):
        """The keyword arguments of GRUModel's repr."""
        head = "" if self.output_size is None else f", output_size={self.output_size}"
        act = "" if self.output_activation is None else f", output_activation={self.output_activation!r}"
        return (f"input_size={self.input_size}, hidden_sizes={list(self.hidden_sizes)}{head}, "
                f"reset_after={list(self.reset_after)}{act}, return_sequences={self.return_sequences}")


def _check_activation(activation):
    if activation not in OUTPUT_ACTIVATIONS:
        raise ValueError(f"output_activation: expected one of {OUTPUT_ACTIVATIONS}, got {activation!r}")
    return activation


def _check_layers(layers):
    """The layers, normalized, if the runtime can run them; else an error naming
    GRUModel's argument for the offending value."""
    if not isinstance(layers, (list, tuple)) or not all(isinstance(l, (GRU, Dense)) for l in layers):
        raise TypeError(f"layers: expected a sequence of pygru.config.GRU / Dense layers, got {layers!r}")
    grus = [layer for layer in layers if isinstance(layer, GRU)]
    if not 1 <= len(grus) <= MAX_LAYERS:
        raise ValueError(f"hidden_sizes: expected 1..{MAX_LAYERS} layer sizes, got {len(grus)}")
    if any(isinstance(layer, Dense) for layer in layers[:len(grus)]) or len(layers) > len(grus) + 1:
        raise ValueError("layers: expected GRU layers followed by at most one Dense head (a Dense "
                         "layer elsewhere is not supported yet)")
    out = [GRU(positive_int(f"hidden_sizes[{i}]", layer.hidden_size, MAX_DIM), bool(layer.reset_after))
           for i, layer in enumerate(grus)]
    if len(layers) > len(grus):
        head = layers[-1]
        out.append(Dense(positive_int("output_size", head.units, MAX_DIM), _check_activation(head.activation)))
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
