# Thin binding of gru_c's training API (gru_train.h), included into _core.pyx
# so that one extension module links the C core once (pygru.training imports
# it as `_core as _train`).
#
# The Trainer owns the flat packed parameter buffer, the gradients, the
# optimizer state and the workspace as numpy arrays; the fitting loop, data
# handling and validation live in pygru/training.py.
from libc.stdint cimport int32_t

from pygru._gru_train cimport *

LOSSES = {"mse": GRU_LOSS_MSE, "cross_entropy": GRU_LOSS_CROSS_ENTROPY}
OPTIMIZERS = {"sgd": GRU_OPT_SGD, "adam": GRU_OPT_ADAM, "adamw": GRU_OPT_ADAMW}
PACK_ROWS = GRU_PACK_ROWS
TRAINABLE = {"all": GRU_TRAIN_ALL, "last": GRU_TRAIN_LAST, "head": GRU_TRAIN_HEAD}


# None -> NULL: the C API's "not given" for optional arrays.
cdef inline float *_fp(object arr):
    if arr is None:
        return NULL
    return <float *>cnp.PyArray_DATA(<cnp.ndarray>arr)


cdef inline const float *_cfp(object arr):
    if arr is None:
        return NULL
    return <const float *>cnp.PyArray_DATA(<cnp.ndarray>arr)


cdef inline const int32_t *_ip(object arr):
    if arr is None:
        return NULL
    return <const int32_t *>cnp.PyArray_DATA(<cnp.ndarray>arr)


cdef void _describe(gru_model *m, list layers, head):
    # Zero first: fields this binding does not set (pre-nets, post layers, GRU
    # options) must read as their defaults, not as stack garbage.
    cdef int l
    memset(m, 0, sizeof(gru_model))
    m.num_layers = len(layers)
    for l, (input_size, hidden_size, reset_after) in enumerate(layers):
        m.layers[l].input_size = input_size
        m.layers[l].hidden_size = hidden_size
        m.layers[l].reset_after = 1 if reset_after else 0
    m.has_head = 0
    if head is not None:
        activation, hidden_size, output_size = head
        m.has_head = 1
        m.head.input_size = hidden_size
        m.head.output_size = output_size
        m.head.activation = ACTIVATIONS[activation]


def param_size(list layers, head=None):
    """Floats of the flat parameter buffer. layers: [(input, hidden, reset_after)],
    head: None or (activation, hidden, output)."""
    cdef gru_model m
    _describe(&m, layers, head)
    return gru_train_param_size(&m)


def training_sizes(list layers, head, str trainable, int max_batch, int max_steps,
                   bint return_sequences, bint low_memory):
    """gru_c's size queries for a trainable choice: (offset of the first
    trainable float, trainable floats, workspace floats); 0s when refused."""
    cdef gru_model m
    cdef gru_train_config c
    _describe(&m, layers, head)
    c.max_batch, c.max_steps, c.return_sequences = max_batch, max_steps, return_sequences
    c.trainable, c.low_memory = TRAINABLE[trainable], low_memory
    return (gru_train_trainable_offset(&m, c.trainable), gru_train_trainable_size(&m, c.trainable),
            gru_train_workspace_size_config(&m, &c))


cdef class Trainer:
    """gru_c training state over arrays it owns. All arguments arrive
    validated (float32/int32, C-contiguous, right shapes) from training.py."""
    cdef gru_model c
    cdef gru_train tr
    cdef gru_optimizer opt
    cdef readonly object params, grad, opt_state, workspace
    cdef readonly int max_batch, max_steps, return_sequences, output_size, state_size
    cdef readonly Py_ssize_t n_params, offset, n_trainable
    cdef readonly str trainable
    cdef readonly bint low_memory
    cdef public bint last_skipped
    cdef object _inputs  # x and lengths of the last forward: C reads them in backward

    def __init__(self, list layers, head, params, int max_batch, int max_steps,
                 bint return_sequences, str trainable="all", bint low_memory=False):
        cdef gru_train_config cfg
        _describe(&self.c, layers, head)
        self.n_params = <Py_ssize_t>gru_train_param_size(&self.c)
        if self.n_params == 0 or params.shape != (self.n_params,):
            raise ValueError("params: expected shape (%d,), got %s" % (self.n_params, params.shape))
        self.params = params
        # One buffer holds frozen and trainable parts: the trainable floats
        # are its suffix params[offset:], as on a device (gru_train_wire_split).
        _check(gru_train_wire(&self.c, _fp(params), <size_t>self.n_params))
        cfg.max_batch, cfg.max_steps, cfg.return_sequences = max_batch, max_steps, return_sequences
        cfg.trainable, cfg.low_memory = TRAINABLE[trainable], low_memory
        self.trainable, self.low_memory, self.last_skipped = trainable, low_memory, False
        self.n_trainable = <Py_ssize_t>gru_train_trainable_size(&self.c, cfg.trainable)
        self.offset = <Py_ssize_t>gru_train_trainable_offset(&self.c, cfg.trainable)
        if self.n_trainable == 0:
            raise ValueError("trainable: %r needs a model with a head" % trainable)
        self.grad = aligned_zeros(self.n_trainable)
        n_ws = gru_train_workspace_size_config(&self.c, &cfg)
        if n_ws == 0:
            raise ValueError("max_batch, max_steps: invalid (%d, %d)" % (max_batch, max_steps))
        self.workspace = aligned_zeros(n_ws)
        _check(gru_train_init_config(&self.tr, &self.c, &cfg, _fp(self.workspace), <size_t>n_ws))
        self.max_batch, self.max_steps = max_batch, max_steps
        self.return_sequences = return_sequences
        self.output_size = gru_model_output_size(&self.c)
        self.state_size = <int>gru_state_size(&self.c)
        self.opt_state = None

    def set_optimizer(self, str kind, float lr, float momentum=0.0, float weight_decay=0.0,
                      float beta1=0.9, float beta2=0.999, float eps=1e-8):
        """Choose the optimizer and zero its state."""
        _check(gru_optimizer_init(&self.opt, OPTIMIZERS[kind], lr))
        self.opt.momentum = momentum
        self.opt.weight_decay = weight_decay
        self.opt.beta1, self.opt.beta2, self.opt.eps = beta1, beta2, eps
        self.opt_state = aligned_zeros(gru_optimizer_state_size(&self.opt, <size_t>self.n_trainable))

    @property
    def optimizer_steps(self):
        return self.opt.step

    @property
    def optimizer_progress(self):
        """(step, beta1**step, beta2**step) kept by gru_optimizer_step: with
        params and opt_state, what a checkpoint saves to resume bit-exactly."""
        return (int(self.opt.step), float(self.opt.beta1_pow), float(self.opt.beta2_pow))

    @optimizer_progress.setter
    def optimizer_progress(self, value):
        step, b1, b2 = value
        self.opt.step = step
        self.opt.beta1_pow, self.opt.beta2_pow = b1, b2

    def forward(self, x, lengths=None, h0=None, bint want_h_last=False):
        """x [B, T, I] float32; lengths int32 [B] or None; h0 [B, S] or None.
        Returns (y, h_last or None)."""
        cdef int B = <int>x.shape[0], T = <int>x.shape[1]
        y = (np.empty((B, T, self.output_size), np.float32) if self.return_sequences
             else np.empty((B, self.output_size), np.float32))
        hl = np.empty((B, self.state_size), np.float32) if want_h_last else None
        cdef const float *xp = _cfp(x)
        cdef const int32_t *lp = _ip(lengths)
        cdef const float *hp = _cfp(h0)
        cdef float *yp = _fp(y)
        cdef float *hlp = _fp(hl)
        cdef int status
        self._inputs = (x, lengths)
        with nogil:
            status = gru_train_forward(&self.tr, xp, B, T, lp, hp, yp, hlp)
        _check(status)
        return y, hl

    def loss(self, str kind, target=None, labels=None):
        """Loss of the last forward (and its gradient, kept for backward)."""
        cdef float value = 0
        cdef const float *tp = _cfp(target)
        cdef const int32_t *lp = _ip(labels)
        _check(gru_train_loss(&self.tr, LOSSES[kind], tp, lp, &value))
        return value

    def backward(self, bint want_dx=False, bint want_dh0=False, x_shape=None):
        """Fill self.grad; return (dx, dh0) when asked (else None)."""
        dx = np.empty(x_shape, np.float32) if want_dx else None
        dh0 = np.empty((x_shape[0], self.state_size), np.float32) if want_dh0 else None
        cdef float *dxp = _fp(dx)
        cdef float *dhp = _fp(dh0)
        cdef float *gp = _fp(self.grad)
        cdef int status
        with nogil:
            status = gru_train_backward(&self.tr, gp, <size_t>self.n_trainable, dxp, dhp)
        _check(status)
        return dx, dh0

    def clip(self, float max_norm):
        """Clip self.grad to global norm max_norm (0: only measure); returns the norm."""
        cdef float norm = 0
        _check(gru_clip_grad_norm(_fp(self.grad), <size_t>self.n_trainable, max_norm, &norm))
        return norm

    def step(self):
        """One guarded optimizer update of the trainable params from grad
        (gru_optimizer_step_safe); returns False when it was refused for a
        non-finite value (nothing changed)."""
        cdef int status
        cdef float *pp = _fp(self.params) + self.offset
        cdef float *gp = _fp(self.grad)
        cdef float *sp = _fp(self.opt_state)
        with nogil:
            status = gru_optimizer_step_safe(&self.opt, pp, gp, sp, <size_t>self.n_trainable)
        self.last_skipped = status == GRU_TRAIN_SKIPPED
        if not self.last_skipped:
            _check(status)
        return not self.last_skipped

    cdef float _forward_loss(self, x, str kind, target, labels, lengths, y, h0,
                             h_last) except? -1:
        """Training forward + loss without the GIL; writes the outputs into y
        (preallocated) and returns the loss. h0 [B, state] (None: zeros) starts
        the sequences, h_last [B, state] (or None) receives their final states
        (truncated BPTT). Shared by train_batch and eval_batch."""
        cdef int B = <int>x.shape[0], T = <int>x.shape[1]
        cdef int loss_kind = LOSSES[kind]
        cdef const float *xp = _cfp(x)
        cdef const float *tp = _cfp(target)
        cdef const int32_t *labp = _ip(labels)
        cdef const int32_t *lp = _ip(lengths)
        cdef float *yp = _fp(y)
        cdef const float *hp = _cfp(h0)
        cdef float *hlp = _fp(h_last)
        cdef float value = 0
        cdef int status
        self._inputs = (x, lengths)  # the C trainer keeps pointers into them for backward
        with nogil:
            status = gru_train_forward(&self.tr, xp, B, T, lp, hp, yp, hlp)
            if status == GRU_OK:
                status = gru_train_loss(&self.tr, loss_kind, tp, labp, &value)
        _check(status)
        return value

    def train_batch(self, x, str kind, target, labels, lengths, float clip_norm, y, h0=None,
                    h_last=None):
        """gru_train_step (forward + loss + backward + clip + guarded update)
        without the GIL. Writes the outputs into y (preallocated); returns
        (loss, grad norm); last_skipped says whether a non-finite value left
        the weights unchanged. h0 / h_last as in _forward_loss (no gradient
        flows into h0)."""
        cdef gru_train_batch d
        d.x, d.batch, d.steps = _cfp(x), <int>x.shape[0], <int>x.shape[1]
        d.lengths, d.h0, d.loss_kind = _ip(lengths), _cfp(h0), LOSSES[kind]
        d.target, d.labels, d.y, d.h_last = _cfp(target), _ip(labels), _fp(y), _fp(h_last)
        cdef float *pp = _fp(self.params) + self.offset
        cdef float *gp = _fp(self.grad)
        cdef float *sp = _fp(self.opt_state)
        cdef float value = 0, norm = 0
        cdef int status
        self._inputs = (x, lengths)
        with nogil:
            status = gru_train_step(&self.tr, &self.opt, pp, gp, sp, &d, clip_norm, &value, &norm)
        self.last_skipped = status == GRU_TRAIN_SKIPPED
        if not self.last_skipped:
            _check(status)
        return value, norm

    def eval_batch(self, x, str kind, target, labels, lengths, y, h0=None, h_last=None):
        """forward + loss (no update); writes outputs into y, returns the loss."""
        return self._forward_loss(x, kind, target, labels, lengths, y, h0, h_last)
