"""Model interchange with PyTorch, Keras and ONNX: one module per framework,
each importing its framework only inside the functions that need it.

    from_torch(obj, head=None)   nn.GRU / state dict / .pt / .safetensors
    from_keras(path_or_model)    .keras / legacy .h5 (h5py, no TensorFlow)
    from_onnx(path)              GRU nodes + optional MatMul/Gemm head
    GRUModel.to_onnx(path), GRUModel.to_torch()
"""
from ._common import UnsupportedModelError

__all__ = ["UnsupportedModelError"]
