"""Timing of one training step, shared by `pygru bench --train` and
benchmarks/bench_training.py so that both measure the same thing the same way:
a GRU(I, H) + Linear(H, 1) on one batch of random data (batch B, T steps),
MSE loss, Adam lr 1e-3; one step = forward, loss, backward, update. pygru
runs its C trainer on that batch; torch runs one thread. Warm-up steps first,
then the median of `repeat` timed steps, wall clock and process CPU time.

Also the torch classifier that benchmarks/bench_gru_vs_lstm.py (an LSTM) and
tools/quant_accuracy.py (a GRU whose weights pygru then runs) train alike."""
import statistics
import time

import numpy as np

WARMUP = 3


def training_data(I, batch, steps, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(batch, steps, I)).astype(np.float32)
    y = rng.normal(size=(batch, 1)).astype(np.float32)
    return X, y


def median_step(step, repeat, warmup=WARMUP):
    """(wall, cpu) medians in seconds of `repeat` calls of step()."""
    for _ in range(warmup):
        step()
    wall, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        step()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def pygru_training_step(I, H, batch, steps, repeat):
    from . import training
    from .model import GRUModel
    model = GRUModel(I, [H], output_size=1, seed=0)
    X, y = training_data(I, batch, steps)
    trainer = training.make_trainer(model, batch, steps)
    trainer.set_optimizer("adam", 1e-3)
    out = np.empty((batch, 1), np.float32)
    return median_step(lambda: trainer.train_batch(X, "mse", y, None, None, 0.0, out), repeat)


def torch_training_step(I, H, batch, steps, repeat):
    import torch
    torch.set_num_threads(1)
    torch.manual_seed(0)
    gru, head = torch.nn.GRU(I, H, batch_first=True), torch.nn.Linear(H, 1)
    opt = torch.optim.Adam(list(gru.parameters()) + list(head.parameters()), lr=1e-3)
    X, y = (torch.from_numpy(a) for a in training_data(I, batch, steps))

    def step():
        opt.zero_grad()
        out, _ = gru(X)
        torch.nn.functional.mse_loss(head(out[:, -1]), y).backward()
        opt.step()
    return median_step(step, repeat)


def torch_classifier(ds, rnn, hidden, epochs, batch, lr, seed):
    """torch.nn.`rnn` ("GRU" or "LSTM")(I, hidden) + Linear(hidden, classes)
    on the last step (attributes `rnn`, `head`), trained on the data set `ds`
    as GRUModel.fit trains a classifier: cross-entropy, Adam(lr), batches of
    `batch` shuffled each epoch by numpy's default_rng(seed); one torch thread,
    torch seeded with `seed`. Returns the trained module."""
    import torch
    torch.manual_seed(seed)
    torch.set_num_threads(1)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = getattr(torch.nn, rnn)(ds.input_size, hidden, batch_first=True)
            self.head = torch.nn.Linear(hidden, ds.num_classes)

        def forward(self, x):
            out, _ = self.rnn(x)
            return self.head(out[:, -1])

    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-8)
    X, y = torch.from_numpy(ds.X_train), torch.from_numpy(ds.y_train.astype(np.int64))
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        perm = rng.permutation(len(X))
        for i in range(0, len(X), batch):
            idx = torch.from_numpy(perm[i:i + batch])
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(X[idx]), y[idx]).backward()
            opt.step()
    return net
