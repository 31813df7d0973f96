"""The residual-loss engine: weighted mean squares of the residual and of every condition.

Before sampling, :meth:`ResidualLoss.plan` decides once, per term, where its derivatives come
from (see :mod:`kanpde.derivatives`): propagated forward with the values (``forward_jet``) when
the model has that path and the term needs nothing else, otherwise autograd.  It also checks on a
few probe points that every term returns an ``(N,)`` or ``(N, k)`` tensor.  Then all collocation
points of the jet terms are stacked into one tensor, mapped from the problem's bounding box onto
``[-1, 1]^d`` by :class:`InputScaling` and pushed through the model once, and likewise the points
of the autograd terms (each term a leaf of its own).  Either way derivatives are taken with
respect to the physical coordinates.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import numpy as np
import torch
from torch import Tensor, nn

from kanpde.batch import Batch
from kanpde.derivatives import NeedsAutograd
from kanpde.geometry import SAMPLING_METHODS
from kanpde.hard import HardConstraints
from kanpde.problem import Problem
from kanpde.scaling import InputScaling
from kanpde.unknowns import UnknownSet

__all__ = ["InputScaling", "ResidualLoss", "DERIVATIVE_MODES", "STEP_CHUNK"]

DERIVATIVE_MODES = ("auto", "jet", "autograd")
#: rows per chunk when a term's points are split in the training step (``chunk_size=None``).  With 8192
#: rows one chunk's autograd graph stays near 0.1 GB and its tensors small enough for the allocator to
#: reuse them (at 16384 the MLP step spent a quarter of its time in the kernel mapping fresh pages;
#: benchmarks/README.md, "Large collocation sets"); every catalog budget is far below it
STEP_CHUNK = 8192
#: condition kinds whose residual is row by row, so their points can be split into chunks (a periodic
#: condition pairs rows of its two faces; conditions of other kinds are always evaluated whole)
ROWWISE_KINDS = ("dirichlet", "neumann", "robin", "initial", "data")


class ResidualLoss:
    """Weighted sum of mean-square residual and condition terms on sampled collocation points."""

    def __init__(self, problem: Problem, *, n_interior: int | None = None, n_boundary: int | None = None,
                 n_initial: int | None = None, method: str = "sobol", weights: Mapping[str, float] | None = None,
                 derivatives: str = "auto", dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu",
                 unknowns: UnknownSet | None = None, batch_size: int | None = None,
                 chunk_size: int | None = None, hard_constraints: bool | tuple[str, ...] = False):
        if method not in SAMPLING_METHODS:
            raise ValueError(f"unknown sampling method {method!r}; known: {list(SAMPLING_METHODS)}")
        if derivatives not in DERIVATIVE_MODES:
            raise ValueError(f"derivatives must be one of {list(DERIVATIVE_MODES)}, got {derivatives!r}")
        self.problem = problem
        self.unknowns = unknowns if unknowns is not None else UnknownSet(problem.unknowns, dtype, device)
        self.n_interior = _positive("n_interior", n_interior, problem.n_interior)
        self.n_boundary = _positive("n_boundary", n_boundary, problem.n_boundary)
        self.n_initial = _positive("n_initial", n_initial, problem.n_initial)
        self.method, self.derivatives, self.dtype, self.device = method, derivatives, dtype, torch.device(device)
        self.batch_size = None if batch_size is None else _positive("batch_size", batch_size, 1)
        if self.batch_size is not None and problem.residual is None:
            raise ValueError(f"batch_size draws the residual's points from a pool, but problem {problem.name!r} has "
                             f"no residual")
        self.chunk_size = _positive("chunk_size", chunk_size, STEP_CHUNK)
        self._pool: np.ndarray | None = None
        self._prepared: dict[str, dict] = {}
        self.scaling = InputScaling(*problem.domain.bbox, periodic=problem.periodic_dims)
        # conditions that hold by construction (hard periodicity) are no loss terms
        self.slots: list = ([None] if problem.residual is not None else []) + [
            c for c in problem.conditions if not getattr(c, "hard", False)]
        self.names = self._term_names()
        weights = dict(weights or {})
        # hard constraints (kanpde.hard): an output transform satisfies those conditions; their terms go
        self.hard = HardConstraints(problem, hard_constraints) if hard_constraints else None
        if self.hard is not None:
            keep = [i for i, n in enumerate(self.names) if n not in self.hard.dropped]
            if not keep:
                raise ValueError(f"problem {problem.name!r} has no loss term left once its conditions are hard")
            self.slots, self.names = [self.slots[i] for i in keep], [self.names[i] for i in keep]
            weights = {k: v for k, v in weights.items() if k not in self.hard.dropped}
        unknown = set(weights) - set(self.names)
        if unknown:
            raise ValueError(f"weights name unknown terms {sorted(unknown)}; terms are {self.names}")
        self.weights = [float(weights.get(n, 1.0 if c is None else c.weight)) for n, c in zip(self.names, self.slots)]
        self.order = min(2, max([problem.order if problem.residual else 0] + [c.order for c in problem.conditions]))
        self.paths: dict[str, str] | None = None
        self._points: list[dict] | None = None
        self._point_weights: dict[str, Tensor] = {}
        self._last: dict[str, Tensor] = {}
        self._jet_batch: Batch | None = None
        self._grad_batch: Batch | None = None

    def _term_names(self) -> list[str]:
        names: list[str] = []
        for c in self.slots:
            base = "pde" if c is None else (c.name or c.kind)
            name, k = base, 1
            while name in names:
                name, k = f"{base}_{k}", k + 1
            names.append(name)
        if not names:
            raise ValueError(f"problem {self.problem.name!r} has neither a residual nor conditions")
        return names

    # -- planning -----------------------------------------------------------------------
    def _jet_capable(self, model: nn.Module) -> bool:
        if self.derivatives == "autograd":
            return False
        has = hasattr(model, "forward_jet")
        if self.derivatives == "jet" and not has:
            raise ValueError(f"derivatives='jet' needs a model with forward_jet; {type(model).__name__} has none")
        return has and (self.derivatives == "jet" or getattr(model, "prefers_jet", True))

    def plan(self, model: nn.Module) -> dict[str, str]:
        """Decide once, per term, whether derivatives come from jets or autograd; check the terms' shapes."""
        jet = self._jet_capable(model)
        rng = np.random.default_rng(20240601)  # probe points only: the run's own generator is untouched
        paths = {}
        for name, cond in zip(self.names, self.slots):
            path = "jet" if jet else "autograd"
            if path == "jet":
                try:
                    self._probe(model, name, cond, rng, jet=True)
                except NeedsAutograd:
                    path = "autograd"
            if path == "autograd":
                self._probe(model, name, cond, rng, jet=False)
            paths[name] = path
        self.paths = paths
        if self._points is not None:
            self._build()
        return dict(paths)

    def _probe(self, model: nn.Module, name: str, cond, rng: np.random.Generator, jet: bool) -> None:
        """Evaluate one term on a few points; a residual whose width follows N is an (N, N) broadcast."""
        widths = []
        for n in (6, 7) if cond is None else (6,):
            r = self._evaluate(model, name, cond, self._sample_term(cond, n, "uniform", rng), jet)
            widths.append((r.shape[0], r.shape[1]))
        if len(widths) == 2 and widths[1][1] != widths[0][1]:
            square = all(w == n for n, w in widths)
            raise ValueError(
                f"the {name!r} term of problem {self.problem.name!r} returned "
                f"{'shape (N, N)' if square else 'a number of columns that changes with the number of points'} "
                f"(got {widths[0]} for {widths[0][0]} points and {widths[1]} for {widths[1][0]})"
                + (": an (N,) tensor was broadcast against an (N, 1) one; make every piece (N, 1), e.g. "
                   "g(x)[:, None] or g(x).unsqueeze(1)" if square else "; expected (N,) or (N, k) with a fixed k"))

    # -- sampling -----------------------------------------------------------------------
    def _sample_term(self, cond, n: int | None, method: str, rng: np.random.Generator) -> dict:
        p = self.problem
        if cond is None:
            return {"x": p.domain.sample_interior(self.n_interior if n is None else n, method, rng)}
        if n is None:
            n = self.n_initial if cond.kind == "initial" else self.n_boundary
        return cond.sample(p, n, method, rng)

    def sample(self, seed: int | np.random.Generator | None = 0) -> None:
        """Draw the collocation points of every term."""
        rng = np.random.default_rng(seed) if not isinstance(seed, np.random.Generator) else seed
        self._points = [self._sample_term(c, None, self.method, rng) for c in self.slots]
        self._point_weights.clear()
        self._last.clear()
        if self.batch_size is not None:
            self._pool = self._points[0]["x"]
            self._points[0] = {"x": self._draw(rng)}
        if self.paths is not None:
            self._build()

    def _draw(self, rng: np.random.Generator) -> np.ndarray:
        n = len(self._pool)
        if self.batch_size >= n:
            return self._pool
        return self._pool[np.sort(rng.choice(n, size=self.batch_size, replace=False))]

    def pool(self) -> np.ndarray | None:
        """With ``batch_size``: the pool the residual's batches are drawn from."""
        return self._pool

    def next_batch(self, rng: np.random.Generator) -> None:
        """With ``batch_size``: make a fresh random subset of the residual's pool the active points."""
        if self.batch_size is None:
            return
        self._points[0] = {"x": self._draw(rng)}
        self._point_weights.pop("pde", None)
        self._last.pop("pde", None)
        self._build()

    def _build(self) -> None:
        sel = {path: [i for i, n in enumerate(self.names) if self.paths[n] == path] for path in ("jet", "autograd")}

        def batch(path):
            idx = sel[path]
            if not idx:
                return None
            return Batch(self, [self._points[i]["x"] for i in idx], [self.slots[i] for i in idx],
                          [self.names[i] for i in idx], grad=path == "autograd", data=[self._points[i] for i in idx])

        self._jet_batch, self._grad_batch = batch("jet"), batch("autograd")
        self._prepared = {}

    def points(self) -> dict[str, np.ndarray]:
        """The current collocation points of every term, by name (physical coordinates)."""
        if self._points is None:
            self.sample()
        return {n: p["x"] for n, p in zip(self.names, self._points)}

    def leaves(self) -> list[Tensor]:
        """The input tensors that require grad (the points of the autograd-path terms)."""
        return [] if self._grad_batch is None else list(self._grad_batch.xs)

    def model_inputs(self) -> Tensor:
        """The (scaled) interior collocation points as the model sees them, detached."""
        if self._points is None:
            self.sample()
        x = self._points[0]["x"] if self.problem.residual is not None else np.concatenate(
            [p["x"] for p in self._points])
        return self.scaling(torch.as_tensor(x, dtype=self.dtype, device=self.device))

    # -- evaluation ---------------------------------------------------------------------
    def terms(self, model: nn.Module) -> dict[str, Tensor]:
        """Unweighted mean-square value of every term, by name."""
        if self.paths is None:
            self.plan(model)
        if self._points is None:
            self.sample()
        out: dict[str, Tensor] = {}
        for batch, jet in ((self._jet_batch, True), (self._grad_batch, False)):
            if batch is None:
                continue
            try:
                res = batch.residuals(model, self.problem, jet, autograd=not jet)
            except NeedsAutograd as e:
                raise RuntimeError(
                    f"a term of problem {self.problem.name!r} asked for a derivative that was not needed when "
                    f"its derivative path was planned ({e}); train with derivatives='autograd'") from e
            for name, r in zip(batch.names, res):
                self._last[name] = r.detach()
                w = self._point_weights.get(name)
                out[name] = (r * r).mean() if w is None else (w.unsqueeze(1) * r * r).mean()
        return {n: out[n] for n in self.names}

    # -- chunked evaluation (large point sets) ------------------------------------------------
    def _split(self, i: int) -> bool:
        c = self.slots[i]
        return len(self._points[i]["x"]) > self.chunk_size and (c is None or c.kind in ROWWISE_KINDS)

    @property
    def chunked(self) -> bool:
        """Whether some term has more than ``chunk_size`` points, so the training step splits it into chunks."""
        if self._points is None:
            self.sample()
        return any(self._split(i) for i in range(len(self.names)))

    def _data(self, i: int) -> dict:
        """Term ``i``'s prepared per-point data on all its points, computed once per set of points."""
        name = self.names[i]
        if name not in self._prepared:
            x = torch.as_tensor(self._points[i]["x"], dtype=self.dtype, device=self.device)
            cond = self.slots[i]
            try:
                self._prepared[name] = {} if cond is None else cond.prepare(self.problem, self._points[i], x)
            except ValueError as e:
                raise ValueError(f"the {name!r} condition of problem {self.problem.name!r}: {e}") from e
        return self._prepared[name]

    def _pieces(self, first_only: bool = False):
        """``(batch, jet, rows)``: evaluations that cover every point once, terms up to ``chunk_size`` stacked
        in one pass per derivative path, larger row-wise terms one chunk at a time (``rows`` per term)."""
        for path in ("jet", "autograd"):
            idx = [i for i, n in enumerate(self.names) if self.paths[n] == path]
            whole = [i for i in idx if not self._split(i)]
            if whole:
                b = Batch(self, [self._points[i]["x"] for i in whole], [self.slots[i] for i in whole],
                           [self.names[i] for i in whole], grad=path == "autograd")
                b.data = [self._data(i) for i in whole]  # prepared once per set of points, not per step
                yield b, path == "jet", [None] * len(whole)
            for i in idx:
                if i in whole:
                    continue
                x, data = self._points[i]["x"], self._data(i)
                for a in range(0, len(x), self.chunk_size):
                    sl = slice(a, a + self.chunk_size)
                    part = {k: v[sl] if isinstance(v, Tensor) and v.dim() and v.shape[0] == len(x) else v
                            for k, v in data.items()}
                    b = Batch(self, [x[sl]], [self.slots[i]], [self.names[i]], grad=path == "autograd")
                    b.data = [part]
                    yield b, path == "jet", [sl]
                    if first_only:
                        break

    def _batch_residuals(self, batch: Batch, model: nn.Module, jet: bool) -> list[Tensor]:
        try:
            return batch.residuals(model, self.problem, jet, autograd=not jet)
        except NeedsAutograd as e:
            raise RuntimeError(
                f"a term of problem {self.problem.name!r} asked for a derivative that was not needed when "
                f"its derivative path was planned ({e}); train with derivatives='autograd'") from e

    def _part(self, name: str, r: Tensor, rows: slice | None) -> Tensor:
        """The term's mean square over all its points restricted to ``rows`` (None: all, as in :meth:`terms`)."""
        w = self._point_weights.get(name)
        if rows is None:
            return (r * r).mean() if w is None else (w.unsqueeze(1) * r * r).mean()
        n = len(self._points[self.names.index(name)]["x"]) * r.shape[1]
        return ((r * r).sum() if w is None else (w[rows].unsqueeze(1) * r * r).sum()) / n

    def accumulate(self, model: nn.Module, backward: bool = True) -> dict[str, Tensor]:
        """The unweighted terms (detached), evaluated chunk by chunk (see ``chunk_size``).

        ``backward=True`` adds the gradient of the weighted loss to every parameter's ``.grad``, one
        chunk's backward pass at a time.  The per-point residuals are kept for :meth:`last_residuals`.
        """
        return self._sweep(model, backward, None)[0]

    def term_grads(self, model: nn.Module, params: list[Tensor]) -> dict[str, list[Tensor | None]]:
        """Per term, the gradient of its unweighted value with respect to ``params`` (``None`` where it does
        not depend on one); chunk by chunk when the step is chunked."""
        if self.chunked:
            return self._sweep(model, False, params)[1]
        terms = self.terms(model)
        return {n: list(torch.autograd.grad(t, params, retain_graph=True, allow_unused=True))
                for n, t in terms.items()}

    def _sweep(self, model: nn.Module, backward: bool, params: list[Tensor] | None) -> tuple[dict, dict]:
        if self.paths is None:
            self.plan(model)
        if self._points is None:
            self.sample()
        vals: dict[str, Tensor] = {}
        res: dict[str, list[Tensor]] = {n: [] for n in self.names}
        grads: dict[str, list] = {}
        for piece in self._pieces():
            self._piece(model, *piece, backward, params, vals, res, grads)  # its graph is freed on return
        self._last.update({n: torch.cat(v) if len(v) > 1 else v[0] for n, v in res.items()})
        return {n: vals[n] for n in self.names}, grads

    def _piece(self, model: nn.Module, batch: Batch, jet: bool, rows: list, backward: bool,
               params: list[Tensor] | None, vals: dict, res: dict, grads: dict) -> None:
        """Evaluate one piece of :meth:`_pieces`, add its values, residuals and gradients to the running ones."""
        with torch.no_grad() if jet and not backward and params is None else torch.enable_grad():
            part = None
            for name, r, sl in zip(batch.names, self._batch_residuals(batch, model, jet), rows):
                res[name].append(r.detach())
                t = self._part(name, r, sl)
                vals[name] = t.detach() if name not in vals else vals[name] + t.detach()
                if params is not None:
                    g = torch.autograd.grad(t, params, retain_graph=True, allow_unused=True)
                    old = grads.get(name)
                    grads[name] = list(g) if old is None else [
                        b if a is None else a if b is None else a + b for a, b in zip(old, g)]
                part = self.weight(name) * t if part is None else part + self.weight(name) * t
            if backward and part.requires_grad:  # (a piece that no parameter reaches adds nothing)
                part.backward()

    def graph_sample(self, model: nn.Module) -> tuple[Tensor, list[Tensor]]:
        """The weighted loss with its graph, and the input leaves it depends on: on all points when the
        step is not chunked (as ``self(model)``), else on the first chunk of every split term (for checks)."""
        if not self.chunked:
            return self(model)[0], self.leaves()
        total, leaves = 0.0, []
        for batch, jet, rows in self._pieces(first_only=True):
            for name, r, sl in zip(batch.names, self._batch_residuals(batch, model, jet), rows):
                total = total + self.weight(name) * self._part(name, r, sl)
            leaves += list(batch.xs) if not jet else []
        return total, leaves

    # -- what training methods may read and change ----------------------------------------
    def last_residuals(self) -> dict[str, Tensor]:
        """Per-point residuals ``(N, k)`` of every term at the latest evaluation (detached)."""
        return dict(self._last)

    @contextmanager
    def unrecorded(self) -> Iterator[None]:
        """Evaluations inside leave :meth:`last_residuals` as it was (logging must not steer the methods)."""
        saved = dict(self._last)
        try:
            yield
        finally:
            self._last.clear()
            self._last.update(saved)

    def residuals_at(self, model: nn.Module, name: str, x: np.ndarray, chunk: int = 8192) -> np.ndarray:
        """Residuals ``(N, k)`` of term ``name`` at points ``x`` (numpy, evaluated in chunks)."""
        if self.slots[self.names.index(name)] is not None:
            raise ValueError(f"residuals_at evaluates the residual term only, not {name!r}")
        jet = self.paths[name] == "jet"
        out = [self._evaluate(model, name, None, {"x": np.asarray(x[a : a + chunk])}, jet).detach().cpu().double()
               for a in range(0, len(x), chunk)]
        return torch.cat(out).numpy()

    def _evaluate(self, model: nn.Module, name: str, cond, pts: dict, jet: bool) -> Tensor:
        """One term's residual ``(N, k)`` at the points ``pts``, on its derivative path, outside training."""
        batch = Batch(self, [pts["x"]], [cond], [name], grad=not jet)
        with torch.enable_grad() if not jet else torch.no_grad():
            (r,) = batch.residuals(model, self.problem, jet, autograd=not jet, data=[pts])
        return r

    def set_points(self, name: str, x: np.ndarray) -> None:
        """Replace the collocation points of term ``name`` (its point weights are dropped)."""
        i = self.names.index(name)
        if self.slots[i] is not None:
            raise ValueError(f"only the residual's points can be replaced, not those of {name!r}")
        self._points[i] = {"x": np.asarray(x, dtype=float)}
        if self.batch_size is not None:
            self._pool = self._points[i]["x"]  # the new points become the pool batches are drawn from
        self._point_weights.pop(name, None)
        self._last.pop(name, None)
        self._build()

    def weight(self, name: str) -> float:
        """The weight of term ``name``."""
        return self.weights[self.names.index(name)]

    def set_weight(self, name: str, w: float) -> None:
        """Set the weight of term ``name``."""
        self.weights[self.names.index(name)] = float(w)

    def point_weights(self, name: str) -> Tensor | None:
        """Per-point weights ``(N,)`` of term ``name``, or ``None`` (all 1)."""
        return self._point_weights.get(name)

    def set_point_weights(self, name: str, w: Tensor | None) -> None:
        """Weight each point's squared residual in term ``name`` (``None``: all 1)."""
        if w is None:
            self._point_weights.pop(name, None)
            return
        i = self.names.index(name)
        n = len(self._points[i]["x"])
        n = n if self.slots[i] is None else self.slots[i].n_rows(n)
        if w.shape != (n,):
            raise ValueError(f"point weights of {name!r} must have shape ({n},), got {tuple(w.shape)}")
        self._point_weights[name] = w.detach().to(dtype=self.dtype, device=self.device)

    def __call__(self, model: nn.Module) -> tuple[Tensor, dict[str, Tensor]]:
        """Total weighted loss and the unweighted terms."""
        terms = self.terms(model)
        total = sum(w * t for w, t in zip(self.weights, terms.values()))
        return total, terms


def _positive(name: str, value: int | None, default: int) -> int:
    v = default if value is None else value
    if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(v)
