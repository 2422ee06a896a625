"""Progress of long work for people at a terminal: a bar (tqdm) or plain lines on stderr.

The library reports progress through callbacks ``progress(done, total)``
(:func:`leadroute.simulate`, :meth:`leadroute.Router.assign`,
:meth:`leadroute.Router.reclaim`); :func:`terminal_progress` makes one that
draws a tqdm bar when the optional extra is installed
(``pip install "leadroute[progress]"``), else prints a line every 10%. It
draws nothing when the stream is not a terminal, so pipes and logs stay clean.

>>> import io
>>> out = io.StringIO()
>>> with terminal_progress("simulate", out, force=True, bar=False) as tick:
...     for done in (0, 50, 100):
...         tick(done, 100)
>>> print(out.getvalue(), end="")
simulate: 0 of 100 leads (0%)
simulate: 50 of 100 leads (50%)
simulate: 100 of 100 leads (100%)

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any

__all__ = ["Progress", "terminal_progress"]

#: a progress callback: ``progress(done, total)``
Progress = Callable[[int, int], None]


def _is_terminal(stream: IO[str]) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty is not None and isatty())


@contextmanager
def terminal_progress(
    label: str, stream: IO[str] | None = None, *, force: bool = False, bar: bool = True
) -> Iterator[Progress]:
    """A progress callback drawing on ``stream`` (default stderr) while the block runs.

    Args:
        label: the text before the figures.
        force: draw even when ``stream`` is not a terminal.
        bar: use tqdm when it is installed (else, or when ``False``, one line per 10%).

    .. versionadded:: 0.2.0
    """
    out = sys.stderr if stream is None else stream
    if not force and not _is_terminal(out):
        yield _quiet
        return
    if bar and importlib.util.find_spec("tqdm") is not None:
        from tqdm import tqdm

        shown: Any = tqdm(desc=label, unit=" leads", file=out, dynamic_ncols=True, leave=True)
        try:
            yield _tqdm_callback(shown)
        finally:
            shown.close()
        return
    last = [-1]

    def lines(done: int, total: int) -> None:
        tenth = 10 if not total else done * 10 // total
        if tenth > last[0]:
            last[0] = tenth
            pct = "-" if not total else f"{done / total:.0%}"
            out.write(f"{label}: {done:,} of {total:,} leads ({pct})\n")
            out.flush()

    yield lines


def _quiet(done: int, total: int) -> None:
    """A progress callback that shows nothing."""


def _tqdm_callback(shown: Any) -> Progress:
    def tick(done: int, total: int) -> None:
        if shown.total != total:
            shown.total = total
            shown.refresh()
        if done > shown.n:
            shown.update(done - shown.n)

    return tick
