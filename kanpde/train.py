"""The trainer: ``train(problem, model, config) -> Solution``."""

from __future__ import annotations

import math
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from kanpde import methods
from kanpde.config import TrainConfig
from kanpde.history import History
from kanpde.loss import ResidualLoss
from kanpde.methods import Method
from kanpde.problem import Problem
from kanpde.runtime import environment, torch_threads
from kanpde.solution import Solution, count_flops, count_params
from kanpde.unknowns import UnknownSet

__all__ = ["train", "check_model", "Callback", "Run", "run_methods"]

#: called at every log point with (epoch, model, history); returning True stops training
Callback = Callable[[int, nn.Module, History], Any]


def check_model(problem: Problem, model: nn.Module) -> None:
    """Raise a clear error if ``model`` cannot map the problem's inputs to its outputs."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    d_in, d_out = getattr(model, "d_in", None), getattr(model, "d_out", None)
    if d_in is not None and d_in != problem.n_features:
        extra = (f", {problem.d_in} coordinates with {list(problem.periodic_dims)} fed as (cos, sin) pairs by "
                 f"Periodic(hard=True)" if problem.periodic_dims else " (coordinates: space then time)")
        raise ValueError(f"model takes {d_in} inputs but problem {problem.name!r} has {problem.n_features}{extra}; "
                         f"use widths starting with {problem.n_features}")
    if d_out is not None and d_out != problem.d_out:
        raise ValueError(f"model gives {d_out} outputs but problem {problem.name!r} has {problem.d_out} "
                         f"unknowns; use widths ending with {problem.d_out}")
    p = next(iter(model.parameters()), None)
    probe = torch.zeros(2, problem.n_features, dtype=p.dtype if p is not None else torch.float64,
                        device=p.device if p is not None else "cpu")
    try:
        with torch.no_grad():
            out = model(probe)
    except RuntimeError as e:
        raise ValueError(f"model failed on a (2, {problem.n_features}) input of problem {problem.name!r}: {e}") from e
    if out.dim() != 2 or out.shape[1] != problem.d_out:
        raise ValueError(f"model output has shape {tuple(out.shape)} for 2 points, but problem {problem.name!r} "
                         f"needs (2, {problem.d_out})")


#: a loss above ``DIVERGENCE_FACTOR`` times the best loss so far, and above the first loss of the run,
#: for ``DIVERGENCE_PATIENCE`` consecutive epochs counts as divergence: training stops and the best
#: weights are restored (a NaN or inf loss stops at once, restoring the last finite weights)
DIVERGENCE_FACTOR = 1e6
#: points per forward pass when measuring the error
EVAL_CHUNK = 65536
DIVERGENCE_PATIENCE = 20


class _Guard:
    """Keeps the last parameters known to give a finite loss (and after which epoch), and the best ones."""

    def __init__(self, params: Sequence[nn.Parameter]):
        self.params = list(params)
        self.good = [p.detach().clone() for p in self.params]
        self.epoch = 0
        self.best = [g.clone() for g in self.good]
        self.best_loss, self.first_loss, self.best_epoch, self.bad = math.inf, None, 0, 0

    def save(self, epoch: int) -> None:
        """Remember the current parameters as the last good ones (before epoch ``epoch + 1``)."""
        with torch.no_grad():
            for g, p in zip(self.good, self.params):
                g.copy_(p)
        self.epoch = epoch

    def judge(self, loss: float) -> bool:
        """Account the loss of the last saved parameters; True when the run has run away."""
        if self.first_loss is None:
            self.first_loss = loss
        if loss < self.best_loss:
            self.best_loss, self.best_epoch, self.bad = loss, self.epoch, 0
            with torch.no_grad():
                for b, g in zip(self.best, self.good):
                    b.copy_(g)
            return False
        away = loss > DIVERGENCE_FACTOR * self.best_loss and loss > self.first_loss
        self.bad = self.bad + 1 if away else 0
        return self.bad >= DIVERGENCE_PATIENCE

    def restore(self, best: bool = False) -> None:
        """Put the last good (or the best) parameters back into the model."""
        with torch.no_grad():
            for g, p in zip(self.best if best else self.good, self.params):
                p.copy_(g)


class Run:
    """One training run, as training methods see it (:mod:`kanpde.methods.base` lists what they may use)."""

    def __init__(self, problem: Problem, model: nn.Module, cfg: TrainConfig, callbacks: Sequence[Callback]):
        self.problem, self.config, self.callbacks = problem, cfg, list(callbacks)
        self.dtype, self.device = cfg.torch_dtype, torch.device(cfg.device)
        self.model = model.to(dtype=self.dtype, device=self.device)
        self.methods = run_methods(cfg)
        for m in self.methods:
            m.check(problem, self.model, cfg)
        self.rng = np.random.default_rng(cfg.seed)
        self.unknowns = UnknownSet(problem.unknowns, self.dtype, self.device)
        self.loss = ResidualLoss(problem, n_interior=cfg.n_interior, n_boundary=cfg.n_boundary,
                                 n_initial=cfg.n_initial, method=cfg.sampling, weights=cfg.weights,
                                 derivatives=cfg.derivatives, dtype=self.dtype, device=self.device,
                                 unknowns=self.unknowns, batch_size=cfg.batch_size, chunk_size=cfg.chunk_size,
                                 hard_constraints=cfg.hard_constraints)
        paths = self.loss.plan(self.model)  # jet or autograd per term, decided once, before sampling
        self.loss.sample(self.rng)
        _check_trainable(problem, self.model, self.trainable(), self.loss)
        self.history = History(meta={**environment(cfg.dtype, cfg.device), "derivatives": paths})
        if self.methods and self.chunking:  # the methods' first step reads the initial residuals on every path
            self.loss.accumulate(self.model, backward=False)
        if self.loss.hard is not None:
            self.history.meta["hard_constraints"] = self.loss.hard.describe()
        self.wall = 0.0
        self.epoch = 0
        self._eval_set()
        self._new_optimizer(adam=cfg.adam_epochs > 0)
        for m in self.methods:
            m.start(self)

    def trainable(self) -> list[nn.Parameter]:
        """Every parameter the optimizer updates: the model's, then the problem's unknowns."""
        return [*self.model.parameters(), *self.unknowns.parameters()]

    @property
    def in_adam_phase(self) -> bool:
        """Whether the current optimizer is Adam (weights may change) rather than L-BFGS."""
        return self.is_adam

    def switch_to_lbfgs(self) -> None:
        """Start the L-BFGS phase of ``adam+lbfgs``."""
        self._new_optimizer(adam=False)

    def set_points(self, name: str, x: np.ndarray) -> None:
        """Replace the collocation points of term ``name``; L-BFGS restarts (its curvature pairs are stale)."""
        self.loss.set_points(name, x)
        if not self.is_adam:
            self._new_optimizer(adam=False)

    def replace_model(self, model: nn.Module) -> None:
        """Train ``model`` from now on (e.g. a refined KAN); the optimizer restarts."""
        self.model = model.to(dtype=self.dtype, device=self.device)
        self._new_optimizer(adam=self.epoch < self.config.adam_epochs)

    # -- evaluation ---------------------------------------------------------------------
    def _eval_set(self) -> None:
        p = self.problem
        self.xe = self.ye = None
        if p.has_truth:
            xe = p.eval_points(self.config.n_eval)
            self.ye = p.truth(xe)
            self.xe = torch.as_tensor(xe, dtype=self.dtype, device=self.device)
            self.ye_norm = float(np.linalg.norm(self.ye))

    def _predict(self, x: torch.Tensor) -> torch.Tensor:
        u = self.model(self.loss.scaling(x))
        return u if self.loss.hard is None else self.loss.hard(x, u)

    def evaluate(self) -> tuple[float, float]:
        """Relative L2 and max abs error on the evaluation set (NaN without truth)."""
        if self.xe is None:
            return math.nan, math.nan
        with torch.no_grad():  # in chunks, so a large evaluation set fits in memory
            u = torch.cat([self._predict(c) for c in self.xe.split(EVAL_CHUNK)])
            u = u.double().cpu().numpy().reshape(self.ye.shape)
        with np.errstate(over="ignore", invalid="ignore"):
            err = u - self.ye
            return float(np.linalg.norm(err) / (self.ye_norm or 1.0)), float(np.abs(err).max())

    # -- optimizers ---------------------------------------------------------------------
    def _new_optimizer(self, adam: bool) -> None:
        everything = self.trainable()
        cfg, params = self.config, [p for p in everything if p.requires_grad]
        if getattr(self, "guard", None) is None or [id(p) for p in self.guard.params] != [id(p) for p in everything]:
            self.guard = _Guard(everything)  # a new model (grid change): its own copies
        self.sched = None
        self._closure_cache = None
        if adam:
            # a restart (after a grid change) continues from the current learning rate
            lr = self.opt.param_groups[0]["lr"] if getattr(self, "is_adam", False) else cfg.lr
            self.opt = torch.optim.Adam(params, lr=lr, foreach=True)
            n = max(1, cfg.adam_epochs - self.epoch)
            if cfg.schedule == "cosine":
                self.sched = torch.optim.lr_scheduler.CosineAnnealingLR(self.opt, n, eta_min=cfg.lr * cfg.lr_final)
            elif cfg.schedule == "exp":
                self.sched = torch.optim.lr_scheduler.ExponentialLR(self.opt, (cfg.lr * cfg.lr_final / lr) ** (1.0 / n))
        else:
            self.opt = torch.optim.LBFGS(params, lr=cfg.lbfgs_lr, max_iter=1, history_size=cfg.lbfgs_history,
                                         max_eval=25, line_search_fn="strong_wolfe", tolerance_grad=0.0,
                                         tolerance_change=0.0)
        self.is_adam = adam

    def objective(self) -> tuple[torch.Tensor, dict]:
        """Total loss (with the methods' penalty terms) and the terms."""
        total, terms = self.loss(self.model)
        for m in self.methods:
            for name, value in m.penalty(self).items():
                terms = {**terms, name: value}
                total = total + value
        return total, terms

    @property
    def chunking(self) -> bool:
        """Whether the step evaluates the loss chunk by chunk (a term has more than ``chunk_size`` points).

        Not with a method that adds a penalty (the KAN's sparsity reads the inputs of the last forward
        pass, which would be the last chunk only): then the step runs unsplit, noted in ``history.meta``.
        """
        if not self.loss.chunked:
            return False
        penalized = [m.name for m in self.methods if type(m).penalty is not Method.penalty]
        if penalized:
            self.history.meta["chunking"] = f"off: {', '.join(penalized)} adds a penalty from the last forward pass"
            return False
        self.history.meta["chunking"] = f"on: chunks of {self.loss.chunk_size} points"
        return True

    def _accumulate(self, backward: bool = True) -> tuple[torch.Tensor, dict]:
        """Total loss and terms (detached) of a chunked evaluation; ``backward`` accumulates the gradient."""
        terms = self.loss.accumulate(self.model, backward=backward)
        total = sum(w * t for w, t in zip(self.loss.weights, terms.values()))
        return total, terms

    def measure(self) -> tuple[torch.Tensor, dict]:
        """Total loss and terms of the current weights, for logging (chunk by chunk on large point sets).

        The methods keep reading the residuals of the last training step: how often a run logs does not
        change its result.
        """
        with self.loss.unrecorded():
            return self._accumulate(backward=False) if self.chunking else self.objective()

    def step(self) -> tuple[float, dict]:
        """One optimizer iteration; returns the loss before it (NaN if any evaluation was not finite)."""
        chunked = self.chunking
        if self.is_adam:
            self.opt.zero_grad(set_to_none=True)
            # chunked: every chunk's backward pass has run once this returns
            total, terms = self._accumulate() if chunked else self.objective()
            value = total.item()
            if not math.isfinite(value):
                return value, terms
            self.guard.save(self.epoch)
            if not chunked:
                total.backward()
            self.opt.step()
            if self.sched is not None:
                self.sched.step()
            return value, terms

        first: dict = {}
        params = self.guard.params

        def closure():
            flat = torch.cat([p.detach().reshape(-1) for p in params])
            c = self._closure_cache
            if c is not None and torch.equal(c[0], flat):  # L-BFGS re-evaluates the accepted point
                for p, g in zip(params, c[2]):
                    p.grad = g.clone()
                if not first:
                    first.update(value=c[1], terms=c[3])
                    self.guard.save(self.epoch)
                return torch.as_tensor(c[1], dtype=self.dtype)
            self.opt.zero_grad(set_to_none=False)
            total, terms = self._accumulate() if chunked else self.objective()
            value = total.item()
            if not math.isfinite(value):  # at the start or inside the line search: stop this step
                first.update(value=math.nan if first else value, terms=terms)
                raise _NonFinite
            if not first:
                first.update(value=value, terms=terms)
                self.guard.save(self.epoch)
            if not chunked:
                total.backward()
            self._closure_cache = (flat, value, [p.grad.detach().clone() for p in params],
                                   {k: v.detach() for k, v in terms.items()})
            return total.detach()

        try:
            self.opt.step(closure)
        except _NonFinite:
            pass
        return first["value"], first["terms"]

    def resample(self) -> None:
        """Draw new collocation points; L-BFGS restarts (its curvature pairs belong to the old loss)."""
        self.loss.sample(self.rng)
        if not self.is_adam:
            self._new_optimizer(adam=False)

    def before_step(self) -> None:
        """Let every method act before the next step."""
        for m in self.methods:
            m.before_step(self)


class _NonFinite(Exception):
    pass


def _stop(hist: History, epoch: int, restored: int, message: str) -> None:
    hist.diverged = True
    hist.meta["diverged_at"], hist.meta["restored_epoch"] = epoch, restored
    hist.message = message
    warnings.warn(message, RuntimeWarning, stacklevel=3)


def _check_trainable(problem: Problem, model: nn.Module, params: Sequence[nn.Parameter], loss: ResidualLoss) -> None:
    """Refuse a loss that depends on a tensor requiring grad that the optimizer would never update."""
    total, inputs = loss.graph_sample(model)  # with chunking: the first chunk of each large term
    own = {id(p) for p in params}
    seen, stack, stray = set(), [total.grad_fn], []
    while stack:
        fn = stack.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        var = getattr(fn, "variable", None)
        if var is not None and id(var) not in own:
            stray.append(var)
        stack.extend(f for f, _ in fn.next_functions)
    inputs = {id(x) for x in inputs}
    stray = [v for v in stray if id(v) not in inputs]
    if stray:
        shapes = ", ".join(str(tuple(v.shape)) for v in stray[:3])
        raise ValueError(
            f"the loss of problem {problem.name!r} depends on {len(stray)} tensor(s) that require grad but are "
            f"not parameters of the model (shapes {shapes}); the optimizer would never update them. Use a "
            f"constant (tensor.detach() or a plain number), or make the coefficient an extra network output "
            f"(d_out + 1) that the residual reads as u[:, k:k+1], or declare it in Problem(unknowns={{name: "
            f"kp.Unknown(init)}}) and read it in residual(x, u, p) as p[name]")


def run_methods(cfg: TrainConfig) -> tuple[Method, ...]:
    """The training methods of a run: ``cfg.methods`` plus the KAN options given as config fields."""
    extra: list[Method] = []
    if cfg.grid_schedule:
        extra.append(methods.GridSchedule(cfg.grid_schedule))
        late = [e for e in cfg.grid_schedule if e >= cfg.epochs]
        if late:
            warnings.warn(f"grid_schedule epochs {late} are not before epochs={cfg.epochs}; they never apply",
                          stacklevel=4)
    if cfg.update_grid_every:
        extra.append(methods.GridUpdate(cfg.update_grid_every, cfg.update_grid_until, cfg.grid_eps))
    if cfg.reg > 0:
        extra.append(methods.Sparsity(cfg.reg, cfg.reg_l1, cfg.reg_entropy))
    return (*extra, *cfg.methods)


def train(problem: Problem, model: nn.Module, config: TrainConfig | None = None, *,
          callbacks: Sequence[Callback] = (), **overrides: Any) -> Solution:
    """Train ``model`` on ``problem`` and return the :class:`Solution` with its history."""
    cfg = (config or TrainConfig()).replace(**overrides) if overrides else (config or TrainConfig())
    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be a kanpde Problem, got {type(problem).__name__}")
    check_model(problem, model)
    with torch_threads(cfg.threads):  # the thread setting is per run, not a global side effect
        return _train(problem, model, cfg, callbacks)


def _train(problem: Problem, model: nn.Module, cfg: TrainConfig, callbacks: Sequence[Callback]) -> Solution:
    run = Run(problem, model, cfg, callbacks)
    hist, log_every = run.history, cfg.log_interval

    from tqdm.auto import tqdm

    tty = hasattr(sys.stderr, "isatty") and sys.stderr.isatty()
    bar = tqdm(total=cfg.epochs, disable=not cfg.progress, desc=f"{problem.name} {type(model).__name__}",
               leave=False, dynamic_ncols=True, mininterval=0.2 if tty else 15.0)

    def log(epoch: int) -> bool:
        """Record loss and error of the current weights (not timed); True when a callback stops the run."""
        total, terms = run.measure()
        rel, mx = run.evaluate()
        hist.record(epoch, total.item(), {k: v.detach().item() for k, v in terms.items()}, rel, mx, run.wall,
                    dict(zip(run.loss.names, run.loss.weights)), run.unknowns.floats())
        hist.n_params, hist.n_flops = count_params(run.model), count_flops(run.model)
        bar.update(epoch - bar.n)
        bar.set_postfix(loss=f"{hist.loss[-1]:.2e}", rel_l2=f"{rel:.2e}", refresh=False)
        if cfg.checkpoint:
            Solution(problem, run.model, cfg, hist, run.loss.scaling, run.unknowns.floats(),
                     run.loss.hard).save(cfg.checkpoint)
        return any(cb(epoch, run.model, hist) is True for cb in run.callbacks)

    log(0)
    epoch = 0
    try:
        for epoch in range(1, cfg.epochs + 1):
            run.epoch = epoch - 1
            t0 = time.perf_counter()
            if cfg.resample_every and epoch > 1 and (epoch - 1) % cfg.resample_every == 0:
                run.resample()
            elif cfg.batch_size and epoch > 1 and run.is_adam:
                run.loss.next_batch(run.rng)
            run.before_step()
            if epoch - 1 == cfg.adam_epochs and run.is_adam and cfg.optimizer == "adam+lbfgs":
                run.switch_to_lbfgs()
            value, terms = run.step()
            run.wall += time.perf_counter() - t0
            if not math.isfinite(value):
                run.guard.restore()
                bad = [k for k, v in terms.items() if not torch.isfinite(v).all()] or ["total"]
                _stop(hist, epoch, run.guard.epoch,
                      f"loss became non-finite at epoch {epoch} (term(s): {', '.join(bad)}); training stopped, "
                      f"weights restored to those after epoch {run.guard.epoch}, the last with a finite loss")
                log(epoch)  # the last row describes the weights that are returned
                break
            if run.guard.judge(value):
                run.guard.restore(best=True)
                _stop(hist, epoch, run.guard.best_epoch,
                      f"loss ran away at epoch {epoch}: above {DIVERGENCE_FACTOR:.0e} x its best "
                      f"({run.guard.best_loss:.3e}) for {DIVERGENCE_PATIENCE} epochs; training stopped, weights "
                      f"restored to the best, those after epoch {run.guard.best_epoch}")
                log(epoch)  # the last row describes the weights that are returned
                break
            out_of_time = cfg.max_time is not None and run.wall >= cfg.max_time
            if epoch % log_every == 0 or epoch == cfg.epochs or out_of_time:
                if log(epoch):
                    break
            if out_of_time:
                hist.message = f"stopped at epoch {epoch}: max_time {cfg.max_time}s reached"
                break
    finally:
        bar.close()
    sol = Solution(problem, run.model, cfg, hist, run.loss.scaling, run.unknowns.floats(), run.loss.hard)
    if cfg.checkpoint:
        sol.save(cfg.checkpoint)
    return sol
