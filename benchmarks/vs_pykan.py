"""Per-step time of a PINN on poisson2d: kanpde vs pykan 0.2.8 vs an equal-parameter MLP.

Model: KAN[2,10,1] G=5 k=3 (300 parameters in both libraries) on the same collocation points
(1000 interior Sobol points plus 256 boundary points), CPU, float64 then float32.

* pykan step: the model's forward on points with ``requires_grad``, the Laplacian by double
  autograd (``torch.autograd.grad`` with ``create_graph=True``: the gradient, then one more pass
  per coordinate, as pykan's PDE example does through its ``batch_jacobian``), mean-square PDE
  and boundary loss, backward, Adam step.  Timed twice: as
  ``fit`` runs it (``save_act=False, symbolic_enabled=False``; the faster of the two, and the
  figure the speedup uses) and with pykan's constructor defaults (activations saved, symbolic
  branch on).
* MLP step: the same code as the pykan step with a plain ``kp.MLP([2,15,15,1])`` (301 parameters),
  which gives the pykan/MLP ratio with identical derivative code.
* kanpde step: the trainer's own step (``Run(...).step()``, the path ``kp.train`` runs; forward
  derivatives by jets).

All models step in turn (interleaved) in one process; the median over ``--reps`` rounds after
``--warmup`` is reported.  ``--clock cpu`` (with ``--threads 1``) times each step by the computing
thread's CPU time instead of the wall clock, leaving out the time spent waiting for a core on a
machine shared with other jobs.  pykan runs inside a temporary directory with ``auto_save=False`` so
that it writes nothing into the working directory.  Needs the optional extra ``compare``
(``pip install "kanpde[compare]"``, i.e. ``pykan==0.2.8``); without it the script says so and exits 0.

    python benchmarks/vs_pykan.py --threads 1 --clock cpu --out benchmarks/results/vs_pykan.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

import kanpde as kp
from kanpde.train import Run

N_INTERIOR = 1000
N_BOUNDARY = 256


@contextlib.contextmanager
def _default_dtype(dtype: torch.dtype):
    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


def pinn_stepper(model: torch.nn.Module, xi: torch.Tensor, xb: torch.Tensor, f: torch.Tensor):
    """A function doing one Adam step of the pykan-example PINN loss for ``model``."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    xi = xi.detach().clone().requires_grad_(True)

    def step() -> float:
        opt.zero_grad()
        u = model(xi)
        g = torch.autograd.grad(u.sum(), xi, create_graph=True)[0]
        lap = sum(torch.autograd.grad(g[:, i].sum(), xi, create_graph=True)[0][:, i : i + 1] for i in range(2))
        loss = ((-lap - f) ** 2).mean() + (model(xb) ** 2).mean()
        loss.backward()
        opt.step()
        return loss.item()

    return step


def measure(dtype: str, reps: int, warmup: int, tmp: str, clock: str = "wall") -> dict:
    """Median step times (seconds) of every contender at one precision."""
    from kan import KAN as PyKAN

    tdt = kp.TrainConfig(dtype=dtype).torch_dtype
    prob = kp.get_problem("poisson2d")
    cfg = kp.TrainConfig(epochs=reps + warmup, optimizer="adam", lr=1e-3, n_interior=N_INTERIOR,
                         n_boundary=N_BOUNDARY, progress=False, dtype=dtype, seed=0)
    kan = kp.KAN([2, 10, 1], grid=5, k=3, seed=0)
    run = Run(prob, kan, cfg, ())
    # the same collocation points for everyone (the box is already [-1, 1]^2, so no input scaling)
    pts = run.loss.points()  # the residual's points first, then the boundary conditions'
    names = list(pts)
    xi = torch.as_tensor(pts[names[0]], dtype=tdt)
    xb = torch.cat([torch.as_tensor(pts[n], dtype=tdt) for n in names[1:]])
    f = 2 * torch.pi**2 * torch.sin(torch.pi * xi[:, :1]) * torch.sin(torch.pi * xi[:, 1:2])

    with _default_dtype(tdt):
        fast = PyKAN(width=[2, 10, 1], grid=5, k=3, seed=0, auto_save=False, ckpt_path=os.path.join(tmp, "model"),
                     save_act=False, symbolic_enabled=False, device="cpu")
        default = PyKAN(width=[2, 10, 1], grid=5, k=3, seed=0, auto_save=False, ckpt_path=os.path.join(tmp, "model"),
                        device="cpu")
    pykan_params = sum(p.numel() for n, p in fast.named_parameters() if n.startswith("act_fun") and p.requires_grad
                       and not n.endswith("mask"))
    h = min(range(2, 100), key=lambda w: abs(w * w + 5 * w + 1 - pykan_params))
    mlp = kp.MLP([2, h, h, 1], seed=0).to(tdt)
    steppers = {"kanpde": run.step, "pykan": pinn_stepper(fast, xi, xb, f),
                "pykan_default": pinn_stepper(default, xi, xb, f), "mlp": pinn_stepper(mlp, xi, xb, f)}
    times: dict[str, list[float]] = {k: [] for k in steppers}
    now = time.thread_time if clock == "cpu" else time.perf_counter
    for i in range(warmup + reps):
        for name, step in steppers.items():
            t = now()
            step()
            if i >= warmup:
                times[name].append(now() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    return {"dtype": dtype, "kan_params": kan.count_params(), "pykan_params": pykan_params,
            "mlp": f"MLP[2,{h},{h},1]", "mlp_params": mlp.count_params(),
            **{f"{k}_ms": v * 1e3 for k, v in med.items()},
            "speedup_kanpde_vs_pykan": med["pykan"] / med["kanpde"],
            "speedup_kanpde_vs_pykan_default": med["pykan_default"] / med["kanpde"],
            "pykan_over_mlp": med["pykan"] / med["mlp"], "pykan_default_over_mlp": med["pykan_default"] / med["mlp"],
            "kanpde_over_mlp": med["kanpde"] / med["mlp"]}


def main(argv: list[str] | None = None) -> dict | None:
    """Time every contender at float64 and float32, print a table and return the results."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=30, help="timed rounds (median reported)")
    ap.add_argument("--warmup", type=int, default=5, help="untimed rounds first")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    ap.add_argument("--dtypes", default="float64,float32", help="comma-separated precisions")
    ap.add_argument("--clock", default="wall", choices=["wall", "cpu"],
                    help="time steps by the wall clock or by the computing thread's CPU time (needs --threads 1)")
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    args = ap.parse_args(argv)
    if args.clock == "cpu" and args.threads != 1:
        ap.error(f"--clock cpu times one thread; it needs --threads 1, got {args.threads}")
    try:
        import kan  # noqa: F401
    except ImportError as e:
        print(f"vs_pykan: pykan is not installed ({e}); install the optional extra with "
              f"pip install \"kanpde[compare]\" (pykan==0.2.8). Nothing to compare; exiting.")
        return None
    from importlib.metadata import version

    if args.threads:
        torch.set_num_threads(args.threads)
    out_path = Path(args.out).resolve() if args.out else None
    cwd = os.getcwd()
    rows = []
    print(f"poisson2d PINN step, KAN[2,10,1] G=5 k=3, {N_INTERIOR} interior + {N_BOUNDARY} boundary points, "
          f"{torch.get_num_threads()} thread(s), median of {args.reps}, pykan {version('pykan')}")
    print(f"{'dtype':<8} {'kanpde ms':>9} {'pykan ms':>9} {'pykan-def ms':>12} {'MLP ms':>7} {'kanpde speedup':>14} "
          f"{'pykan/MLP':>9} {'pykan-def/MLP':>13} {'kanpde/MLP':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        try:
            for dtype in args.dtypes.split(","):
                r = measure(dtype, args.reps, args.warmup, tmp, args.clock)
                rows.append(r)
                print(f"{dtype:<8} {r['kanpde_ms']:9.2f} {r['pykan_ms']:9.2f} {r['pykan_default_ms']:12.2f} "
                      f"{r['mlp_ms']:7.2f} {r['speedup_kanpde_vs_pykan']:13.1f}x {r['pykan_over_mlp']:8.1f}x "
                      f"{r['pykan_default_over_mlp']:12.1f}x {r['kanpde_over_mlp']:9.2f}x", flush=True)
            leftovers = os.listdir(tmp)
        finally:
            os.chdir(cwd)
    if leftovers:
        print(f"note: pykan wrote {leftovers} (in the temporary directory, now removed)", file=sys.stderr)
    result = {"benchmark": "vs_pykan", "problem": "poisson2d", "model": "KAN[2,10,1] G=5 k=3",
              "n_interior": N_INTERIOR, "n_boundary": N_BOUNDARY, "threads": torch.get_num_threads(),
              "reps": args.reps, "clock": args.clock, "pykan": version("pykan"), "torch": torch.__version__,
              "python": platform.python_version(), "machine": platform.machine(),
              "unit": "ms per step (median)", "rows": rows}
    if out_path:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
