"""Benchmark: account keys against a plain hand-written fold, and on hostile long names.

For each workload it prints the time of ``company_key`` and of a plain
baseline measured in the same run (case-fold, keep letters and digits: no
suffixes, no abbreviations) and their ratio:

* 100,000 ordinary names (Chinese and English, with legal suffixes);
* names of ``MAX_NAME_CHARS`` characters: ASCII, Chinese, a legal form
  repeated (the old suffix loop was quadratic on that: 3 MB of ``"ab "`` did
  not finish in two minutes), full-width punctuation;
* a 3 MB name: refused with ``InputError`` at once (the documented limit).

With the ``accounts`` extra it also prints names per second for
``romanised_key`` and for ``AccountMatcher(romanize=True).match``.

Run: ``python benchmarks/bench_accounts.py`` (``--quick`` for a smaller run).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import UTC, datetime

from leadroute import AccountMatcher, InputError, Lead, normalize
from leadroute.normalize import MAX_NAME_CHARS, company_key, romanised_key


def plain_fold(name: str) -> str:
    """The baseline: case-fold and keep letters and digits."""
    return "".join(ch for ch in name.casefold() if ch.isalnum())


def timed(fn: Callable[[str], object], names: list[str]) -> float:
    start = time.perf_counter()
    for name in names:
        fn(name)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run")
    args = parser.parse_args()
    n = 10_000 if args.quick else 100_000
    stems = ["北京某某科技有限公司", "Beijing Moumou Technology Co., Ltd.", "ACME S.A.", "字节跳动"]
    ordinary = [f"{stems[i % 4]} {i}" for i in range(n)]
    print(f"{'workload':<34}{'company_key':>14}{'baseline':>12}{'ratio':>8}")
    t_key = timed(company_key, ordinary)
    t_base = timed(plain_fold, ordinary)
    print(f"{f'{n:,} ordinary names':<34}{t_key:>13.3f}s{t_base:>11.3f}s{t_key / t_base:>8.2f}")
    long_names = {
        "ASCII letters": "a" * MAX_NAME_CHARS,
        "Chinese": "某" * MAX_NAME_CHARS,
        "legal form repeated ('ab ')": ("ab " * MAX_NAME_CHARS)[:MAX_NAME_CHARS],
        "有限公司 repeated": ("有限公司" * MAX_NAME_CHARS)[:MAX_NAME_CHARS],
        "S.A. repeated": ("S.A. " * MAX_NAME_CHARS)[:MAX_NAME_CHARS],
        "full-width with （）": ("某某（中国）ＡＢ，" * MAX_NAME_CHARS)[:MAX_NAME_CHARS],
    }
    for label, name in long_names.items():
        t_key = timed(company_key, [name])
        t_base = timed(plain_fold, [name])
        print(
            f"{f'{MAX_NAME_CHARS:,} chars, {label}':<34}{t_key * 1000:>12.2f}ms"
            f"{t_base * 1000:>10.2f}ms{t_key / t_base:>8.2f}"
        )
    huge = "ab " * 1_000_000
    start = time.perf_counter()
    try:
        company_key(huge)
    except InputError as exc:
        took = time.perf_counter() - start
        print(f"3 MB name: refused in {took * 1e6:.0f} µs: {exc}")
    try:
        romanised_key("某")
    except ImportError:
        print("romanised keys: install the accounts extra to measure them")
        return
    count = n // 10
    names = ordinary[:count]
    t_roman = timed(romanised_key, names)
    print(
        f"romanised_key: {count / t_roman:,.0f} names/s "
        f"({t_roman / timed(plain_fold, names):.0f}x the baseline)"
    )
    matcher = AccountMatcher(aliases={"字节跳动": "ByteDance"}, romanize=True)
    at = datetime(2026, 3, 2, tzinfo=UTC)
    leads = [Lead(id=str(i), created_at=at, company=name) for i, name in enumerate(names)]
    normalize._romanised.cache_clear()  # distinct names, nothing cached: the slow case
    start = time.perf_counter()
    for lead in leads:
        matcher.match(lead)
    took = time.perf_counter() - start
    print(f"AccountMatcher(romanize=True).match, distinct names: {count / took:,.0f} leads/s")
    start = time.perf_counter()
    for lead in leads:
        matcher.match(lead)
    took = time.perf_counter() - start
    print(f"AccountMatcher(romanize=True).match, names seen before: {count / took:,.0f} leads/s")


if __name__ == "__main__":
    main()
