"""One training step on large collocation sets: time against N, and peak memory.

Each measurement runs in a fresh Python process (peak RSS is per process), exactly as the issue's
acceptance check does: ``kp.solve("poisson2d", epochs=6, n_interior=N, n_boundary=max(200, N // 20),
n_eval=1000, optimizer="adam", threads=1)``, step time = training wall time over the 6 epochs / 6,
peak = ``ru_maxrss`` of that process.  Rows:

* ``N = 1e4`` and ``1e5`` full batch, MLP and KAN (the solve defaults, ``derivatives="auto"``: autograd
  for the MLP, forward jets for the KAN), with the default ``chunk_size`` (8192: 1e4 is two chunks,
  1e5 thirteen), and with ``--unchunked`` also ``chunk_size=10**9`` at 1e5, the step before chunking;
* a pool of ``1e6`` points trained with ``batch_size=1e4``.

Every row is repeated ``--reps`` times (fresh processes, interleaved over the rows so that load from
other processes hits them alike); the step time is the median, the peak the largest.  The machine's
load average (``/proc/loadavg``) before and after is in the output.

    nice python benchmarks/scale.py --reps 3 --unchunked --out benchmarks/results/scale.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

CHILD = r'''
import json, resource, sys, torch, kanpde as kp
torch.set_num_threads(1)
model, n, batch, chunk = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
kw = {} if batch == "none" else {"batch_size": int(batch)}
if chunk != "none":
    kw["chunk_size"] = int(chunk)
s = kp.solve("poisson2d", model=model, epochs=6, n_interior=n, n_boundary=max(200, n // 20), n_eval=1000,
             progress=False, threads=1, optimizer="adam", **kw)
w, e = s.history.wall_time, s.history.epoch
print(json.dumps({"step_s": (w[-1] - w[0]) / (e[-1] - e[0]),
                  "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
                  "chunking": s.history.meta.get("chunking", "off")}))
'''


def load() -> list[float]:
    """The 1, 5 and 15 minute load averages."""
    with open("/proc/loadavg") as f:
        return [float(v) for v in f.read().split()[:3]]


def measure(model: str, n: int, batch: int | None, chunk: int | None, timeout: float) -> dict:
    """One fresh process: seconds per step and peak RSS (GB)."""
    args = [sys.executable, "-c", CHILD, model, str(n), str(batch or "none"), str(chunk or "none")]
    out = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"{model} N={n} batch={batch} chunk={chunk} failed: {out.stderr[-800:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    """Measure, print a table, write the JSON."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="mlp,kan")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--unchunked", action="store_true", help="also time 1e5 with chunking off (about 2 GB)")
    ap.add_argument("--timeout", type=float, default=900.0)
    ap.add_argument("--out", default="benchmarks/results/scale.json")
    a = ap.parse_args()
    rows = []
    for model in a.models.split(","):
        rows += [(model, 10_000, None, None), (model, 100_000, None, None), (model, 1_000_000, 10_000, None)]
        if a.unchunked:
            rows.append((model, 100_000, None, 10**9))
    before = load()
    samples: dict[tuple, list[dict]] = {r: [] for r in rows}
    for rep in range(a.reps):
        for r in rows:
            samples[r].append(measure(*r, timeout=a.timeout))
            print(rep, r, samples[r][-1], flush=True)
    after = load()
    table = []
    for (model, n, batch, chunk), got in samples.items():
        table.append({"model": model, "n_interior": n, "batch_size": batch, "chunk_size": chunk,
                      "step_s": statistics.median(g["step_s"] for g in got), "steps_s": [g["step_s"] for g in got],
                      "peak_gb": max(g["peak_gb"] for g in got), "chunking": got[0]["chunking"]})

    def step(model, n, batch=None, chunk=None):
        return next(t["step_s"] for t in table if (t["model"], t["n_interior"], t["batch_size"], t["chunk_size"])
                    == (model, n, batch, chunk))

    ratios = {m: step(m, 100_000) / step(m, 10_000) for m in a.models.split(",")}
    res = {"command": "python benchmarks/scale.py " + " ".join(sys.argv[1:]), "machine": platform.processor()
           or platform.machine(), "cpus": os.cpu_count(), "load_before": before, "load_after": after,
           "reps": a.reps, "rows": table, "step_ratio_1e5_over_1e4": ratios}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=1) + "\n")
    print(f"load average before {before}, after {after}")
    print(f"{'model':5s} {'N':>9s} {'batch':>7s} {'chunk':>10s} {'step s':>8s} {'peak GB':>8s}")
    for t in table:
        print(f"{t['model']:5s} {t['n_interior']:9d} {t['batch_size'] or '-':>7} {t['chunk_size'] or 'auto':>10} "
              f"{t['step_s']:8.3f} {t['peak_gb']:8.2f}")
    print("step 1e5 / 1e4:", {m: round(r, 1) for m, r in ratios.items()})


if __name__ == "__main__":
    main()
