"""Running a script in fresh Python processes (for the determinism tests)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable


def outputs_under_hash_seeds(
    script: str, seeds: Iterable[str] = ("1", "4242"), cwd: str | None = None
) -> list[str]:
    """The standard output of ``python -c script`` run once per ``PYTHONHASHSEED`` in ``seeds``."""
    outs = []
    for seed in seeds:
        env = {**os.environ, "PYTHONHASHSEED": seed}
        proc = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            env=env,
            check=True,
            cwd=cwd,
        )
        outs.append(proc.stdout)
    return outs
