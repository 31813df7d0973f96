"""Elliptic problems on boxes: Poisson equations with exact solutions and every boundary condition kind."""

from __future__ import annotations

import math

import torch

from kanpde import ops
from kanpde.geometry import Box, Interval
from kanpde.problem import Dirichlet, Neumann, Problem, Robin

__all__ = ["poisson1d", "poisson2d", "poisson1d_neumann", "poisson1d_robin", "poisson2d_kan", "poisson_nd",
           "PROBLEMS"]

PI = math.pi


def poisson1d(freq: float = 1.0) -> Problem:
    r"""One-dimensional Poisson equation with homogeneous Dirichlet conditions.

    .. math::  -u''(x) = (a\pi)^2 \sin(a\pi x), \quad x \in [-1, 1], \qquad u(\pm 1) = 0

    with :math:`a` = ``freq`` (an integer, default 1).  Exact solution :math:`u = \sin(a\pi x)`.
    """
    w = freq * PI

    def residual(x, u):
        return -ops.partial(u, x, 0, order=2) - w**2 * torch.sin(w * x)

    return Problem(
        name="poisson1d", domain=Interval(-1.0, 1.0), residual=residual, conditions=(Dirichlet(0.0),),
        exact=lambda x: torch.sin(w * x), params={"freq": freq}, equation="-u'' = (a pi)^2 sin(a pi x), u(+-1) = 0",
        tags=("elliptic",), n_interior=128, n_boundary=2, n_eval=1000,
        budget={"epochs": 2000, "optimizer": "adam", "lr": 3e-3}, doc=poisson1d.__doc__)


def poisson2d() -> Problem:
    r"""Two-dimensional Poisson equation on the square.

    .. math::  -\Delta u = 2\pi^2 \sin(\pi x)\sin(\pi y), \quad (x, y) \in [-1, 1]^2,
               \qquad u = 0 \text{ on the boundary}

    Exact solution :math:`u = \sin(\pi x)\sin(\pi y)`.
    """

    def exact(x):
        return torch.sin(PI * x[:, :1]) * torch.sin(PI * x[:, 1:2])

    def residual(x, u):
        return -ops.laplacian(u, x) - 2 * PI**2 * exact(x)

    return Problem(
        name="poisson2d", domain=Box([-1.0, -1.0], [1.0, 1.0]), residual=residual, conditions=(Dirichlet(0.0),),
        exact=exact, equation="-lap u = 2 pi^2 sin(pi x) sin(pi y), u = 0 on the boundary",
        tags=("elliptic",), n_interior=1000, n_boundary=256, n_eval=4096,
        budget={"epochs": 2000, "optimizer": "adam+lbfgs", "lr": 1e-2, "weights": {"dirichlet": 100.0}},
        doc=poisson2d.__doc__)


def poisson1d_neumann(freq: float = 1.25) -> Problem:
    r"""One-dimensional Poisson equation with a Neumann end and a Dirichlet end.

    .. math::  -u''(x) = (a\pi)^2 \sin(a\pi x), \quad x \in [0, 1], \qquad
               \partial_n u(0) = -u'(0) = -a\pi, \quad u(1) = \sin(a\pi)

    with :math:`a` = ``freq`` (1.25).  The outward normal at :math:`x = 0` is :math:`-1`.
    Exact solution :math:`u = \sin(a\pi x)`.
    """
    w = freq * PI

    def residual(x, u):
        return -ops.partial(u, x, 0, order=2) - w**2 * torch.sin(w * x)

    conditions = (Neumann(-w, on=lambda p: p[:, 0] < 0.5, name="neumann_left"),
                  Dirichlet(math.sin(w), on=lambda p: p[:, 0] > 0.5, name="dirichlet_right"))
    return Problem(
        name="poisson1d_neumann", domain=Interval(0.0, 1.0), residual=residual, conditions=conditions,
        exact=lambda x: torch.sin(w * x), params={"freq": freq},
        equation="-u'' = (a pi)^2 sin(a pi x), -u'(0) = -a pi, u(1) = sin(a pi)",
        tags=("elliptic",), n_interior=128, n_boundary=1, n_eval=1000,
        budget={"epochs": 2000, "optimizer": "adam", "lr": 3e-3}, doc=poisson1d_neumann.__doc__)


def poisson1d_robin(freq: float = 1.25, alpha: float = 1.0, beta: float = 1.0) -> Problem:
    r"""One-dimensional Poisson equation with Robin conditions at both ends.

    .. math::  -u''(x) = (a\pi)^2 \sin(a\pi x), \quad x \in [0, 1], \qquad
               \alpha u + \beta \partial_n u = g \text{ at } x \in \{0, 1\}

    with outward normal derivatives :math:`\partial_n u(0) = -u'(0)`, :math:`\partial_n u(1) = u'(1)`,
    so :math:`g(0) = -\beta a\pi` and :math:`g(1) = \alpha\sin(a\pi) + \beta a\pi\cos(a\pi)`;
    :math:`a` = ``freq`` (1.25), :math:`\alpha` = ``alpha`` (1), :math:`\beta` = ``beta`` (1),
    :math:`\alpha/\beta > 0` for uniqueness.  Exact solution :math:`u = \sin(a\pi x)`.
    """
    if not alpha * beta > 0:
        raise ValueError(f"poisson1d_robin needs alpha * beta > 0 for a unique solution, got {alpha}, {beta}")
    w = freq * PI

    def g(x):
        nrm = 2.0 * (x[:, :1] > 0.5).to(x.dtype) - 1.0  # outward normal
        return alpha * torch.sin(w * x) + beta * nrm * w * torch.cos(w * x)

    def residual(x, u):
        return -ops.partial(u, x, 0, order=2) - w**2 * torch.sin(w * x)

    return Problem(
        name="poisson1d_robin", domain=Interval(0.0, 1.0), residual=residual,
        conditions=(Robin(g, alpha=alpha, beta=beta),), exact=lambda x: torch.sin(w * x),
        params={"freq": freq, "alpha": alpha, "beta": beta},
        equation="-u'' = (a pi)^2 sin(a pi x), alpha u + beta du/dn = g at x = 0, 1",
        tags=("elliptic",), n_interior=128, n_boundary=2, n_eval=1000,
        budget={"epochs": 2000, "optimizer": "adam", "lr": 3e-3}, doc=poisson1d_robin.__doc__)


def poisson2d_kan() -> Problem:
    r"""The Poisson problem of the KAN paper (Liu et al. 2024).

    .. math::  -\Delta u = f, \quad (x, y) \in [-1, 1]^2, \qquad u = 0 \text{ on the boundary},

    .. math::  f = \pi \sin(\pi x)\,\bigl[\pi (1 + 4y^2) \sin(\pi y^2) - 2\cos(\pi y^2)\bigr].

    Exact solution :math:`u = \sin(\pi x)\sin(\pi y^2)`.
    """

    def exact(x):
        return torch.sin(PI * x[:, :1]) * torch.sin(PI * x[:, 1:2] ** 2)

    def residual(x, u):
        X, Y = x[:, :1], x[:, 1:2]
        f = PI * torch.sin(PI * X) * (PI * (1 + 4 * Y**2) * torch.sin(PI * Y**2) - 2 * torch.cos(PI * Y**2))
        return -ops.laplacian(u, x) - f

    return Problem(
        name="poisson2d_kan", domain=Box([-1.0, -1.0], [1.0, 1.0]), residual=residual,
        conditions=(Dirichlet(0.0),), exact=exact,
        equation="-lap u = f, u = sin(pi x) sin(pi y^2), u = 0 on the boundary",
        tags=("elliptic",), n_interior=1000, n_boundary=256, n_eval=4096,
        # the boundary weighted 100 and a long L-BFGS phase: rel L2 2.4e-4 with the default MLP (seed 1, ~80 s CPU);
        # the former 3000-epoch unweighted budget gave 1.2e-2
        budget={"epochs": 8000, "optimizer": "adam+lbfgs", "lr": 1e-3, "lbfgs_epochs": 6000,
                "weights": {"dirichlet": 100.0}, "threads": 1}, doc=poisson2d_kan.__doc__)


def poisson_nd(dim: int = 5, form: str = "sum") -> Problem:
    r"""Poisson equation on the unit cube in ``dim`` dimensions (up to 10 and beyond).

    .. math::  -\Delta u = \tfrac{\pi^2}{4}\,c\,u, \quad x \in [0, 1]^d, \qquad
               u = u_\text{exact} \text{ on the boundary}

    with ``form="sum"`` (default): :math:`u = \tfrac1d \sum_i \sin(\pi x_i / 2)`, :math:`c = 1`;
    ``form="product"``: :math:`u = \prod_i \sin(\pi x_i / 2)`, :math:`c = d`.
    :math:`d` = ``dim`` (5).
    """
    if not isinstance(dim, int) or dim < 1:
        raise ValueError(f"dim must be a positive integer, got {dim!r}")
    if form not in ("sum", "product"):
        raise ValueError(f"form must be 'sum' or 'product', got {form!r}")
    c = 1.0 if form == "sum" else float(dim)

    def exact(x):
        s = torch.sin(0.5 * PI * x)
        return s.mean(1, keepdim=True) if form == "sum" else s.prod(1, keepdim=True)

    def residual(x, u):
        return -ops.laplacian(u, x) - 0.25 * PI**2 * c * exact(x)

    return Problem(
        name="poisson_nd", domain=Box([0.0] * dim, [1.0] * dim), residual=residual,
        conditions=(Dirichlet(exact),), exact=exact, params={"dim": dim, "form": form},
        equation=f"-lap u = (pi^2/4) c u in [0,1]^{dim}, u = exact on the boundary ({form} of sin(pi x_i/2))",
        tags=("elliptic", "high-dim"), n_interior=1000, n_boundary=100 * dim, n_eval=4096,
        budget={"epochs": 2000, "optimizer": "adam+lbfgs", "lr": 1e-2}, doc=poisson_nd.__doc__)


PROBLEMS = {"poisson1d": poisson1d, "poisson2d": poisson2d, "poisson1d_neumann": poisson1d_neumann,
            "poisson1d_robin": poisson1d_robin, "poisson2d_kan": poisson2d_kan, "poisson_nd": poisson_nd}
