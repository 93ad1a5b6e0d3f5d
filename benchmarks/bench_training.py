"""Training speed and memory: pygru (gru_c BPTT + Adam) vs torch.nn.GRU + Linear
+ MSE + Adam, batch 32, T=50, one thread, same run.

    python benchmarks/bench_training.py [--repeats 30] [--sizes 16,32 16,64 40,128] [--no-memory]

Prints the median milliseconds per training step (forward, loss, backward,
optimizer update on one batch) for each, wall clock and process CPU time (the
machines are shared: CPU time is not inflated by other processes taking the
core), the ratio torch/pygru of each, and the peak
memory of a short `fit` in a fresh subprocess for each framework (growth of
the peak RSS, VmHWM, over the RSS after imports and data creation, the mark
reset through /proc/self/clear_refs; plus tracemalloc's peak of Python-tracked
allocations, which includes numpy buffers but not torch's). Never asserts on
speed.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np

from pygru._bench import pygru_training_step, torch_training_step

HERE = os.path.dirname(os.path.abspath(__file__))

B, T = 32, 50


def data(I, O, n=B, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, T, I)).astype(np.float32)
    y = rng.normal(size=(n, O)).astype(np.float32)
    return X, y


def time_pygru(I, H, repeats):
    """Median ms (wall, CPU) of one step: the same function `pygru bench --train` uses."""
    wall, cpu = pygru_training_step(I, H, B, T, repeats)
    return wall * 1e3, cpu * 1e3


def time_torch(I, H, repeats):
    wall, cpu = torch_training_step(I, H, B, T, repeats)
    return wall * 1e3, cpu * 1e3


MEMORY_CHILD = r"""
import json, sys, tracemalloc
import numpy as np
which, I, H, n, epochs = {which!r}, {I}, {H}, {n}, {epochs}
rng = np.random.default_rng(0)
X = rng.normal(size=(n, {T}, I)).astype(np.float32)
y = rng.normal(size=(n, 1)).astype(np.float32)
if which == "pygru":
    from pygru import GRUModel
    import pygru.training
    model = GRUModel(I, [H], output_size=1, seed=0)
else:
    import torch
    torch.set_num_threads(1)
    sys.path.insert(0, {here!r})
    from bench_training import torch_net
    net = torch_net(I, H)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
def status(key):
    with open("/proc/self/status") as f:
        return int(next(l for l in f if l.startswith(key)).split()[1])
try:  # reset the peak-RSS mark (Linux >= 4.0), so that imports do not count
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
except OSError:
    pass
base = status("VmRSS:")
tracemalloc.start()
if which == "pygru":
    model.fit(X, y, epochs=epochs, batch_size={B}, progress=False, seed=0)
else:
    for _ in range(epochs):
        perm = torch.randperm(n)
        for s in range(0, n, {B}):
            idx = perm[s:s + {B}]
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(net(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()
peak_py = tracemalloc.get_traced_memory()[1]
peak = status("VmHWM:")
print(json.dumps({{"rss_growth_kb": peak - base, "rss_peak_kb": peak, "tracemalloc_peak_kb": peak_py // 1024}}))
"""


def memory(which, I, H, n=256, epochs=2):
    code = MEMORY_CHILD.format(here=HERE, which=which, I=I, H=H, n=n,
                               epochs=epochs, T=T, B=B)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=600)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--sizes", nargs="*", default=["16,32", "16,64", "40,128"])
    ap.add_argument("--no-memory", action="store_true")
    args = ap.parse_args()
    try:
        import torch  # noqa: F401
        have_torch = True
    except ImportError:
        have_torch = False
        print("torch not installed: pygru only (pip install torch==2.13.0)")
    print(f"batch {B}, T={T}, one thread; median ms per training step (forward+loss+backward+Adam)")
    print(f"{'(I, H)':>10} {'pygru ms':>10} {'torch ms':>10} {'ratio':>7}   "
          f"{'pygru cpu':>10} {'torch cpu':>10} {'ratio':>7}")
    for spec in args.sizes:
        I, H = (int(v) for v in spec.split(","))
        p, pc = time_pygru(I, H, args.repeats)
        t, tc = time_torch(I, H, args.repeats) if have_torch else (float("nan"), float("nan"))
        print(f"{f'({I}, {H})':>10} {p:10.3f} {t:10.3f} {t / p:6.2f}x   {pc:10.3f} {tc:10.3f} {tc / pc:6.2f}x",
              flush=True)
    if args.no_memory:
        return
    print("\npeak memory of fit (256 sequences, 2 epochs, batch 32), fresh process each:")
    print(f"{'(I, H)':>10} {'framework':>10} {'peak RSS growth KB':>20} {'tracemalloc peak KB':>20}")
    for spec in args.sizes:
        I, H = (int(v) for v in spec.split(","))
        for which in (["pygru", "torch"] if have_torch else ["pygru"]):
            m = memory(which, I, H)
            if "error" in m:
                print(f"{f'({I}, {H})':>10} {which:>10} error: {m['error']}")
            else:
                print(f"{f'({I}, {H})':>10} {which:>10} {m['rss_growth_kb']:>20} {m['tracemalloc_peak_kb']:>20}")


if __name__ == "__main__":
    main()
