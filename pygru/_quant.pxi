# Thin binding of gru_c's quantized inference (gru_quant.h), included into
# _core.pyx so that one extension module links the C core once (pygru.quantize
# imports it as `_core as _quant`).
#
# The arrays come from pygru/quantize.py, already validated and of the right
# dtypes; this part wires them into the C descriptors and calls C.
from libc.stdint cimport int8_t, int16_t, int32_t, uint32_t

from pygru._gru_quant cimport *

QI_MAX_DIM = GRU_QI_MAX_DIM


class GRUQuantError(RuntimeError):
    """A gru_c quantized call returned a negative status code."""


cdef int _qcheck(int status) except -1:
    if status != GRU_OK:
        raise GRUQuantError("gru_c error %d: %s" % (status, gru_status_string(status).decode()))
    return 0


cdef inline void *_p(object arr):
    return cnp.PyArray_DATA(<cnp.ndarray>arr)


def _c(arr, dtype):
    return np.ascontiguousarray(arr, dtype=dtype)


def pack_matrix_i8(w):
    """Pack a row-major int8 [rows][cols] matrix like gru_pack_matrix."""
    cdef const int8_t[:, ::1] src = _c(w, np.int8)
    cdef int rows = <int>src.shape[0], cols = <int>src.shape[1]
    out = aligned_empty(((rows + 7) // 8) * 8 * cols, np.int8)
    cdef int8_t[::1] dst = out
    _qcheck(gru_q8_pack_matrix(&src[0, 0], rows, cols, &dst[0], <size_t>dst.shape[0]))
    return out


def pack_matrix_qi(w):
    """Pack a row-major int8 [rows][cols] matrix for the integer path
    (gru_qi_pack_matrix: 16-row blocks, column pairs interleaved)."""
    cdef const int8_t[:, ::1] src = _c(w, np.int8)
    cdef int rows = <int>src.shape[0], cols = <int>src.shape[1]
    out = aligned_empty(GRU_QI_PACKED_SIZE(rows, cols), np.int8)
    cdef int8_t[::1] dst = out
    _qcheck(gru_qi_pack_matrix(&src[0, 0], rows, cols, &dst[0], <size_t>dst.shape[0]))
    return out


cdef class Q8Model:
    """gru_q8_model over arrays it owns.
    layers: (reset_after, q_ih [3H,I] int8, q_hh [3H,H] int8, s_ih, s_hh, b_ih, b_hh)
    head:   None or (activation, q [O,H] int8, scale [O], bias [O])."""
    cdef gru_q8_model c
    cdef list _keep
    cdef readonly int input_size, output_size
    cdef readonly Py_ssize_t state_size, scratch_size

    def __init__(self, list layers, head=None):
        cdef int l, H
        if not 1 <= len(layers) <= GRU_MAX_LAYERS:
            raise ValueError("expected 1..%d layers, got %d" % (GRU_MAX_LAYERS, len(layers)))
        self._keep = []
        self.c.num_layers = len(layers)
        for l, (ra, q_ih, q_hh, s_ih, s_hh, b_ih, b_hh) in enumerate(layers):
            H = <int>q_hh.shape[1]
            parts = (pack_matrix_i8(q_ih), pack_matrix_i8(q_hh[:2 * H]), pack_matrix_i8(q_hh[2 * H:]),
                     _c(s_ih, np.float32), _c(s_hh, np.float32), _c(b_ih, np.float32),
                     _c(b_hh, np.float32))
            self._keep.extend(parts)
            self.c.layers[l].input_size = <int>q_ih.shape[1]
            self.c.layers[l].hidden_size = H
            self.c.layers[l].reset_after = 1 if ra else 0
            self.c.layers[l].w_ih = <const int8_t *>_p(parts[0])
            self.c.layers[l].w_hh_rz = <const int8_t *>_p(parts[1])
            self.c.layers[l].w_hh_n = <const int8_t *>_p(parts[2])
            self.c.layers[l].s_ih = <const float *>_p(parts[3])
            self.c.layers[l].s_hh = <const float *>_p(parts[4])
            self.c.layers[l].b_ih = <const float *>_p(parts[5])
            self.c.layers[l].b_hh = <const float *>_p(parts[6])
        self.c.has_head = 0
        if head is not None:
            act, q, scale, bias = head
            parts = (pack_matrix_i8(q), _c(scale, np.float32), _c(bias, np.float32))
            self._keep.extend(parts)
            self.c.has_head = 1
            self.c.head.input_size = <int>q.shape[1]
            self.c.head.output_size = <int>q.shape[0]
            self.c.head.activation = ACTIVATIONS[act]
            self.c.head.weight = <const int8_t *>_p(parts[0])
            self.c.head.scale = <const float *>_p(parts[1])
            self.c.head.bias = <const float *>_p(parts[2])
        _qcheck(gru_q8_model_check(&self.c))
        self.input_size = gru_q8_model_input_size(&self.c)
        self.output_size = gru_q8_model_output_size(&self.c)
        self.state_size = <Py_ssize_t>gru_q8_state_size(&self.c)
        self.scratch_size = <Py_ssize_t>gru_q8_scratch_size(&self.c)

    def checksum(self):
        """gru_q8_model_checksum: the CRC-32 exported headers record."""
        cdef uint32_t crc = 0
        _qcheck(gru_q8_model_checksum(&self.c, &crc))
        return crc

    def packed_arrays(self):
        """Arrays in descriptor order (per layer: w_ih, w_hh_rz, w_hh_n, s_ih, s_hh,
        b_ih, b_hh; then head weight, scale, bias), for C header export."""
        return list(self._keep)

    def sequence(self, x, bint return_sequences, initial_state=None):
        """x: float32 C-contiguous [B, T, I]; initial_state None or float32
        [B, state_size]; both validated by the caller."""
        cdef const float[:, :, ::1] xv = x
        cdef int batch = <int>xv.shape[0], steps = <int>xv.shape[1]
        cdef const float *init = <const float *>(NULL if initial_state is None else _p(initial_state))
        shape = [batch, steps, self.output_size] if return_sequences else [batch, self.output_size]
        y = np.empty(shape, dtype=np.float32)
        state = aligned_empty(self.state_size, np.float32)
        scratch = aligned_empty(self.scratch_size, np.float32)
        cdef float *yp = <float *>_p(y)
        cdef float *sp = <float *>_p(state)
        cdef float *wp = <float *>_p(scratch)
        cdef int status
        with nogil:
            status = gru_q8_sequence(&self.c, &xv[0, 0, 0], batch, steps, return_sequences, init,
                                     sp, <size_t>self.state_size, wp, <size_t>self.scratch_size, yp)
        _qcheck(status)
        return y


cdef class Q8Stream:
    """Batch-1 stream of a Q8Model: step(x) float32 -> float32."""
    cdef gru_q8_stream s
    cdef readonly Q8Model model
    cdef object _state, _scratch
    cdef cnp.npy_intp _n_out
    cdef int _n_in

    def __init__(self, Q8Model model):
        self.model = model
        self._state = aligned_zeros(model.state_size, np.float32)
        self._scratch = aligned_zeros(model.scratch_size, np.float32)
        self._n_in = model.input_size
        self._n_out = model.output_size
        _qcheck(gru_q8_stream_init(&self.s, &model.c, <float *>_p(self._state), <size_t>model.state_size,
                                  <float *>_p(self._scratch), <size_t>model.scratch_size))

    def reset(self):
        gru_q8_stream_reset(&self.s)

    @property
    def state(self):
        return self._state.copy()

    def step(self, x):
        if isinstance(x, np.ma.MaskedArray):  # np.asarray would drop the mask
            raise TypeError("x: expected a plain numpy array, got a masked array (numpy.ma)")
        arr = np.asarray(x)
        if arr.dtype.kind not in "fiu":
            raise TypeError("x: expected a real numeric array, got dtype %s" % arr.dtype)
        if arr.shape != (self._n_in,):
            raise ValueError("x: expected shape (%d,), got %s" % (self._n_in, arr.shape))
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        cdef const float *xp = <const float *>_p(arr)
        cdef int i
        for i in range(self._n_in):
            if not isfinite(xp[i]):
                raise ValueError("x: expected finite values, got %r at index %d" % (xp[i], i))
        out = cnp.PyArray_SimpleNew(1, &self._n_out, cnp.NPY_FLOAT32)
        gru_q8_stream_step(&self.s, xp, <float *>_p(out))
        return out


cdef class QIModel:
    """gru_qi_model over arrays it owns (weight matrices packed here).
    layers: (reset_after, w_ih int8 [3H,I], w_hh int8 [3H,H], m_ih int32, sh_ih int8,
             m_hh int32, sh_hh int8, b_ih int32, b_hh int32)
    head:   None or (activation, w int8 [O,H], mult int32, shift int8, bias int32)."""
    cdef gru_qi_model c
    cdef list _keep
    cdef readonly int input_size, output_size, output_frac_bits
    cdef readonly Py_ssize_t state_size, scratch_size

    def __init__(self, list layers, head=None):
        cdef int l, H
        if not 1 <= len(layers) <= GRU_MAX_LAYERS:
            raise ValueError("expected 1..%d layers, got %d" % (GRU_MAX_LAYERS, len(layers)))
        self._keep = []
        self.c.num_layers = len(layers)
        for l, (ra, w_ih, w_hh, m_ih, sh_ih, m_hh, sh_hh, b_ih, b_hh) in enumerate(layers):
            H = <int>w_hh.shape[1]
            parts = (pack_matrix_qi(w_ih), pack_matrix_qi(w_hh[:2 * H]), pack_matrix_qi(w_hh[2 * H:]),
                     _c(m_ih, np.int32), _c(sh_ih, np.int8), _c(m_hh, np.int32), _c(sh_hh, np.int8),
                     _c(b_ih, np.int32), _c(b_hh, np.int32))
            self._keep.extend(parts)
            self.c.layers[l].input_size = <int>w_ih.shape[1]
            self.c.layers[l].hidden_size = H
            self.c.layers[l].reset_after = 1 if ra else 0
            self.c.layers[l].w_ih = <const int8_t *>_p(parts[0])
            self.c.layers[l].w_hh_rz = <const int8_t *>_p(parts[1])
            self.c.layers[l].w_hh_n = <const int8_t *>_p(parts[2])
            self.c.layers[l].m_ih = <const int32_t *>_p(parts[3])
            self.c.layers[l].sh_ih = <const int8_t *>_p(parts[4])
            self.c.layers[l].m_hh = <const int32_t *>_p(parts[5])
            self.c.layers[l].sh_hh = <const int8_t *>_p(parts[6])
            self.c.layers[l].b_ih = <const int32_t *>_p(parts[7])
            self.c.layers[l].b_hh = <const int32_t *>_p(parts[8])
        self.c.has_head = 0
        if head is not None:
            act, w, mult, shift, bias = head
            parts = (pack_matrix_qi(w), _c(mult, np.int32), _c(shift, np.int8), _c(bias, np.int32))
            self._keep.extend(parts)
            self.c.has_head = 1
            self.c.head.input_size = <int>w.shape[1]
            self.c.head.output_size = <int>w.shape[0]
            self.c.head.activation = ACTIVATIONS[act]
            self.c.head.weight = <const int8_t *>_p(parts[0])
            self.c.head.mult = <const int32_t *>_p(parts[1])
            self.c.head.shift = <const int8_t *>_p(parts[2])
            self.c.head.bias = <const int32_t *>_p(parts[3])
        _qcheck(gru_qi_model_check(&self.c))
        self.input_size = gru_qi_model_input_size(&self.c)
        self.output_size = gru_qi_model_output_size(&self.c)
        self.output_frac_bits = gru_qi_output_frac_bits(&self.c)
        self.state_size = <Py_ssize_t>gru_qi_state_size(&self.c)
        self.scratch_size = <Py_ssize_t>gru_qi_scratch_size(&self.c)

    def checksum(self):
        """gru_qi_model_checksum: the CRC-32 exported headers record."""
        cdef uint32_t crc = 0
        _qcheck(gru_qi_model_checksum(&self.c, &crc))
        return crc

    def packed_arrays(self):
        """Arrays in descriptor order (per layer: w_ih, w_hh_rz, w_hh_n, m_ih, sh_ih,
        m_hh, sh_hh, b_ih, b_hh; then head weight, mult, shift, bias), for C
        header export."""
        return list(self._keep)

    def sequence(self, x, bint return_sequences, initial_state=None):
        """x: int16 C-contiguous [B, T, I]; initial_state None or int16 Q0.15
        [B, state_size], C-contiguous. Returns int32 outputs."""
        cdef const int16_t[:, :, ::1] xv = x
        cdef int batch = <int>xv.shape[0], steps = <int>xv.shape[1]
        cdef const int16_t *init = <const int16_t *>(NULL if initial_state is None else _p(initial_state))
        shape = [batch, steps, self.output_size] if return_sequences else [batch, self.output_size]
        y = np.empty(shape, dtype=np.int32)
        state = aligned_empty(self.state_size, np.int16)
        scratch = aligned_empty(self.scratch_size, np.int32)
        cdef int32_t *yp = <int32_t *>_p(y)
        cdef int16_t *sp = <int16_t *>_p(state)
        cdef int32_t *wp = <int32_t *>_p(scratch)
        cdef int status
        with nogil:
            status = gru_qi_sequence(&self.c, &xv[0, 0, 0], batch, steps, return_sequences, init,
                                     sp, <size_t>self.state_size, wp, <size_t>self.scratch_size, yp)
        _qcheck(status)
        return y


cdef class QIStream:
    """Batch-1 stream of a QIModel: step(int16 x) -> int32 y."""
    cdef gru_qi_stream s
    cdef readonly QIModel model
    cdef object _state, _scratch
    cdef cnp.npy_intp _n_out
    cdef int _n_in

    def __init__(self, QIModel model):
        self.model = model
        self._state = aligned_zeros(model.state_size, np.int16)
        self._scratch = aligned_zeros(model.scratch_size, np.int32)
        self._n_in = model.input_size
        self._n_out = model.output_size
        _qcheck(gru_qi_stream_init(&self.s, &model.c, <int16_t *>_p(self._state), <size_t>model.state_size,
                                  <int32_t *>_p(self._scratch), <size_t>model.scratch_size))

    def reset(self):
        gru_qi_stream_reset(&self.s)

    @property
    def state(self):
        return self._state.copy()

    def step(self, x):
        arr = np.ascontiguousarray(x, dtype=np.int16)
        if arr.shape != (self._n_in,):
            raise ValueError("x: expected shape (%d,), got %s" % (self._n_in, arr.shape))
        out = cnp.PyArray_SimpleNew(1, &self._n_out, cnp.NPY_INT32)
        gru_qi_stream_step(&self.s, <const int16_t *>_p(arr), <int32_t *>_p(out))
        return out


def qi_activation(x, str name):
    """Apply gru_qi_tanh or gru_qi_sigmoid to int32 Q.12 values (for tests)."""
    cdef const int32_t[::1] src = np.ascontiguousarray(x, dtype=np.int32).reshape(-1)
    out = np.empty(src.shape[0], dtype=np.int16)
    cdef int16_t[::1] dst = out
    cdef Py_ssize_t i
    if name == "tanh":
        with nogil:
            for i in range(src.shape[0]):
                dst[i] = gru_qi_tanh(src[i])
    elif name == "sigmoid":
        with nogil:
            for i in range(src.shape[0]):
                dst[i] = gru_qi_sigmoid(src[i])
    else:
        raise ValueError("name: expected 'tanh' or 'sigmoid', got %r" % (name,))
    return out.reshape(np.shape(x))


def qi_table():
    """A copy of the compiled tanh table (gru_qi_tanh_table)."""
    out = np.empty(GRU_QI_TABLE_SIZE, dtype=np.int16)
    cdef int i
    for i in range(GRU_QI_TABLE_SIZE):
        out[i] = gru_qi_tanh_table[i]
    return out
