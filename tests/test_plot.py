"""Figures show what they claim: axes, scales, lines, labels and titles; PNGs without a display."""

import numpy as np
import pytest
import torch
from matplotlib.colors import to_hex
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure

import kanpde as kp
from kanpde import bench

PNG = b"\x89PNG\r\n\x1a\n"


def _tiny(problem, model="mlp", widths=None, **kw):
    return kp.solve(problem, model=model, widths=widths, epochs=3, progress=False, n_interior=64, n_boundary=32,
                    n_eval=256, **kw)


def _panels(fig):
    """The visible axes of a figure that are not colour bars."""
    return [a for a in fig.axes if a.get_label() != "<colorbar>" and a.get_visible()]


def _legend(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("res")
    suite = {"name": "plots", "problems": ["exp_decay", {"name": "poisson2d", "train": {"n_interior": 64,
                                                                                        "n_boundary": 32,
                                                                                        "n_eval": 256}}],
             "models": [{"label": "A", "model": "mlp", "hidden": [6]},
                        {"label": "B", "model": "mlp", "match": "A", "by": "flops", "depth": 2},
                        {"label": "K", "model": "kan", "hidden": [2], "grid": 3, "k": 3,
                         "train": {"grid_schedule": {"0": 3, "10": 5}}}],
             "seeds": [0, 1], "train": {"epochs": 20, "log_every": 5}}
    return bench.run(suite, out, jobs=1, progress=False)


@pytest.mark.parametrize("problem,widths", [("exp_decay", [1, 6, 1]), ("poisson2d", [2, 6, 1]),
                                            ("heat1d", [2, 6, 1]), ("laplace_lshape", [2, 6, 1]),
                                            ("poisson_nd", None)])
def test_field_panels_axes_and_titles(tmp_path, problem, widths):
    sol = _tiny(problem, widths=widths)
    target = tmp_path / "f.png"
    fig = kp.plot.field(sol, n=40, save=target)
    assert target.read_bytes()[:8] == PNG
    assert list(tmp_path.iterdir()) == [target]
    axes = _panels(fig)
    title = fig.get_suptitle()
    assert title.startswith(f"{problem}: MLP ({sol.n_params} params)")
    if sol.problem.d_in == 1:  # prediction over reference, then the error on a log axis
        top, bottom = axes
        assert _legend(top) == ["PINN", "reference"] and len(top.lines) == 2
        assert top.get_ylabel() == "u"
        assert bottom.get_xlabel() == "x" and bottom.get_ylabel() == "|error|" and bottom.get_yscale() == "log"
        pinn, ref = (line.get_ydata() for line in top.lines)
        xs = top.lines[0].get_xdata()
        assert np.allclose(ref, sol.problem.truth(xs[:, None])[:, 0])
        assert np.allclose(bottom.lines[0].get_ydata(), np.maximum(np.abs(pinn - ref), 1e-300))
        return
    assert [a.get_title() for a in axes] == ["PINN", "reference", "|error|"]
    assert len([a for a in fig.axes if a.get_label() == "<colorbar>"]) == 3
    if problem == "heat1d":  # space-time: x horizontal, t vertical
        assert (axes[0].get_xlabel(), axes[0].get_ylabel()) == ("x", "t")
    elif problem == "poisson_nd":  # a slice through the middle in the other coordinates
        assert (axes[0].get_xlabel(), axes[0].get_ylabel()) == ("x1", "x2") and "slice" in title
    else:
        assert (axes[0].get_xlabel(), axes[0].get_ylabel()) == ("x", "y") and "slice" not in title
    assert axes[2].collections[0].norm.__class__.__name__ == "LogNorm"  # the error map is on a log scale


def test_field_component_is_checked():
    with pytest.raises(ValueError, match=r"component must be in \[0, 1\), got 1"):
        kp.plot.field(_tiny("exp_decay", widths=[1, 4, 1]), component=1)


def test_nothing_is_written_unless_asked(tmp_path, monkeypatch, results):
    monkeypatch.chdir(tmp_path)
    for fig in (kp.plot.convergence(results), kp.plot.error_vs_params(results), kp.plot.error_vs_time(results),
                kp.plot.history(results.history(0))):
        assert isinstance(fig, Figure)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("x", ["epoch", "time", "both"])
def test_convergence_has_log_axes_one_band_and_line_per_model(results, x):
    fig = kp.plot.convergence(results, x=x)
    axes = fig.axes
    rows = ["epoch", "time"] if x == "both" else [x]
    assert len(axes) == 2 * len(rows)
    xlabels = {"epoch": "epoch", "time": "training time [s]"}
    for k, ax in enumerate(axes):
        assert ax.get_yscale() == "log" and ax.get_ylabel() == "relative L2 error"
        assert ax.get_xlabel() == xlabels[rows[k // 2]]
        assert len(ax.collections) == 3 and len(ax.lines) == 3  # a min-max band and a median per model
    assert [a.get_title() for a in axes[:2]] == ["exp_decay", "poisson2d"]
    assert _legend(axes[0]) == ["A (median of 2 seeds)", "B (median of 2 seeds)", "K (median of 2 seeds)"]
    assert {to_hex(line.get_color()) for line in axes[0].lines} == set(kp.plot.colors(results).values())
    assert fig.get_suptitle() == "Convergence (plots): median, min-max over seeds"
    with pytest.raises(ValueError, match="x must be"):
        kp.plot.convergence(results, x="flops")


def test_convergence_median_is_the_median_over_seeds(results):
    ax = kp.plot.convergence(results, x="epoch", problems=["exp_decay"]).axes[0]
    line = ax.lines[0]  # model A
    runs = [results.history(i) for i, r in enumerate(results) if r["problem"] == "exp_decay" and r["label"] == "A"]
    expect = np.median([h.rel_l2 for h in runs], axis=0)
    assert np.allclose(line.get_xdata(), runs[0].epoch) and np.allclose(line.get_ydata(), expect)


@pytest.mark.parametrize("by", ["params", "flops"])
def test_error_vs_params_and_flops(results, by):
    fig = kp.plot.error_vs_params(results, by=by)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.get_xlabel() == ("trainable parameters" if by == "params" else "forward FLOPs per point")
    assert ax.get_ylabel() == "final relative L2 error" and ax.get_title() == "exp_decay"
    bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert len(bars) == 3  # one point with a seed range per model
    key = "n_params" if by == "params" else "n_flops"
    expect = {r[key] for r in results if r["problem"] == "exp_decay"}
    assert {float(b.lines[0].get_xdata()[0]) for b in bars} == expect
    labels = _legend(ax)
    stages = {"K grid stages"} if by == "params" else set()  # grid stages only on the parameter axis
    assert sorted(labels) == sorted({"A", "B", "K"} | stages)  # once each, not once per seed
    assert fig.get_suptitle().startswith(f"Final error vs {'parameters' if by == 'params' else 'FLOPs'}")


def test_many_problems_share_one_legend_below_the_panels(results):
    from kanpde.results import Results

    recs = [dict(r, problem=f"{r['problem']}_{i}", key=f"{r['key']}_{i}") for i in range(3) for r in results.records]
    many = Results(recs)
    assert len(many.problems()) == 6
    for fig in (kp.plot.error_vs_params(many), kp.plot.error_vs_time(many)):
        assert all(ax.get_legend() is None for ax in _panels(fig))
        (legend,) = fig.legends
        labels = [t.get_text() for t in legend.get_texts()]
        assert {"A", "B", "K"} <= set(labels) and len(labels) == len(set(labels))  # each once


def test_grid_stages_show_the_error_at_the_end_of_each_grid(results):
    ax = kp.plot.error_vs_params(results, by="params").axes[0]
    i = next(i for i, r in enumerate(results) if r["problem"] == "exp_decay" and r["label"] == "K" and r["seed"] == 0)
    trace, h = results.records[i]["params_trace"], results.history(i)
    stage = next(line for line in ax.lines if line.get_label() == "K grid stages")
    assert stage.get_linestyle() == "--"
    assert list(stage.get_xdata()) == list(dict.fromkeys(trace))  # the parameter count of each grid
    ends = [j for j in range(len(trace)) if j + 1 == len(trace) or trace[j + 1] != trace[j]]
    assert np.allclose(stage.get_ydata(), [h.rel_l2[j] for j in ends])


def test_error_vs_time_one_point_per_run(results):
    fig = kp.plot.error_vs_time(results)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "training time [s]" and ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert len(ax.collections) == 3 and _legend(ax) == ["A", "B", "K"]
    assert all(len(c.get_offsets()) == 2 for c in ax.collections)  # two seeds each
    assert fig.get_suptitle() == "Final error vs training time (one point per run)"


def test_history_shows_every_loss_term_and_both_errors(results):
    h = results.history(0)
    fig = kp.plot.history(h, title="run 0")
    left, right = fig.axes
    assert _legend(left) == ["total", *h.terms] and len(left.lines) == 1 + len(h.terms)
    assert np.allclose(left.lines[0].get_ydata(), h.loss)
    assert _legend(right) == ["relative L2", "max abs error"]
    for ax in (left, right):
        assert ax.get_xlabel() == "epoch" and ax.get_yscale() == "log"
    assert (left.get_ylabel(), right.get_ylabel()) == ("loss", "error")
    assert fig.get_suptitle() == "run 0"


def test_save_all_writes_pngs_including_fields(tmp_path, results):
    paths = kp.plot.save_all(results, tmp_path, dpi=50)
    names = {p.name for p in paths}
    assert {"convergence.png", "error_vs_params.png", "error_vs_flops.png", "error_vs_time.png"} <= names
    assert {"field_exp_decay_A.png", "field_poisson2d_B.png", "field_poisson2d_K.png"} <= names
    for p in paths:
        assert p.read_bytes()[:8] == PNG


def test_plot_accepts_a_results_directory(results):
    fig = kp.plot.convergence(results.root, x="epoch")
    assert len(fig.axes) == 2
    assert np.isfinite([r["rel_l2"] for r in kp.bench.load(results.root)]).all()


# -- KAN activations (need KANLayer.recorded_input) ---------------------------------------------
def _kan_panels(fig):
    return [a for a in fig.axes if a.get_visible()]


def test_kan_draws_one_panel_per_edge_over_the_inputs_seen():
    torch.manual_seed(0)
    net = kp.KAN([2, 3, 1], grid=4)
    x = torch.stack([torch.linspace(-0.3, 0.4, 50), torch.linspace(0.1, 0.2, 50)], 1)
    with torch.no_grad():
        net(x)
    fig = kp.plot.kan(net)
    panels = _kan_panels(fig)
    assert len(panels) == 2 * 3 + 3 * 1
    titles = [a.get_title() for a in panels]
    assert titles[:6] == ["φ0,0→0", "φ0,1→0", "φ0,0→1", "φ0,1→1", "φ0,0→2", "φ0,1→2"]
    assert titles[6:] == ["φ1,0→0", "φ1,1→0", "φ1,2→0"]
    first = panels[0].lines[0].get_xdata()  # edge 0 -> 0 is drawn over the range input 0 took
    assert np.isclose(first.min(), -0.3) and np.isclose(first.max(), 0.4)
    second = panels[1].lines[0].get_xdata()
    assert np.isclose(second.min(), 0.1) and np.isclose(second.max(), 0.2)
    assert fig.get_suptitle() == "KAN [2, 3, 1]: edge activations (opacity = importance)"


def test_kan_marks_symbolic_and_pruned_edges():
    net = kp.KAN([1, 2, 1], grid=4, seed=0)
    with torch.no_grad():
        net(torch.linspace(-1, 1, 40)[:, None])
    kp.interpret.fix_symbolic(net, 0, 0, 0, "sin", params=(2.0, 0.0, 1.5, 0.0))
    with torch.no_grad():
        net.layers[1].edge_mask[1, 0] = 0
    panels = _kan_panels(kp.plot.kan(net))
    assert panels[0].get_title() == "1.5·sin(2x)" and to_hex(panels[0].lines[0].get_color()) == "#d62728"
    assert to_hex(panels[1].lines[0].get_color()) == "#000000"
    assert panels[3].get_title() == "1→0 pruned" and not panels[3].lines


def test_kan_refuses_other_models():
    with pytest.raises(TypeError, match="kan\\(\\) plots a KAN"):
        kp.plot.kan(kp.MLP([1, 4, 1]))
