"""The long fuzz runs: tests/test_fuzz.py with 10,000 cases for schemathesis (over the OpenAPI document)
and for each hypothesis property of the request parser.

    python -m bench.fuzz [--examples 10000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    args = argparse.ArgumentParser()
    args.add_argument("--examples", type=int, default=10_000)
    opts = args.parse_args()
    env = {**os.environ, "FUZZ_EXAMPLES": str(opts.examples)}
    cmd = [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "--timeout", "7200",
           "--durations=0", str(ROOT / "tests" / "test_fuzz.py")]
    return subprocess.run(cmd, cwd=ROOT, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
