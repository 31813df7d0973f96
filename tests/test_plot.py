"""Figures render to PNG without a display: fields in 1-D, 2-D and space-time, benchmark curves."""

import numpy as np
import pytest
from matplotlib.figure import Figure

import kanpde as kp
from kanpde import bench

PNG = b"\x89PNG\r\n\x1a\n"


def _tiny(problem, model="mlp", widths=None, **kw):
    return kp.solve(problem, model=model, widths=widths, epochs=3, progress=False, n_interior=64, n_boundary=32,
                    n_eval=256, **kw)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("res")
    suite = {"name": "plots", "problems": ["exp_decay", {"name": "poisson2d", "train": {"n_interior": 64,
                                                                                        "n_boundary": 32,
                                                                                        "n_eval": 256}}],
             "models": [{"label": "A", "model": "mlp", "hidden": [6]},
                        {"label": "B", "model": "mlp", "match": "A", "by": "flops", "depth": 2}],
             "seeds": [0, 1], "train": {"epochs": 20, "log_every": 5}}
    return bench.run(suite, out, jobs=1, progress=False)


@pytest.mark.parametrize("problem,widths", [("exp_decay", [1, 6, 1]), ("poisson2d", [2, 6, 1]),
                                            ("heat1d", [2, 6, 1]), ("laplace_lshape", [2, 6, 1]),
                                            ("poisson_nd", None)])
def test_field_renders_for_1d_2d_spacetime_and_slices(tmp_path, problem, widths):
    sol = _tiny(problem, widths=widths)
    target = tmp_path / "f.png"
    fig = kp.plot.field(sol, n=40, save=target)
    assert isinstance(fig, Figure)
    assert target.read_bytes()[:8] == PNG
    axes = [a for a in fig.axes if a.get_label() != "<colorbar>" and a.get_visible()]
    if sol.problem.d_in == 1:
        assert axes[0].get_legend() is not None and axes[-1].get_xlabel() == "x"
    else:
        assert len([a for a in axes if a.get_title() in ("PINN", "reference", "|error|")]) == 3
    if problem == "heat1d":  # space-time: x horizontal, t vertical
        assert axes[0].get_xlabel() == "x" and axes[0].get_ylabel() == "t"
    assert problem in fig._suptitle.get_text()
    assert list(tmp_path.iterdir()) == [target]


def test_field_with_a_kan():
    fig = kp.plot.field(_tiny("poisson2d", model="kan", widths=[2, 3, 1], grid=3), n=30)
    assert isinstance(fig, Figure)


def test_nothing_is_written_unless_asked(tmp_path, monkeypatch, results):
    monkeypatch.chdir(tmp_path)
    for fig in (kp.plot.convergence(results), kp.plot.error_vs_params(results), kp.plot.error_vs_time(results),
                kp.plot.history(results.history(0))):
        assert isinstance(fig, Figure)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("x", ["epoch", "time", "both"])
def test_convergence_has_log_axes_bands_and_legend(results, x):
    fig = kp.plot.convergence(results, x=x)
    axes = fig.axes
    assert len(axes) == (4 if x == "both" else 2)
    for ax in axes:
        assert ax.get_yscale() == "log" and ax.get_ylabel() == "relative L2 error"
        assert len(ax.collections) == 2  # one min-max band per model
        assert len(ax.lines) == 2
    assert {a.get_title() for a in axes} >= {"exp_decay", "poisson2d"}
    assert axes[0].get_legend() is not None
    colors = {str(line.get_color()) for line in axes[0].lines}
    assert len(colors) == 2
    with pytest.raises(ValueError, match="x must be"):
        kp.plot.convergence(results, x="flops")


@pytest.mark.parametrize("by", ["params", "flops"])
def test_error_vs_params_and_flops(results, by):
    fig = kp.plot.error_vs_params(results, by=by)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ("parameters" in ax.get_xlabel()) == (by == "params")
    assert ax.get_legend() is not None


def test_save_all_writes_pngs_including_fields(tmp_path, results):
    paths = kp.plot.save_all(results, tmp_path, dpi=50)
    names = {p.name for p in paths}
    assert {"convergence.png", "error_vs_params.png", "error_vs_flops.png", "error_vs_time.png"} <= names
    assert {"field_exp_decay_A.png", "field_poisson2d_B.png"} <= names
    for p in paths:
        assert p.read_bytes()[:8] == PNG


def test_plot_accepts_a_results_directory(results):
    fig = kp.plot.convergence(results.root, x="epoch")
    assert len(fig.axes) == 2
    assert np.isfinite([r["rel_l2"] for r in kp.bench.load(results.root)]).all()
