"""Figures and tables for docs/ from benchmark results directories.

    kanpde bench quick --out runs/quick
    kanpde bench decay_study --out runs/decay
    kanpde bench kan_poisson --seeds 0,1,2 --out runs/kp
    python benchmarks/make_docs.py runs/quick runs/decay runs/kp --docs docs

Writes ``<suite>_convergence.png`` (and ``<suite>_error_vs_params.png`` for suites with a model
family) as small palette PNGs, and prints each suite's summary as a Markdown table.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

from PIL import Image

import kanpde as kp


def small_png(fig, path: Path, dpi: int = 72, colors: int = 96) -> int:
    """Save ``fig`` as a palette PNG (a few tens of KB); return its size in bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    img = Image.open(buf).convert("RGB").quantize(colors=colors, method=Image.Quantize.MEDIANCUT)
    img.save(path, optimize=True)
    return path.stat().st_size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", nargs="+", help="results directories written by `kanpde bench`")
    ap.add_argument("--docs", default="docs", help="output directory (default: docs)")
    a = ap.parse_args()
    docs = Path(a.docs)
    docs.mkdir(parents=True, exist_ok=True)
    for d in a.results:
        res = kp.bench.load(d)
        suite = res[0]["suite"]
        n = small_png(kp.plot.convergence(res), docs / f"{suite}_convergence.png")
        print(f"{docs / f'{suite}_convergence.png'}: {n / 1024:.0f} KB")
        if len({r["label"] for r in res}) > 2:
            n = small_png(kp.plot.error_vs_params(res), docs / f"{suite}_error_vs_params.png")
            print(f"{docs / f'{suite}_error_vs_params.png'}: {n / 1024:.0f} KB")
        print(f"\n### {suite}\n\n{kp.bench.report(res, markdown=True)}\n")


if __name__ == "__main__":
    main()
