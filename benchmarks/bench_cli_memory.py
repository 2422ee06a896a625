"""Peak memory of `leadroute route` on a large generated JSONL file.

Usage: python benchmarks/bench_cli_memory.py [LEADS]   (default 200,000)

Prints the peak resident memory (RSS) of the command, and of a plain
baseline measured in the same run: a script that reads the leads file whole
and parses every line with ``json.loads`` into a list of dicts, doing no
routing at all. Linux and macOS (``resource``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from leadroute.demo import sample_router, sample_state

MEASURE = (
    "import resource, subprocess, sys\n"
    "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "print(peak * (1 if sys.platform == 'darwin' else 1024))\n"
)
BASELINE = (
    "import json, sys\n"
    "text = open(sys.argv[1], encoding='utf-8').read()\n"
    "rows = [json.loads(line) for line in text.splitlines() if line.strip()]\n"
)


def peak_bytes(argv: list[str]) -> int:
    """Peak RSS of ``argv`` run in a fresh child process."""
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, *argv], check=True, capture_output=True, text=True
    )
    return int(out.stdout.strip())


def write_leads(path: Path, count: int) -> None:
    """``count`` leads over eight regions, one second apart."""
    start = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    regions = ["CN-BJ", "CN-SH", "CN-GD", "US-CA", "US-NY", "DE", "FR", "US-TX"]
    industries = ["healthcare", "manufacturing", "software", "retail"]
    with path.open("w", encoding="utf-8") as fh:
        for i in range(count):
            region = regions[i % 8]
            row = {
                "id": f"L{i:07d}",
                "created_at": (start + timedelta(seconds=i)).isoformat(),
                "country": region.split("-")[0],
                "region": region,
                "industry": industries[(i // 8) % 4],
                "company": f"Company {i % 5000}",
                "value": 1000 + (i * 7919) % 80000,
                "score": (i * 31) % 100,
            }
            fh.write(json.dumps(row) + "\n")


def main() -> None:
    """Generate the files, measure, print."""
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        leads = folder / "leads.jsonl"
        write_leads(leads, count)
        (folder / "rules.json").write_text(json.dumps(sample_router().to_config()))
        (folder / "state.json").write_text(sample_state().model_dump_json())
        route = [sys.executable, "-m", "leadroute", "route", "--rules", str(folder / "rules.json")]
        route += ["--state", str(folder / "state.json"), "--leads", str(leads)]
        route += ["--assignments", str(folder / "a.jsonl"), "--next-state", str(folder / "n.json")]
        base = peak_bytes([sys.executable, "-c", BASELINE, str(leads)])
        used = peak_bytes(route)
    mb = 1024 * 1024
    print(f"leads: {count:,} ({leads.name}, {count} lines)")
    print(f"baseline (read whole + json.loads into dicts): {base / mb:,.0f} MB peak RSS")
    print(f"leadroute route (routing, next state, assignments): {used / mb:,.0f} MB peak RSS")
    print(f"ratio route / baseline: {used / base:.2f}")


if __name__ == "__main__":
    main()
