"""Command line: ``kanpde list | solve | bench | plot`` — a thin layer over the Python API."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from kanpde.bench.executors import EXECUTORS
from kanpde.config import DTYPES, OPTIMIZERS

__all__ = ["main", "build_parser"]


class UsageError(Exception):
    """A user mistake reported as one line with exit code 2."""


def _ints(text: str) -> list[int]:
    try:
        vals = [int(v) for v in text.replace(" ", "").split(",") if v != ""]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not vals:
        raise argparse.ArgumentTypeError("expected at least one integer")
    return vals


def _schedule(text: str) -> dict[int, int]:
    try:
        return {int(a): int(b) for a, b in (item.split(":") for item in text.split(",") if item)}
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected EPOCH:GRID pairs such as 0:5,200:10, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``kanpde`` command."""
    p = argparse.ArgumentParser(
        prog="kanpde", description="Physics-informed KAN and MLP networks for ODEs/PDEs, compared fairly.",
        epilog="Run `kanpde COMMAND --help` for the options of a command.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    ls = sub.add_parser("list", help="list catalog problems, benchmark suites or models",
                        description="List the catalog problems (name, input/output dimensions, tags, equation), "
                                    "the shipped benchmark suites, or the registered models.")
    ls.add_argument("what", nargs="?", default="problems", choices=["problems", "suites", "models"],
                    help="what to list (default: problems)")
    ls.add_argument("--tag", help="only problems with this tag (e.g. ode, elliptic, parabolic)")

    so = sub.add_parser("solve", help="train one model on one problem",
                        description="Train one PINN on a catalog problem and print its final rel L2, max error, "
                                    "parameter count and wall time. Options not given come from the problem's "
                                    "recommended budget.")
    so.add_argument("problem", help="catalog problem name (see `kanpde list`)")
    so.add_argument("--model", default="mlp", help="model name: mlp or kan (default: mlp)")
    so.add_argument("--widths", type=_ints, help="layer widths including input and output, e.g. 2,10,1 "
                                                "(default: the model's default hidden widths)")
    so.add_argument("--epochs", type=int, help="optimizer iterations (Adam steps or L-BFGS iterations)")
    so.add_argument("--optimizer", choices=list(OPTIMIZERS), help="optimizer")
    so.add_argument("--lr", type=float, help="Adam learning rate")
    so.add_argument("--seed", type=int, default=0, help="seed of initialisation and sampling (default: 0)")
    so.add_argument("--grid", type=int, help="KAN: grid intervals per edge")
    so.add_argument("--k", type=int, help="KAN: spline degree")
    so.add_argument("--basis", help="KAN: basis of the edge functions (bspline, chebyshev, legendre, rbf, fourier)")
    so.add_argument("--degree", type=int, help="KAN: polynomial degree (chebyshev, legendre) or frequencies (fourier)")
    so.add_argument("--grid-schedule", type=_schedule, metavar="EPOCH:G,...",
                    help="KAN grid extension, e.g. 0:5,500:10,1000:20")
    so.add_argument("--activation", help="MLP: activation (tanh, sin, silu)")
    so.add_argument("--dtype", choices=list(DTYPES), help="floating point precision (default float64)")
    so.add_argument("--device", help="torch device, e.g. cpu or cuda (default: cpu)")
    so.add_argument("--threads", type=int, default=1,
                    help="torch CPU threads (default: 1; PINN-sized networks run fastest single-threaded, and "
                         "extra threads slow down badly on a busy machine)")
    so.add_argument("--max-time", type=float, help="stop training after this many seconds")
    so.add_argument("--hard-constraints", action="store_true",
                    help="satisfy Dirichlet and initial values exactly (u = g + phi * N) instead of as loss terms")
    so.add_argument("--n-interior", type=int, help="collocation points inside the domain (the pool with --batch-size)")
    so.add_argument("--batch-size", type=int,
                    help="train each Adam epoch on a fresh random subset of this many interior points")
    so.add_argument("--chunk-size", type=int,
                    help="split larger terms into chunks of this many points in each step (default 8192; memory "
                         "stays bounded, the gradient is the same)")
    so.add_argument("--log-every", type=int, help="epochs between error evaluations")
    so.add_argument("--plot", metavar="DIR", help="write the solution/error field and the training history here")
    so.add_argument("--save", metavar="FILE", help="save the trained solution (load with kanpde.load)")
    so.add_argument("--quiet", action="store_true", help="no progress bar")
    so.add_argument("--dry-run", action="store_true",
                    help="print the resolved model and training configuration (budget + options + seed) and exit")

    be = sub.add_parser("bench", help="run a benchmark suite (KAN vs MLP at equal budget)",
                        description="Run a suite of problems x models x seeds, write results files "
                                    "(runs.jsonl, runs.csv, summary.csv, report.md) and figures to --out, and "
                                    "print the summary table. Suites: quick, decay_study, kan_poisson, catalog, "
                                    "full (see `kanpde list suites`), or a path to a suite .json file.")
    be.add_argument("suite", help="suite name or path to a suite .json")
    be.add_argument("--out", metavar="DIR", help="results directory (default: runs/SUITE)")
    be.add_argument("--seeds", type=_ints, help="comma-separated seeds, replacing the suite's, e.g. 0,1,2")
    be.add_argument("--problems", type=lambda s: [p for p in s.split(",") if p],
                    help="comma-separated subset of the suite's problems, e.g. exp_decay,poisson2d (run keys are "
                         "unchanged, so the full suite later resumes from these runs)")
    be.add_argument("--resume", action="store_true",
                    help="keep finished runs in --out and run only the missing ones (after Ctrl-C or a crash); "
                         "without it, earlier results are moved to runs.jsonl.<time>.bak")
    be.add_argument("--executor", choices=sorted(EXECUTORS),
                    help="where runs train: serial (this process), process (a local pool), ray (a Ray cluster or "
                         "a local Ray instance; needs pip install \"kanpde[ray]\"); default: process when more "
                         "than one job runs, else serial")
    be.add_argument("--address", metavar="ADDR",
                    help="ray: address of a running cluster (auto, or HOST:PORT); default: start a local instance")
    be.add_argument("--jobs", type=int, help="parallel processes or local Ray CPUs (default: one per CPU core)")
    be.add_argument("--threads", type=int,
                    help="torch threads per run (default: 1, the fastest at PINN sizes; the same numbers under "
                         "every executor)")
    be.add_argument("--device", help="torch device for every run, e.g. cuda (default: the suite's, cpu)")
    be.add_argument("--dtype", choices=list(DTYPES), help="precision for every run")
    be.add_argument("--epochs", type=int, help="override the epochs of every run (e.g. for a smoke test)")
    be.add_argument("--tuned", metavar="DB",
                    help="give each (problem, model family) with an Optuna study in DB (a SQLite file or storage "
                         "URL written by `kanpde tune`) its best configuration; rows say tuned true/false")
    be.add_argument("--no-plots", action="store_true", help="do not draw figures")
    be.add_argument("--quiet", action="store_true", help="no progress bars or per-run lines")

    tu = sub.add_parser("tune", help="tune a model family on a problem with Optuna (needs kanpde[tune])",
                        description="Run, or continue, an Optuna study (TPE sampler, median pruner on the logged "
                                    "rel L2) over the documented search space of a model family, every trial "
                                    "under the same budget; print the best configuration and the command that "
                                    "reproduces it. The study is stored in --storage, so running the same "
                                    "command again continues it.")
    tu.add_argument("problem", help="catalog problem name (see `kanpde list`)")
    tu.add_argument("--model", default="kan", help="model family with a search space: kan or mlp (default: kan)")
    tu.add_argument("--trials", type=int, default=20, help="trials to run in this call (default: 20)")
    tu.add_argument("--budget", default="60s",
                    help="per-trial budget: epochs (e.g. 2000) or training seconds (e.g. 60s); default: 60s")
    tu.add_argument("--storage", metavar="URL",
                    help="Optuna RDB URL such as sqlite:///runs/tune.db (default: sqlite:///runs/tune.db)")
    tu.add_argument("--study", help="study name (default: PROBLEM-MODEL-BUDGET)")
    tu.add_argument("--seed", type=int, default=0, help="seed of every trial's training and of the sampler")
    tu.add_argument("--executor", choices=sorted(EXECUTORS), default="serial",
                    help="where trials train, --jobs at once: serial (default), process (a local pool), ray (a Ray "
                         "cluster with --address, or a local instance); only this process writes the storage")
    tu.add_argument("--jobs", type=int, help="trials at once (default: one per CPU core; 1 for serial)")
    tu.add_argument("--address", metavar="ADDR", help="ray: address of a running cluster (auto, or HOST:PORT)")

    pl = sub.add_parser("plot", help="draw the figures of a results directory or a saved solution",
                        description="Figures of a benchmark results directory: convergence vs epoch and time, "
                                    "final error vs parameters, FLOPs and time, solution/reference/error fields. "
                                    "Given a saved solution file (.pt), its field and training history.")
    pl.add_argument("path", help="results directory (from `kanpde bench`) or solution file (from --save)")
    pl.add_argument("--out", metavar="DIR", help="where to write figures (default: PATH/figures, or next to the file)")
    pl.add_argument("--format", default="png", choices=["png", "pdf", "svg"], help="image format (default: png)")
    pl.add_argument("--dpi", type=int, default=110, help="resolution of raster images (default: 110)")
    pl.add_argument("--no-fields", action="store_true", help="skip the solution/error field figures")
    return p


# -- commands ------------------------------------------------------------------------------
def _cmd_list(a) -> int:
    if a.what == "suites":
        from kanpde.bench import SUITES

        w = max(len(n) for n in SUITES)
        for n, s in SUITES.items():
            print(f"{n:<{w}}  {s.get('description', '')}")
        return 0
    if a.what == "models":
        from kanpde.models import MODELS

        for n, target in MODELS.items():
            print(f"{n:<6} {target}")
        return 0
    import kanpde as kp

    names = kp.list_problems(a.tag)
    if not names:
        raise UsageError(f"no problem has tag {a.tag!r}")
    rows = []
    for n in names:
        p = kp.get_problem(n)
        rows.append((n, f"{p.d_in}->{p.d_out}", ",".join(p.tags), p.equation))
    w = [max(len(r[i]) for r in rows + [("name", "dims", "tags", "")]) for i in range(3)]
    print(f"{'name':<{w[0]}}  {'dims':<{w[1]}}  {'tags':<{w[2]}}  equation")
    for r in rows:
        print(f"{r[0]:<{w[0]}}  {r[1]:<{w[1]}}  {r[2]:<{w[2]}}  {r[3]}")
    return 0


def _cmd_solve(a) -> int:
    import kanpde as kp
    from kanpde.api import get_problem

    get_problem(a.problem)  # unknown names fail here, listing the known ones
    kw = {k: v for k, v in {"epochs": a.epochs, "optimizer": a.optimizer, "lr": a.lr, "grid": a.grid, "k": a.k,
                            "basis": a.basis, "degree": a.degree, "grid_schedule": a.grid_schedule,
                            "activation": a.activation, "dtype": a.dtype,
                            "device": a.device, "threads": a.threads, "max_time": a.max_time,
                            "log_every": a.log_every, "hard_constraints": a.hard_constraints or None,
                            "n_interior": a.n_interior, "batch_size": a.batch_size,
                            "chunk_size": a.chunk_size}.items()
          if v is not None}
    if a.dry_run:
        import dataclasses

        from kanpde.resolve import resolve

        prob, net, cfg = resolve(a.problem, a.model, widths=a.widths, options={**kw, "seed": a.seed})
        arch = getattr(net, "widths", None)
        print(f"{prob.name}: {type(net).__name__}{list(arch) if arch is not None else ''}, "
              f"{sum(p.numel() for p in net.parameters() if p.requires_grad)} params")
        default = kp.TrainConfig()
        for f in dataclasses.fields(cfg):
            v = getattr(cfg, f.name)
            print(f"  {f.name} = {v!r}" + ("" if v != getattr(default, f.name) else "  (default)"))
        return 0
    t0 = time.perf_counter()
    sol = kp.solve(a.problem, model=a.model, widths=a.widths, seed=a.seed, progress=not a.quiet, **kw)
    total = time.perf_counter() - t0
    h = sol.history
    arch = getattr(sol.model, "widths", None)
    name = f"{type(sol.model).__name__}{list(arch) if arch is not None else ''}"
    if a.save:
        Path(a.save).parent.mkdir(parents=True, exist_ok=True)
        sol.save(a.save)
    if a.plot:
        out = Path(a.plot)
        out.mkdir(parents=True, exist_ok=True)
        kp.plot.field(sol, save=out / f"{sol.problem.name}_field.png")
        kp.plot.history(h, title=f"{sol.problem.name}: {name}", save=out / f"{sol.problem.name}_history.png")
    extra = " [diverged]" if h.diverged else ""
    print(f"{sol.problem.name} {name}: rel L2 {h.final_rel_l2:.3e}, max error {h.max_err[-1]:.3e}, "
          f"{sol.n_params} params, {sol.n_flops} FLOPs/point, {h.epoch[-1]} epochs, "
          f"wall {h.wall_time[-1]:.2f} s training ({total:.2f} s total){extra}")
    if a.save:
        print(f"saved {a.save}")
    if a.plot:
        print(f"figures in {a.plot}")
    return 0


def _cmd_bench(a) -> int:
    from kanpde import bench
    from kanpde.results import RUNS

    suite = bench.get_suite(a.suite)
    out = Path(a.out or Path("runs") / suite.name)
    if a.address and a.executor not in (None, "ray"):
        raise UsageError(f"--address applies to --executor ray, not {a.executor!r}")
    executor = "ray" if a.address and a.executor is None else a.executor
    t0 = time.perf_counter()
    try:
        res = bench.run(suite, out, executor=executor, address=a.address, seeds=a.seeds, resume=a.resume,
                        problems=a.problems, jobs=a.jobs, threads=a.threads, device=a.device, dtype=a.dtype,
                        epochs=a.epochs, progress=not a.quiet, tuned=a.tuned)
    except (ImportError, FileNotFoundError) as e:
        raise UsageError(str(e)) from None
    except KeyboardInterrupt:
        print(f"\ninterrupted: finished runs are saved in {out}; continue with "
              f"`kanpde bench {a.suite} --out {out} --resume`", file=sys.stderr)
        return 130
    failed = [r for r in bench.read_jsonl(out / RUNS) if r.get("status") == "error"]
    print()
    print(bench.report(res))
    ver = bench.verdict_report(res)
    if ver:
        print("\n" + ver)
    cmd = " ".join(["kanpde", "bench", a.suite, "--out", str(out)]
                   + (["--seeds", ",".join(map(str, a.seeds))] if a.seeds else [])
                   + (["--problems", ",".join(a.problems)] if a.problems else [])
                   + (["--epochs", str(a.epochs)] if a.epochs else [])
                   + (["--tuned", a.tuned] if a.tuned else []))
    bench.write_report(out, suite, res, cmd)
    figs = []
    if not a.no_plots and len(res):
        from kanpde import plot

        figs = plot.save_all(res, out / "figures")
    print(f"\n{len(res)} runs in {out} (runs.jsonl, runs.csv, summary.csv, report.md"
          + (f", {len(figs)} figures in {out / 'figures'}" if figs else "") + f"); {time.perf_counter() - t0:.1f} s")
    for r in failed:
        print(f"FAILED {r['problem']} {r['label']} seed {r['seed']}: {r.get('error')}", file=sys.stderr)
    return 1 if failed else 0


def _cmd_tune(a) -> int:
    from kanpde.tune import trial_options, tune

    storage = a.storage or "sqlite:///runs/tune.db"
    if storage.startswith("sqlite:///") and not storage.startswith("sqlite:////") and a.storage is None:
        Path("runs").mkdir(exist_ok=True)
    budget = int(a.budget) if a.budget.isdigit() else a.budget
    try:
        if a.address and a.executor != "ray":
            raise UsageError(f"--address applies to --executor ray, not {a.executor!r}")
        st = tune(a.problem, a.model, trials=a.trials, budget=budget, storage=storage, study=a.study, seed=a.seed,
                  executor=a.executor, jobs=a.jobs, address=a.address)
    except ImportError as e:
        raise UsageError(str(e)) from None
    except KeyboardInterrupt:
        print(f"\ninterrupted: finished trials are kept in {storage}; the same command continues the study",
              file=sys.stderr)
        return 130
    done = [t for t in st.trials if t.value is not None and t.state.name == "COMPLETE"]
    print(f"study {st.study_name!r} in {storage}: {len(st.trials)} trials ({len(done)} complete)")
    if not done:
        print("no trial completed", file=sys.stderr)
        return 1
    best = st.best_trial
    opts = trial_options(a.model, best.params)
    from kanpde.api import get_problem
    from kanpde.tune import parse_budget

    prob = get_problem(a.problem)
    widths = ",".join(map(str, [prob.n_features, *opts.pop("hidden"), prob.d_out]))
    opts.update(parse_budget(budget))
    flags = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in opts.items())
    print(f"best: trial {best.number}, rel L2 {best.value:.3e}, params {best.params}")
    for t in done:
        if t.user_attrs.get("recommended"):
            print(f"recommended configuration: trial {t.number}, rel L2 {t.value:.3e} under the same budget")
    print(f"reproduce: kanpde solve {a.problem} --model {a.model} --widths {widths} {flags} --seed {a.seed}")
    return 0


def _cmd_plot(a) -> int:
    from kanpde import plot

    path = Path(a.path)
    if path.is_file() and path.suffix != ".jsonl":
        import kanpde as kp

        sol = kp.load(path)
        out = Path(a.out) if a.out else path.parent
        out.mkdir(parents=True, exist_ok=True)
        stem = path.stem
        plot.field(sol).savefig(out / f"{stem}_field.{a.format}", dpi=a.dpi)
        plot.history(sol.history, title=f"{sol.problem.name}").savefig(out / f"{stem}_history.{a.format}", dpi=a.dpi)
        print(f"wrote {out / f'{stem}_field.{a.format}'} and {out / f'{stem}_history.{a.format}'}")
        return 0
    if not path.exists():
        raise UsageError(f"{path} does not exist; give a results directory or a saved solution file")
    root = path.parent if path.is_file() else path
    out = Path(a.out) if a.out else root / "figures"
    paths = plot.save_all(path, out, fields=not a.no_fields, fmt=a.format, dpi=a.dpi)
    for p in paths:
        print(p)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``kanpde`` command; returns the exit code."""
    parser = build_parser()
    a = parser.parse_args(argv)
    if a.command is None:
        parser.print_help()
        return 2
    cmd = {"list": _cmd_list, "solve": _cmd_solve, "bench": _cmd_bench, "tune": _cmd_tune, "plot": _cmd_plot}[a.command]
    try:
        return cmd(a)
    except (UsageError, ValueError, TypeError, FileNotFoundError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        print(f"kanpde {a.command}: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
