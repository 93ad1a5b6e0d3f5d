# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""Thin binding of gru_c's float32 inference API.

Validation and user-facing logic live in plain Python (model.py, _validate.py);
this module only wires numpy buffers into the C descriptors and calls C,
releasing the GIL around work that scales with the input.
"""
import numpy as np
cimport numpy as cnp
from libc.string cimport memcpy, memset
from libc.math cimport isfinite

from pygru._gru cimport *

cnp.import_array()

ACTIVATIONS = {None: 0, "none": 0, "sigmoid": 1, "tanh": 2, "softmax": 3, "relu": 4, "hard_sigmoid": 5,
               "hard_sigmoid_keras3": 6}
C_VERSION = "%d.%d.%d" % (GRU_VERSION_MAJOR, GRU_VERSION_MINOR, GRU_VERSION_PATCH)
MAX_LAYERS = GRU_MAX_LAYERS
MAX_DENSE = GRU_MAX_DENSE
MAX_DIM = GRU_MAX_DIM


class GRUError(RuntimeError):
    """A gru_c call returned a negative status code."""


cdef int _check(int status) except -1:
    if status != GRU_OK:
        raise GRUError("gru_c error %d: %s" % (status, gru_status_string(status).decode()))
    return 0


def aligned_empty(n, dtype=np.float32):
    """An uninitialised 1-D array of n elements starting at a GRU_WEIGHT_ALIGN
    (cache-line) boundary: numpy's allocator gives 16 bytes, and vector loads
    that straddle cache lines make small models' steps ~15% slower."""
    dtype = np.dtype(dtype)
    nbytes = n * dtype.itemsize
    raw = np.empty(nbytes + GRU_WEIGHT_ALIGN, dtype=np.uint8)
    start = (-<size_t>cnp.PyArray_DATA(<cnp.ndarray>raw)) % GRU_WEIGHT_ALIGN
    return raw[start:start + nbytes].view(dtype)


def aligned_zeros(n, dtype=np.float32):
    """aligned_empty, zero-filled."""
    out = aligned_empty(n, dtype)
    out[...] = 0
    return out


def aligned_copy(a):
    """A float32, C-contiguous, aligned_empty copy of an array (same shape)."""
    src = np.asarray(a, dtype=np.float32)
    out = aligned_empty(src.size).reshape(src.shape)
    out[...] = src
    return out


def pack_matrix(w):
    """Pack a float32 row-major [rows][cols] matrix into gru_c's kernel layout."""
    cdef const float[:, ::1] src = np.ascontiguousarray(w, dtype=np.float32)
    cdef int rows = <int>src.shape[0], cols = <int>src.shape[1]
    padded = ((rows + GRU_PACK_ROWS - 1) // GRU_PACK_ROWS) * GRU_PACK_ROWS
    out = aligned_empty(padded * cols)
    cdef float[::1] dst = out
    _check(gru_pack_matrix(&src[0, 0], rows, cols, &dst[0], <size_t>dst.shape[0]))
    return out


def unpack_matrix(packed, int rows, int cols):
    """Inverse of pack_matrix."""
    cdef const float[::1] src = np.ascontiguousarray(packed, dtype=np.float32)
    out = np.empty((rows, cols), dtype=np.float32)
    cdef float[:, ::1] dst = out
    if src.shape[0] < ((rows + GRU_PACK_ROWS - 1) // GRU_PACK_ROWS) * GRU_PACK_ROWS * cols:
        raise ValueError("packed array is too small for a %d x %d matrix" % (rows, cols))
    _check(gru_unpack_matrix(&src[0], rows, cols, &dst[0, 0], <size_t>(rows * cols)))
    return out


cdef inline const float *_ptr(object arr):
    return <const float *>cnp.PyArray_DATA(<cnp.ndarray>arr)


cdef int _wire_dense(gru_dense *d, object spec, list keep) except -1:
    """d <- (activation name, weight [O, I], bias [O]); keeps the packed arrays."""
    activation, weight, bias = spec
    parts = (pack_matrix(weight), aligned_copy(bias))
    keep.extend(parts)
    d.input_size = <int>weight.shape[1]
    d.output_size = <int>weight.shape[0]
    d.activation = ACTIVATIONS[activation]
    d.weight = _ptr(parts[0])
    d.bias = _ptr(parts[1])
    return 0


cdef class NativeModel:
    """A gru_model descriptor whose packed weights are numpy arrays it owns.

    layers: list of (reset_after, weight_ih [3H,I], weight_hh [3H,H], bias_ih [3H], bias_hh [3H]
            [, activation name, recurrent activation name[, reverse, merge]]), one per C layer
            slot (a bidirectional layer: its forward half, then its reverse half with merge)
    head:   None or (activation name, weight [O,H], bias [O])
    pre:    dense layers before the GRUs, each (activation name, weight [O,I], bias [O])
    post:   further head layers after `head`, in the same form
    All arrays float32, C-contiguous and already validated by the caller.
    """
    cdef gru_model c
    cdef list _keep
    cdef readonly int input_size
    cdef readonly int output_size
    cdef readonly Py_ssize_t state_size
    cdef readonly Py_ssize_t scratch_size
    cdef readonly Py_ssize_t sequence_state_size
    cdef readonly Py_ssize_t sequence_scratch_size

    def __init__(self, list layers, head=None, pre=(), post=()):
        cdef int l, H
        if not 1 <= len(layers) <= GRU_MAX_LAYERS:
            raise ValueError("expected 1..%d layers, got %d" % (GRU_MAX_LAYERS, len(layers)))
        if len(pre) > GRU_MAX_DENSE or len(post) > GRU_MAX_DENSE or (post and head is None):
            raise ValueError("expected 0..%d pre and post dense layers (post ones after a head), got "
                             "%d and %d" % (GRU_MAX_DENSE, len(pre), len(post)))
        self._keep = []
        self.c.num_pre = len(pre)
        for l in range(len(pre)):
            _wire_dense(&self.c.pre[l], pre[l], self._keep)
        self.c.num_layers = len(layers)
        for l, layer in enumerate(layers):
            reset_after, w_ih, w_hh, b_ih, b_hh = layer[:5]
            acts = layer[5:7] or ("tanh", "sigmoid")
            flags = layer[7:9] or (False, False)
            H = <int>w_hh.shape[1]
            parts = (pack_matrix(w_ih), pack_matrix(w_hh[:2 * H]), pack_matrix(w_hh[2 * H:]),
                     aligned_copy(b_ih),
                     aligned_copy(b_hh))
            self._keep.extend(parts)
            self.c.layers[l].input_size = <int>w_ih.shape[1]
            self.c.layers[l].hidden_size = H
            self.c.layers[l].reset_after = 1 if reset_after else 0
            self.c.layers[l].w_ih = _ptr(parts[0])
            self.c.layers[l].w_hh_rz = _ptr(parts[1])
            self.c.layers[l].w_hh_n = _ptr(parts[2])
            self.c.layers[l].b_ih = _ptr(parts[3])
            self.c.layers[l].b_hh = _ptr(parts[4])
            self.c.layers[l].activation = ACTIVATIONS[acts[0]]
            self.c.layers[l].recurrent_activation = ACTIVATIONS[acts[1]]
            self.c.layers[l].reverse = 1 if flags[0] else 0
            self.c.layers[l].merge = 1 if flags[1] else 0
        self.c.has_head = 0
        if head is not None:
            self.c.has_head = 1
            _wire_dense(&self.c.head, head, self._keep)
        self.c.num_post = len(post)
        for l in range(len(post)):
            _wire_dense(&self.c.post[l], post[l], self._keep)
        _check(gru_model_check(&self.c))
        self.input_size = gru_model_input_size(&self.c)
        self.output_size = gru_model_output_size(&self.c)
        self.state_size = <Py_ssize_t>gru_state_size(&self.c)
        self.scratch_size = <Py_ssize_t>gru_scratch_size(&self.c)
        self.sequence_state_size = <Py_ssize_t>gru_sequence_state_size(&self.c)
        self.sequence_scratch_size = <Py_ssize_t>gru_sequence_scratch_size(&self.c)

    def packed_arrays(self):
        """The packed arrays in the order the model runs them (each pre layer's
        weight, bias; per GRU layer: w_ih, w_hh_rz, w_hh_n, b_ih, b_hh; then the
        head's and each post layer's weight, bias), for C header export and
        gru_model_checksum."""
        return list(self._keep)

    def sequence(self, x, bint return_sequences, initial_state=None):
        """x: float32 C-contiguous [B, T, I], validated by the caller."""
        cdef const float[:, :, ::1] xv = x
        cdef int batch = <int>xv.shape[0], steps = <int>xv.shape[1]
        cdef const float *init = NULL
        cdef const float[:, ::1] initv
        if initial_state is not None:
            initv = initial_state
            init = &initv[0, 0]
        if return_sequences:
            y = np.empty((batch, steps, self.output_size), dtype=np.float32)
        else:
            y = np.empty((batch, self.output_size), dtype=np.float32)
        cdef size_t need = gru_sequence_scratch_size_for(&self.c, steps)
        if need > <size_t>(1 << 40):
            raise MemoryError("a %d-step sequence needs %d floats of scratch for this model's reverse layers"
                              % (steps, need))
        state = aligned_empty(self.sequence_state_size)
        scratch = aligned_empty(need)
        cdef float *yp = <float *>cnp.PyArray_DATA(<cnp.ndarray>y)
        cdef float *sp = <float *>cnp.PyArray_DATA(<cnp.ndarray>state)
        cdef float *wp = <float *>cnp.PyArray_DATA(<cnp.ndarray>scratch)
        cdef int status
        with nogil:
            status = gru_sequence(&self.c, &xv[0, 0, 0], batch, steps, return_sequences, init,
                                  sp, <size_t>self.sequence_state_size, wp, need, yp)
        _check(status)
        return y


cdef class Stream:
    """Batch-1 streaming state. step() works on buffers the object already holds,
    so a call costs little more than the arithmetic."""
    cdef gru_stream s
    cdef readonly NativeModel model
    cdef object _state
    cdef object _scratch
    cdef object _x
    cdef cnp.npy_intp _n_out
    cdef int _n_in

    def __init__(self, NativeModel model):
        self.model = model
        self._state = aligned_zeros(model.state_size)
        self._scratch = aligned_zeros(model.scratch_size)
        self._x = aligned_zeros(model.input_size)
        self._n_in = model.input_size
        self._n_out = model.output_size
        _check(gru_stream_init(&self.s, &model.c,
                               <float *>cnp.PyArray_DATA(<cnp.ndarray>self._state), <size_t>model.state_size,
                               <float *>cnp.PyArray_DATA(<cnp.ndarray>self._scratch), <size_t>model.scratch_size))

    def reset(self):
        """Zero the hidden state of every layer."""
        gru_stream_reset(&self.s)

    @property
    def state(self):
        """A copy of the hidden state, all layers concatenated (layer 0 first)."""
        return self._state.copy()

    @state.setter
    def state(self, value):
        value = np.asarray(value, dtype=np.float32).reshape(-1)
        if value.shape[0] != self._state.shape[0] or not np.isfinite(value).all():
            raise ValueError("state: expected %d finite values, got shape %s"
                             % (self._state.shape[0], np.shape(value)))
        self._state[:] = value

    def step(self, x, out=None):
        """One time step; x has shape (input_size,). Returns a new float32 array,
        or writes into `out` (float32, shape (output_size,), C-contiguous,
        writeable) and returns it: no allocation per step."""
        cdef cnp.ndarray arr
        cdef const float *xp
        cdef int i
        if (cnp.PyArray_CheckExact(x) and cnp.PyArray_TYPE(<cnp.ndarray>x) == cnp.NPY_FLOAT32
                and cnp.PyArray_NDIM(<cnp.ndarray>x) == 1
                and cnp.PyArray_DIM(<cnp.ndarray>x, 0) == self._n_in
                and cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>x)):
            arr = <cnp.ndarray>x
        else:
            arr = <cnp.ndarray>self._coerce(x)
        xp = <const float *>cnp.PyArray_DATA(arr)
        for i in range(self._n_in):
            if not isfinite(xp[i]):
                raise ValueError("x: expected finite values, got %r at index %d" % (xp[i], i))
        if out is None:
            out = cnp.PyArray_SimpleNew(1, &self._n_out, cnp.NPY_FLOAT32)
        elif not (cnp.PyArray_CheckExact(out) and cnp.PyArray_TYPE(<cnp.ndarray>out) == cnp.NPY_FLOAT32
                  and cnp.PyArray_NDIM(<cnp.ndarray>out) == 1
                  and cnp.PyArray_DIM(<cnp.ndarray>out, 0) == self._n_out
                  and cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>out)
                  and cnp.PyArray_ISWRITEABLE(<cnp.ndarray>out)):
            self._bad_out(out)
        gru_stream_step(&self.s, xp, <float *>cnp.PyArray_DATA(<cnp.ndarray>out))
        return out

    def _bad_out(self, out):
        got = (f"{type(out).__name__}" if not isinstance(out, np.ndarray) else
               f"{'read-only ' if not out.flags.writeable else ''}"
               f"{'non-contiguous ' if not out.flags.c_contiguous else ''}"
               f"{out.dtype} array of shape {out.shape}")
        raise ValueError("out: expected a writeable C-contiguous float32 numpy array of shape "
                         "(%d,), got %s" % (self._n_out, got))

    def _coerce(self, x):
        if isinstance(x, np.ma.MaskedArray):  # np.asarray would drop the mask
            raise TypeError("x: expected a plain numpy array, got a masked array (numpy.ma)")
        arr = np.asarray(x)
        if arr.dtype.kind not in "fiu":
            raise TypeError("x: expected a real numeric array, got dtype %s" % arr.dtype)
        if arr.shape != (self._n_in,):
            raise ValueError("x: expected shape (%d,), got %s" % (self._n_in, arr.shape))
        return np.ascontiguousarray(arr, dtype=np.float32)


def kernel_names():
    """The kernels gru_c runs on this CPU, as chosen once by the build or by
    the loader (gru_kernel_name): {"float": ..., "int8": ..., "integer": ...}."""
    kinds = (("float", GRU_KERNEL_FLOAT), ("int8", GRU_KERNEL_INT8), ("integer", GRU_KERNEL_INTEGER))
    return {name: gru_kernel_name(kind).decode("ascii") for name, kind in kinds}


def kernels_dispatched():
    """True if the loader chose the kernels for this CPU (gru_kernels_dispatched:
    x86-64 builds with GRU_DISPATCH_X86), False if the build fixed them."""
    return bool(gru_kernels_dispatched())


def activations(x, str name):
    """Apply the C runtime's own tanh or sigmoid elementwise (for accuracy tests)."""
    cdef const float[::1] src = np.ascontiguousarray(x, dtype=np.float32).reshape(-1)
    out = np.empty(src.shape[0], dtype=np.float32)
    cdef float[::1] dst = out
    cdef Py_ssize_t i
    if name == "tanh":
        with nogil:
            for i in range(src.shape[0]):
                dst[i] = gru_tanh(src[i])
    elif name == "sigmoid":
        with nogil:
            for i in range(src.shape[0]):
                dst[i] = gru_sigmoid(src[i])
    else:
        raise ValueError("name: expected 'tanh' or 'sigmoid', got %r" % (name,))
    return out.reshape(np.shape(x))


# The quantized and training bindings are part of this module, so that the
# wheel links the C core once, not once per extension.
include "_quant.pxi"
include "_train.pxi"
