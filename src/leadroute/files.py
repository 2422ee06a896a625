"""Reading and writing the files of the command line, safely.

Readers stream: a JSON Lines file is read one line at a time (never the whole
text at once), each line decoded and parsed on its own, so memory holds the
parsed records only. A UTF-8 byte-order mark and Windows line ends (CRLF) are
accepted. Anything else that is wrong - a missing file, a folder instead of a
file, bytes that are not UTF-8, broken or truncated JSON, a line longer than
:data:`MAX_LINE_BYTES`, a record that does not validate - raises one
:class:`~leadroute.exceptions.FileFormatError` naming the file, the line and
the field.

Writers are atomic: the text goes to a temporary file in the same folder,
which is flushed, synced to disk and then renamed over the target
(``os.replace``). A reader of the target sees the old file or the new one,
never half of one, even if the process is killed while writing.

``"-"`` stands for standard input or standard output everywhere.

This is a base-layer module: it imports nothing from leadroute but its
exceptions.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import stat
import sys
import tomllib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any, TypeVar

from leadroute.exceptions import FileFormatError

__all__ = [
    "MAX_LINE_BYTES",
    "atomic_write",
    "iter_jsonl",
    "read_json",
    "read_mapping",
    "read_text",
]

T = TypeVar("T")

#: The longest line a JSON Lines file may have (16 MiB); a longer line is an error.
MAX_LINE_BYTES = 16 * 1024 * 1024

_BOM = b"\xef\xbb\xbf"
_YAML = (".yaml", ".yml")
_counter = itertools.count()


# -- reading -------------------------------------------------------------------------


def _label(path: str) -> str:
    return "<stdin>" if path == "-" else path


def _os_error(path: str, exc: OSError, verb: str = "read") -> FileFormatError:
    if isinstance(exc, IsADirectoryError):
        why = "is a folder, not a file"
    elif isinstance(exc, FileNotFoundError):
        parent = Path(path).parent
        why = (
            "no such file"
            if verb == "read" or parent.is_dir()
            else f"the folder {str(parent)!r} does not exist"
        )
    elif isinstance(exc, PermissionError):
        why = "permission denied"
    else:
        why = exc.strerror or type(exc).__name__
    return FileFormatError(f"cannot {verb}: {why}", file=_label(path))


def _open_binary(path: str, stdin: IO[bytes] | None) -> IO[bytes]:
    if path == "-":
        if stdin is not None:
            return stdin
        return sys.stdin.buffer
    try:
        fh = Path(path).open("rb")  # noqa: SIM115 - closed by the caller
    except OSError as exc:
        raise _os_error(path, exc) from None
    return fh


def _decode(raw: bytes, path: str, lineno: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        msg = (
            f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {exc.start + 1}); "
            "save the file as UTF-8"
        )
        raise FileFormatError(msg, file=_label(path), line=lineno) from None


def _lines(path: str, stdin: IO[bytes] | None) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` for each line, without its line end."""
    fh = _open_binary(path, stdin)
    try:
        for lineno in itertools.count(1):
            try:
                raw = fh.readline(MAX_LINE_BYTES + 1)
            except OSError as exc:
                raise _os_error(path, exc) from None
            if not raw:
                return
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                msg = f"line longer than {MAX_LINE_BYTES:,} bytes"
                raise FileFormatError(msg, file=_label(path), line=lineno)
            if raw.startswith(_BOM):  # also where files with one were concatenated
                raw = raw[len(_BOM) :]
            yield lineno, _decode(raw, path, lineno).rstrip("\r\n")
    finally:
        if fh is not stdin and path != "-":
            fh.close()


def _reject_constant(name: str) -> Any:
    msg = f"{name} is not a number JSON allows"
    raise ValueError(msg)


_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")


def _surrogate_at(data: Any, where: str = "") -> str | None:
    """The field of the first string holding a lone surrogate (not encodable as UTF-8)."""
    if isinstance(data, str):
        try:
            data.encode("utf-8")
        except UnicodeEncodeError:
            return where or "(record)"
        return None
    if isinstance(data, dict):
        items: Iterable[tuple[str, Any]] = data.items()
    elif isinstance(data, list):
        items = ((str(i), v) for i, v in enumerate(data))
    else:
        return None
    for key, value in items:
        found = _surrogate_at(key, where) or _surrogate_at(value, f"{where}.{key}" if where else key)
        if found is not None:
            return found
    return None


def _loads(text: str, path: str, lineno: int | None) -> Any:
    data = _loads_json(text, path, lineno)
    if _SURROGATE.search(text):
        field = _surrogate_at(data)
        if field is not None:
            msg = "a \\u escape makes a lone surrogate, which is not text"
            raise FileFormatError(msg, file=_label(path), line=lineno, field=field)
    return data


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object's dict; a key given twice is an error (json.loads would keep the last)."""
    data = dict(pairs)
    if len(data) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                msg = f"the key {key!r} appears twice in one object"
                raise ValueError(msg)
            seen.add(key)
    return data


def _loads_json(text: str, path: str, lineno: int | None) -> Any:
    try:
        return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        line = exc.lineno if lineno is None else lineno
        msg = f"not valid JSON: {exc.msg} (column {exc.colno})"
        raise FileFormatError(msg, file=_label(path), line=line) from None
    except (ValueError, RecursionError) as exc:
        msg = f"not valid JSON: {exc}" if isinstance(exc, ValueError) else "nested too deeply"
        raise FileFormatError(msg, file=_label(path), line=lineno) from None


def _describe(exc: BaseException) -> tuple[str | None, str]:
    """The field and the message of a validation error (pydantic's, or a leadroute one)."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        try:
            first = errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            return (where or None), str(first.get("msg", exc))
        except (TypeError, IndexError, KeyError, AttributeError):  # pragma: no cover
            pass
    field = getattr(exc, "field", None) or getattr(exc, "path", None)
    return (str(field) if field else None), str(exc).splitlines()[0] if str(exc) else repr(exc)


def _parsed(parse: Callable[[Any], T], data: Any, path: str, lineno: int | None) -> T:
    try:
        return parse(data)
    except FileFormatError:
        raise
    except (ValueError, TypeError, KeyError, OverflowError, RecursionError) as exc:
        field, msg = _describe(exc)
        raise FileFormatError(msg, file=_label(path), line=lineno, field=field) from None


def iter_jsonl(
    path: str, parse: Callable[[Any], T], *, stdin: IO[bytes] | None = None
) -> Iterator[T]:
    """Records of a JSON Lines file, parsed one line at a time (blank lines skipped).

    Each line must hold one JSON object; ``parse`` turns it into a record
    (``Lead.model_validate``). Errors name the file, the line and the field.
    ``path`` ``"-"`` reads standard input (``stdin``, default ``sys.stdin``).

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.jsonl"
    >>> _ = p.write_bytes(b'\\xef\\xbb\\xbf{"a": 1}\\r\\n\\r\\n{"a": 2}\\r\\n')
    >>> [r["a"] for r in iter_jsonl(str(p), dict)]
    [1, 2]

    .. versionadded:: 0.2.0
    """
    for lineno, line in _lines(path, stdin):
        if not line.strip():
            continue
        data = _loads(line, path, lineno)
        if not isinstance(data, dict):
            msg = f"each line must be a JSON object, got {_json_kind(data)}"
            raise FileFormatError(msg, file=_label(path), line=lineno)
        yield _parsed(parse, data, path, lineno)


def _json_kind(data: Any) -> str:
    kinds = {list: "an array", str: "a string", bool: "true/false", type(None): "null"}
    return kinds.get(type(data), "a number")


def read_text(path: str, *, stdin: IO[bytes] | None = None) -> str:
    """The whole text of a UTF-8 file (a byte-order mark dropped, CRLF kept as read).

    .. versionadded:: 0.2.0
    """
    fh = _open_binary(path, stdin)
    try:
        raw = fh.read()
    except OSError as exc:
        raise _os_error(path, exc) from None
    finally:
        if fh is not stdin and path != "-":
            fh.close()
    if raw.startswith(_BOM):
        raw = raw[len(_BOM) :]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        lineno = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        msg = (
            f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {column}); "
            "save the file as UTF-8"
        )
        raise FileFormatError(msg, file=_label(path), line=lineno) from None


def read_json(path: str, parse: Callable[[Any], T], *, stdin: IO[bytes] | None = None) -> T:
    """One record from a JSON file (``parse`` builds it: ``PoolState.model_validate``).

    .. versionadded:: 0.2.0
    """
    data = _loads(read_text(path, stdin=stdin), path, None)
    if not isinstance(data, dict):
        msg = f"the top level must be a JSON object, got {_json_kind(data)}"
        raise FileFormatError(msg, file=_label(path), line=1)
    return _parsed(parse, data, path, None)


def read_mapping(path: str | os.PathLike[str], *, stdin: IO[bytes] | None = None) -> dict[str, Any]:
    """A JSON or TOML document as a dict, chosen by the file name.

    ``.toml`` is TOML, anything else JSON; ``"-"`` (standard input) is JSON
    when it starts with ``{`` and TOML otherwise. YAML is refused by name.

    .. versionadded:: 0.2.0
    """
    name = str(path)
    if name.lower().endswith(_YAML):
        msg = "YAML is not supported; use TOML or JSON"
        raise FileFormatError(msg, file=_label(name))
    text = read_text(name, stdin=stdin)
    is_toml = name.lower().endswith(".toml") or (name == "-" and not text.lstrip().startswith("{"))
    if is_toml:
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            msg = f"not valid TOML: {exc}"
            raise FileFormatError(msg, file=_label(name)) from None
    data = _loads(text, name, None)
    if not isinstance(data, dict):
        msg = f"the top level must be an object, got {_json_kind(data)}"
        raise FileFormatError(msg, file=_label(name), line=1)
    return data


# -- writing -------------------------------------------------------------------------


def atomic_write(path: str, chunks: Iterable[str], *, stdout: IO[str] | None = None) -> None:
    """Write ``chunks`` to ``path`` so that it holds the old text or the new, never half.

    The text goes to a temporary file in the same folder, is flushed and
    synced to disk, and replaces ``path`` in one ``os.replace``; the file's
    permission bits are kept. ``"-"`` writes to ``stdout`` (default
    ``sys.stdout``); a device or pipe (``/dev/null``) is written directly.
    Errors (missing folder, no permission, a folder in the way) are a
    :class:`~leadroute.exceptions.FileFormatError` naming the file, and
    leave the old file as it was.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> atomic_write(str(p), ["a\\n", "b\\n"])
    >>> p.read_text()
    'a\\nb\\n'

    .. versionadded:: 0.2.0
    """
    if path == "-":
        stream = stdout if stdout is not None else sys.stdout
        for chunk in chunks:
            stream.write(chunk)
        stream.flush()
        return
    target = Path(os.path.realpath(path))  # through a symbolic link, not over it
    try:
        st: os.stat_result | None = target.stat()
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise _os_error(path, exc, "write") from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        msg = "cannot write: is a folder, not a file"
        raise FileFormatError(msg, file=_label(path))
    if st is not None and not stat.S_ISREG(st.st_mode):
        _write_direct(path, chunks)
        return
    folder = target.parent
    tmp, fd = _create_temp(path, folder)
    try:
        with open(fd, "w", encoding="utf-8", newline="\n") as fh:
            for chunk in chunks:
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        if st is not None:
            os.chmod(tmp, stat.S_IMODE(st.st_mode))
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _os_error(path, exc, "write") from None
        raise
    _sync_folder(folder)


def _create_temp(path: str, folder: Path) -> tuple[Path, int]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    while True:
        tmp = folder / f".{Path(path).name}.{os.getpid()}.{next(_counter)}.tmp"
        try:
            return tmp, os.open(tmp, flags, 0o666)
        except FileExistsError:  # pragma: no cover - a leftover of the same pid
            continue
        except OSError as exc:
            raise _os_error(path, exc, "write") from None


def _write_direct(path: str, chunks: Iterable[str]) -> None:
    try:
        with Path(path).open("w", encoding="utf-8", newline="\n") as fh:
            for chunk in chunks:
                fh.write(chunk)
    except OSError as exc:
        raise _os_error(path, exc, "write") from None


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); skipped where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse
        pass
    finally:
        os.close(fd)
