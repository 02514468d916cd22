"""How long the ``emoconvey`` command line takes to start.

Runs, each in a fresh Python process, ``import emoconvey.cli`` and ``emoconvey --help``,
``--repeat`` times, and prints the median wall time of each beside the median of a bare
``python -c pass`` (the interpreter's own start), and the import time net of that start.
It also lists which heavy modules (scipy, torch, sklearn, pandas, matplotlib) the import
loaded: none is wanted, since every command group is imported only when it runs.
Target: under 0.3 s of imports (net) for ``import emoconvey.cli``.

Usage::

    python benchmarks/cli_import.py [--repeat 7] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

HEAVY = ("scipy", "torch", "sklearn", "pandas", "matplotlib")

CASES = {
    "python -c pass": "pass",
    "import emoconvey.cli": "import emoconvey.cli",
    "emoconvey --help": (
        "import sys\n"
        "from emoconvey.cli import app\n"
        "sys.argv = ['emoconvey', '--help']\n"
        "try:\n"
        "    app()\n"
        "except SystemExit:\n"
        "    pass\n"
    ),
}


def _time_once(code: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return time.perf_counter() - t0


def heavy_modules_loaded() -> list[str]:
    """The heavy modules that ``import emoconvey.cli`` brings in (wanted: none)."""
    code = ("import sys, emoconvey.cli\n"
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                          text=True)
    return [m for m in done.stdout.strip().split(",") if m]


def measure(repeat: int) -> dict[str, float]:
    """Median wall time in seconds of each case over ``repeat`` fresh processes."""
    times: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(repeat):  # interleaved, so machine noise hits every case alike
        for name, code in CASES.items():
            times[name].append(_time_once(code))
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="Processes per case.")
    parser.add_argument("--json", action="store_true", help="Print a JSON object.")
    args = parser.parse_args()
    medians = measure(args.repeat)
    base = medians["python -c pass"]
    result = {
        "repeat": args.repeat,
        "median_s": {k: round(v, 4) for k, v in medians.items()},
        "import_net_s": round(medians["import emoconvey.cli"] - base, 4),
        "help_net_s": round(medians["emoconvey --help"] - base, 4),
        "heavy_modules": heavy_modules_loaded(),
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"median of {args.repeat} fresh processes each:")
    for name, value in medians.items():
        print(f"  {name:<22} {value:6.3f} s")
    print(f"import emoconvey.cli net of the interpreter's start: {result['import_net_s']:.3f} s "
          "(target < 0.3 s)")
    print(f"emoconvey --help net of the interpreter's start:     {result['help_net_s']:.3f} s")
    print(f"heavy modules loaded by the import: {', '.join(result['heavy_modules']) or 'none'}")


if __name__ == "__main__":
    main()
