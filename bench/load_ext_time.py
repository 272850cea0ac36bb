"""How long `%load_ext ktnb` takes in a fresh IPython, next to `import torch` alone.

    python bench/load_ext_time.py [--repeats 5]

Each measurement is a new Python process, so nothing is cached in memory; the median is shown.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

LOAD_EXT = """
import time
from IPython.testing.globalipapp import start_ipython
ip = start_ipython()
t = time.perf_counter()
ip.run_line_magic("load_ext", "ktnb")
elapsed = time.perf_counter() - t
import sys
print(elapsed, "torch" in sys.modules)
"""

IMPORT_TORCH = """
import time
t = time.perf_counter()
import torch
print(time.perf_counter() - t, True)
"""


def measure(code: str) -> tuple[float, bool]:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    return float(out[-2]), out[-1] == "True"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    load = [measure(LOAD_EXT) for _ in range(args.repeats)]
    torch_ = [measure(IMPORT_TORCH)[0] for _ in range(args.repeats)]
    load_s = statistics.median(t for t, _ in load)
    torch_s = statistics.median(torch_)
    print(f"%load_ext ktnb: {load_s * 1000:.0f} ms (median of {args.repeats}); torch imported by it: "
          f"{any(flag for _, flag in load)}")
    print(f"import torch:   {torch_s * 1000:.0f} ms (median of {args.repeats})")
    print(f"ratio: %load_ext ktnb takes {load_s / torch_s:.2f} of the time of import torch")


if __name__ == "__main__":
    main()
