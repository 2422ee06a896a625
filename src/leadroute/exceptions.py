"""Exceptions raised by leadroute.

Every error derives from :class:`LeadrouteError` and also from the standard
type that fits, so ``except ValueError`` keeps working::

    LeadrouteError
    ├── ConfigError (ValueError)           bad rule/strategy config; names the path
    ├── StrategyError (ValueError)         bad strategy parameters at construction
    ├── InputError (ValueError)            bad call input; names lead/rep/field
    │   ├── ModelError                     a model (Lead, Rep, PoolState...) that does not
    │   │                                  validate; keeps pydantic's ``errors()``
    │   ├── DuplicateLeadError             the same lead id twice in one batch
    │   ├── LeadAlreadyOpenError           a lead that is already open in the state
    │   ├── LeadAlreadyClosedError         a closed lead submitted again
    │   ├── FutureLeadError                a lead dated too far after the decision clock
    │   ├── UnknownRepError (KeyError)     a rep id the state does not know
    │   ├── UnknownLeadError (KeyError)    a lead id the state does not know
    │   └── CapacityExceededError          a manual assignment over a cap, not forced
    ├── FileFormatError (ValueError)       a bad input file; names file, line and field
    └── MissingExtraError (ImportError)    a feature needs an optional extra; names it

.. versionadded:: 0.1.0
.. versionchanged:: 0.2.0
   :class:`ModelError`, :class:`LeadAlreadyClosedError` and
   :class:`FutureLeadError` added; every public entry point raises only
   these (see ``docs/errors.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "CapacityExceededError",
    "ConfigError",
    "DuplicateLeadError",
    "FileFormatError",
    "FutureLeadError",
    "InputError",
    "LeadAlreadyClosedError",
    "LeadAlreadyOpenError",
    "LeadrouteError",
    "MissingExtraError",
    "ModelError",
    "StrategyError",
    "UnknownLeadError",
    "UnknownRepError",
]


class LeadrouteError(Exception):
    """Root of every error leadroute raises."""


class ConfigError(LeadrouteError, ValueError):
    """A rule set or strategy description that cannot be loaded.

    ``path`` names where the problem is (``rules[2].route[1].weights.bob``);
    ``suggestion`` is the closest valid name when a name was misspelled.
    """

    def __init__(self, message: str, *, path: str = "", suggestion: str | None = None) -> None:
        self.path = path
        self.suggestion = suggestion
        text = f"{path}: {message}" if path else message
        if suggestion is not None:
            text = f"{text} (did you mean {suggestion!r}?)"
        super().__init__(text)


class StrategyError(LeadrouteError, ValueError):
    """A strategy built with parameters it cannot work with (``weight=-1``)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(message)


class InputError(LeadrouteError, ValueError):
    """Input to a call that cannot be processed; nothing was applied."""

    def __init__(
        self,
        message: str,
        *,
        lead_ids: Sequence[str] = (),
        rep_ids: Sequence[str] = (),
        field: str | None = None,
    ) -> None:
        self.lead_ids = tuple(lead_ids)
        self.rep_ids = tuple(rep_ids)
        self.field = field
        super().__init__(message)


class ModelError(InputError):
    """A model (``Lead``, ``Rep``, ``PoolState``, ``Rule``...) built from data that does not validate.

    Wraps pydantic's ``ValidationError``: :meth:`errors` returns its
    structured details (``loc``, ``msg``, ``type``); ``path`` names the first
    problem (``reps[wang].working_hours``; list items holding an ``id`` are
    named by it); ``model`` is the model's name.

    .. versionadded:: 0.2.0
    """

    def __init__(
        self, message: str, *, model: str, path: str = "", errors: Sequence[Any] = ()
    ) -> None:
        self.model = model
        self.path = path
        self._errors = list(errors)
        super().__init__(message, field=path or None)

    def errors(self) -> list[Any]:
        """pydantic's structured error details (``loc``, ``msg``, ``type``, ``input``...)."""
        return list(self._errors)


class DuplicateLeadError(InputError):
    """The same lead id appears more than once in one batch."""


class LeadAlreadyOpenError(InputError):
    """A lead in the batch is already open (assigned) in the pool state."""


class LeadAlreadyClosedError(InputError):
    """A lead submitted to ``assign`` (or assigned by hand) that is already closed in ``history``.

    Closed leads are never reopened silently: route the CRM's new inquiry
    under a new lead id.

    .. versionadded:: 0.2.0
    """


class FutureLeadError(InputError):
    """A lead created further after the decision clock than the tolerance allows.

    See ``docs/errors.md`` (``FUTURE_TOLERANCE``, ``MAX_CLOCK_JUMP``).

    .. versionadded:: 0.2.0
    """


class UnknownRepError(InputError, KeyError):
    """A rep id used by a rule or a call is not in the pool state."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0])


class UnknownLeadError(InputError, KeyError):
    """A lead id that the pool state does not hold (or no longer holds open)."""

    def __str__(self) -> str:
        return str(self.args[0])


class CapacityExceededError(InputError):
    """A manual assignment would break a rep's cap and was not forced."""


class FileFormatError(LeadrouteError, ValueError):
    """A file that cannot be read; names the file, the line and the field."""

    def __init__(
        self, message: str, *, file: str, line: int | None = None, field: str | None = None
    ) -> None:
        self.file = file
        self.line = line
        self.field = field
        where = file if line is None else f"{file}:{line}"
        text = f"{where}: {field}: {message}" if field else f"{where}: {message}"
        super().__init__(text)



class MissingExtraError(LeadrouteError, ImportError):
    """A feature needs an optional extra that is not installed; ``extra`` names it.

    The message says what to install (``pip install "leadroute[accounts]"``).

    .. versionadded:: 0.2.0
    """

    def __init__(self, feature: str, *, extra: str, module: str) -> None:
        self.extra = extra
        self.module = module
        text = f'{feature} needs {module}: pip install "leadroute[{extra}]"'
        super().__init__(text, name=module)
