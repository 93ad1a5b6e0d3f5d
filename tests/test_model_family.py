"""The model family's C helpers shared by the float, int8 and integer
descriptors: gru_q8_model_checksum / gru_qi_model_checksum give the CRC-32 that
the quantized header exporter records (computed in Python with zlib), so the
headers' NAME_check calls them."""
import numpy as np
import pytest

import pygru
from pygru import _cgen


@pytest.mark.parametrize("mode", ["int8", "integer"])
@pytest.mark.parametrize("head", [None, 5])
def test_quantized_checksum_matches_the_exporters(mode, head):
    model = pygru.GRUModel(9, [13, 8], output_size=head, reset_after=[True, False], seed=3)
    X = np.random.default_rng(4).standard_normal((2, 7, 9)).astype(np.float32)
    q = pygru.quantize(model, X, mode=mode)
    native = q._native_model()
    want = _cgen.crc32(native.packed_arrays())
    assert native.checksum() == want
    # one changed weight byte changes it
    arr = native.packed_arrays()[0]
    arr[0] = arr[0] ^ 1
    assert native.checksum() != want
