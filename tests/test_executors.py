"""Executors behind one contract: identical records under serial/process/ray, resume across executors,
no orphaned workers when the driver is killed, a clear message without Ray."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from kanpde import bench
from kanpde.cli import main
from kanpde.results import read_jsonl

TINY = {"name": "tiny", "problems": ["exp_decay"],
        "models": [{"label": "mlp", "model": "mlp", "hidden": [6]}, {"label": "kan", "model": "kan", "hidden": [3],
                                                                      "grid": 3}],
        "seeds": [0, 1], "train": {"epochs": 30, "log_every": 5, "lr": 1e-2}}


def _numbers(res) -> dict:
    """What a run computed (not when or how fast): by key, the error and loss histories."""
    return {r["key"]: (r["n_params"], r["final"]["rel_l2"], r["history"]["loss"], r["history"]["rel_l2"])
            for r in res.records}


def test_serial_and_process_give_identical_records(tmp_path):
    serial = bench.run(TINY, tmp_path / "s", executor="serial", progress=False)
    proc = bench.run(TINY, tmp_path / "p", executor="process", jobs=2, threads=1, progress=False)
    assert len(serial) == 4 and _numbers(proc) == _numbers(serial)
    assert [r["key"] for r in proc] == [r["key"] for r in serial]  # results keep the suite's order
    for rec in proc.records:  # the driver wrote each model file from the bytes a worker sent
        assert (tmp_path / "p" / rec["solution"]).is_file() and "solution_blob" not in rec
    assert not list((tmp_path / "p" / "models").glob("*.part"))


def test_resume_after_a_partial_run_under_another_executor(tmp_path):
    first = bench.run(TINY, tmp_path, executor="serial", seeds=[0], progress=False)
    before = read_jsonl(tmp_path / "runs.jsonl")
    redone = []
    res = bench.run(TINY, tmp_path, executor="process", jobs=2, threads=1, resume=True, progress=False,
                    on_result=lambda rec, i, n: redone.append(rec["key"]))
    assert len(first) == 2 and len(res) == 4
    assert sorted(redone) == sorted(set(r["key"] for r in res) - {r["key"] for r in before})
    assert read_jsonl(tmp_path / "runs.jsonl")[:2] == before  # earlier rows untouched, none written twice
    assert len({r["key"] for r in read_jsonl(tmp_path / "runs.jsonl")}) == 4


def test_runs_that_finish_together_are_all_yielded_and_specs_are_drawn_lazily():
    specs = bench.expand({**TINY, "seeds": list(range(10)), "train": {"epochs": 1, "log_every": 1}})
    drawn = []

    def lazily():
        for sp in specs:
            drawn.append(sp.key)
            yield sp

    got = []
    with bench.get_executor("process", 2) as ex:
        for rec in ex.map(lazily(), save_model=False):
            got.append(rec["key"])
            assert len(drawn) <= len(got) + 2  # never more drawn than finished plus the two running
    assert sorted(got) == sorted(sp.key for sp in specs)  # 20 one-epoch runs: some may finish two at once


def test_executor_names_and_jobs_are_checked():
    with pytest.raises(ValueError, match="known: .*process"):
        bench.get_executor("dask")
    with pytest.raises(ValueError, match="jobs=2"):
        bench.get_executor("serial", jobs=2)


def test_without_ray_the_cli_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    spec = tmp_path / "tiny.json"
    spec.write_text(json.dumps(TINY))
    assert main(["bench", str(spec), "--executor", "ray", "--out", str(tmp_path / "o"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert 'pip install "kanpde[ray]"' in err and "Traceback" not in err


def _children(pid: int) -> set[int]:
    try:
        return {int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}
    except OSError:
        return set()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_process_workers_exit_when_the_driver_is_killed(tmp_path):
    suite = {"name": "long", "problems": ["poisson1d"], "models": [{"label": "m", "model": "mlp", "hidden": [16]}],
             "seeds": [0, 1, 2, 3], "train": {"epochs": 200000, "log_every": 1000}}
    script = textwrap.dedent(f"""
        from kanpde import bench
        bench.run({suite!r}, {str(tmp_path / 'out')!r}, executor="process", jobs=2, threads=1, progress=False)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: set[int] = set()
    try:
        t0 = time.time()
        while len(workers) < 2 and time.time() - t0 < 60 and proc.poll() is None:
            workers = _children(proc.pid)
            time.sleep(0.1)
        time.sleep(1.0)  # let the workers get past their initializer
        workers = _children(proc.pid) or workers
        assert len(workers) >= 2, "the pool did not start"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        t0 = time.time()
        while any(_alive(w) for w in workers) and time.time() - t0 < 30:
            time.sleep(0.1)
        left = [w for w in workers if _alive(w)]
    finally:
        for w in workers:
            if _alive(w):
                os.kill(w, signal.SIGKILL)
    assert not left, f"workers {left} outlived their killed parent"


@pytest.mark.slow
def test_ray_gives_the_same_records_as_serial_and_resumes_their_rows(tmp_path):
    pytest.importorskip("ray")
    import ray

    serial = bench.run(TINY, tmp_path / "s", executor="serial", progress=False)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        out = tmp_path / "r"
        part = bench.run(TINY, out, executor="ray", seeds=[0], progress=False)
        before = read_jsonl(out / "runs.jsonl")
        full = bench.run(TINY, out, executor="serial", resume=True, progress=False)
        again = bench.run(TINY, out, executor="ray", resume=True, progress=False)
        fresh = bench.run(TINY, tmp_path / "r2", executor="ray", progress=False)
    finally:
        ray.shutdown()
    assert len(part) == 2 and read_jsonl(out / "runs.jsonl")[:2] == before
    assert _numbers(full) == _numbers(serial) == _numbers(fresh) == _numbers(again)
    assert len(read_jsonl(out / "runs.jsonl")) == 4  # the second ray call found nothing to do


def test_the_bench_package_imports_one_way():
    import ast

    import kanpde.bench as pkg

    order = ["specs", "tuned", "run_one", "executors", "report", "driver"]  # each may import only those before it
    root = Path(pkg.__file__).parent
    for path in [*root.glob("*.py"), *(root / "executors").glob("*.py")]:
        if path.name == "__init__.py" and path.parent == root:
            continue
        layer = "executors" if path.parent.name == "executors" else path.stem
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("kanpde.bench."):
                target = node.module.split(".")[2]
                assert target == layer or order.index(target) < order.index(layer), (path.name, node.module)


@pytest.mark.slow
def test_ray_retries_a_killed_worker_and_writes_each_run_once(tmp_path):
    pytest.importorskip("ray")
    import threading

    import ray

    suite = {"name": "k", "problems": ["exp_decay"], "models": [{"label": "m", "model": "mlp", "hidden": [8]}],
             "seeds": [0, 1, 2, 3], "train": {"epochs": 1500, "log_every": 100}}
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    box = {}
    run = threading.Thread(target=lambda: box.update(res=bench.run(suite, tmp_path, executor="ray", progress=False)))
    try:
        run.start()
        killed, t0 = None, time.time()
        while killed is None and time.time() - t0 < 120 and run.is_alive():
            for p in Path("/proc").iterdir():
                try:
                    cmd = (p / "cmdline").read_bytes().decode(errors="replace") if p.name.isdigit() else ""
                except OSError:
                    continue
                if cmd.startswith("ray::exp_decay/m/"):  # a worker executing a run (task named by the executor)
                    time.sleep(0.5)
                    os.kill(int(p.name), signal.SIGKILL)
                    killed = cmd
                    break
            time.sleep(0.1)
        run.join(300)
    finally:
        ray.shutdown()
    assert killed, "no run was seen executing"
    rows = read_jsonl(tmp_path / "runs.jsonl")
    assert len(rows) == 4 and len({r["key"] for r in rows}) == 4  # none lost, none written twice
    assert all(r["status"] == "ok" for r in rows) and len(box["res"]) == 4


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_ctrl_c_keeps_finished_runs_and_stops_the_pool(tmp_path):
    suite = {"name": "int", "problems": ["exp_decay"], "models": [{"label": "m", "model": "mlp", "hidden": [8]}],
             "seeds": list(range(8)), "train": {"epochs": 2000, "log_every": 100}}  # runs long enough to interrupt
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps(suite))
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "kanpde.cli", "bench", str(spec), "--out", str(out),
                             "--executor", "process", "--jobs", "2", "--quiet", "--no-plots"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            # an ignored SIGINT is inherited across exec (a library of an earlier test may
                            # ignore it in this process); the driver must see Ctrl-C as a user's shell sends it
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    workers: set[int] = set()
    t0 = time.time()
    while time.time() - t0 < 120 and proc.poll() is None:
        workers |= _children(proc.pid)
        if len(read_jsonl(out / "runs.jsonl")) >= 1:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    kept = read_jsonl(out / "runs.jsonl")
    assert proc.returncode == 130 and "--resume" in err, err[-500:]
    assert 1 <= len(kept) < 8 and len({r["key"] for r in kept}) == len(kept)
    t0 = time.time()
    while any(_alive(w) for w in workers) and time.time() - t0 < 30:
        time.sleep(0.1)
    assert not [w for w in workers if _alive(w)], "pool workers outlived the interrupted driver"


@pytest.mark.slow
def test_a_local_ray_instance_with_a_forked_slot_gives_the_serial_numbers_and_shuts_down(tmp_path):
    pytest.importorskip("ray")
    import ray

    suite = {**TINY, "seeds": [0, 1, 2]}  # 6 runs: the forked slot and Ray's worker both take some
    serial = bench.run(suite, tmp_path / "s", executor="serial", progress=False)
    assert not ray.is_initialized()
    local = bench.run(suite, tmp_path / "r", executor="ray", jobs=2, progress=False)
    assert not ray.is_initialized()  # the instance this run started is gone
    assert _numbers(local) == _numbers(serial) and len(read_jsonl(tmp_path / "r" / "runs.jsonl")) == 6
    no_slot = bench.run(suite, tmp_path / "n", executor=bench.get_executor("ray", 2, local_slot=False),
                        progress=False)
    assert _numbers(no_slot) == _numbers(serial)
