"""Filters on what a rep covers: industry, skills, language, team, named roster.

All of them depend only on the lead and the rep, so the router answers them
from an index over the roster built once per call.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from leadroute.audit import Drop
from leadroute.exceptions import StrategyError
from leadroute.models import lead_value
from leadroute.regions import WILDCARD
from leadroute.strategies.base import Filter

if TYPE_CHECKING:
    from leadroute.context import RouteContext
    from leadroute.models import Lead, Rep

__all__ = ["Industry", "Language", "Roster", "Skill", "Team"]

IfMissing = Literal["keep", "drop"]


@functools.lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Case- and space-insensitive form used for matching names."""
    return " ".join(text.casefold().split())


def _as_names(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(fold(p) for p in value.split(",") if p.strip())
    if isinstance(value, (list, tuple)):
        return tuple(fold(str(v)) for v in value if str(v).strip())
    return (fold(str(value)),)


def _check_missing(name: str, value: str) -> None:
    if value not in ("keep", "drop"):
        msg = f"{name}(if_missing={value!r}): use 'keep' or 'drop'"
        raise StrategyError(msg, field="if_missing")


@dataclass(frozen=True, slots=True, repr=False)
class Industry(Filter):
    """Keep reps whose ``industries`` include the lead's industry (``*`` covers all).

    Names match case-insensitively. A lead without an industry keeps every
    rep (``if_missing="keep"``, the default) or none (``"drop"``).

    >>> Industry()
    Industry()

    .. versionadded:: 0.1.0
    """

    field: str = "industry"
    if_missing: IfMissing = "keep"

    code: ClassVar[str] = "industry"
    indexable: ClassVar[bool] = True

    def __post_init__(self) -> None:
        _check_missing("Industry", self.if_missing)

    def rep_keys(self, rep: Rep) -> Iterable[str]:
        return tuple(fold(i) for i in rep.industries)

    def lead_keys(self, lead: Lead) -> tuple[str, ...] | None:
        value = lead_value(lead, self.field)
        if value is None or value == "":
            return None if self.if_missing == "keep" else ()
        return (fold(str(value)), WILDCARD)

    def check(self, lead: Lead, rep: Rep, ctx: RouteContext) -> Drop | None:
        keys = self.lead_keys(lead)
        if keys is None:
            return None
        value = lead_value(lead, self.field)
        if not keys:
            return self.drop(rep, f"lead has no {self.field}")
        held = self.rep_keys(rep)
        if any(k in held for k in keys):
            return None
        shown = ", ".join(rep.industries) or "none"
        return self.drop(
            rep, f"{value} not in {shown}", industry=value, industries=list(rep.industries)
        )


@dataclass(frozen=True, slots=True, repr=False)
class Skill(Filter):
    """Keep reps holding every skill the lead requires.

    The required skills are read from the lead field ``field`` (a model field
    or a key of ``attributes``; a list or a comma-separated string). A lead
    requiring nothing keeps everyone. Skills include certifications.

    >>> Skill(field="attributes.needs")
    Skill(field='attributes.needs')

    .. versionadded:: 0.1.0
    """

    field: str = "skills"

    code: ClassVar[str] = "skill"
    indexable: ClassVar[bool] = True
    index_all: ClassVar[bool] = True

    def rep_keys(self, rep: Rep) -> Iterable[str]:
        return tuple(fold(s) for s in rep.skills)

    def lead_keys(self, lead: Lead) -> tuple[str, ...] | None:
        needed = _as_names(lead_value(lead, self.field))
        return needed or None

    def check(self, lead: Lead, rep: Rep, ctx: RouteContext) -> Drop | None:
        needed = self.lead_keys(lead)
        if needed is None:
            return None
        held = set(self.rep_keys(rep))
        missing = [s for s in needed if s not in held]
        if not missing:
            return None
        return self.drop(rep, f"lacks {', '.join(missing)}", missing=missing, required=list(needed))


@dataclass(frozen=True, slots=True, repr=False)
class Language(Filter):
    """Keep reps who speak the lead's language.

    Tags match by prefix: a rep speaking ``zh`` covers ``zh-CN`` leads; a rep
    speaking only ``zh-TW`` does not cover ``zh-CN``. Case-insensitive.

    >>> Language()
    Language()

    .. versionadded:: 0.1.0
    """

    field: str = "language"
    if_missing: IfMissing = "keep"

    code: ClassVar[str] = "language"
    indexable: ClassVar[bool] = True

    def __post_init__(self) -> None:
        _check_missing("Language", self.if_missing)

    def rep_keys(self, rep: Rep) -> Iterable[str]:
        return tuple(fold(lang).replace("_", "-") for lang in rep.languages)

    def lead_keys(self, lead: Lead) -> tuple[str, ...] | None:
        value = lead_value(lead, self.field)
        if value is None or value == "":
            return None if self.if_missing == "keep" else ()
        parts = fold(str(value)).replace("_", "-").split("-")
        return tuple("-".join(parts[: i + 1]) for i in range(len(parts)))

    def check(self, lead: Lead, rep: Rep, ctx: RouteContext) -> Drop | None:
        keys = self.lead_keys(lead)
        if keys is None:
            return None
        if not keys:
            return self.drop(rep, f"lead has no {self.field}")
        held = self.rep_keys(rep)
        if any(k in held for k in keys):
            return None
        value = lead_value(lead, self.field)
        shown = ", ".join(rep.languages) or "none"
        return self.drop(
            rep,
            f"does not speak {value} (speaks {shown})",
            language=value,
            languages=list(rep.languages),
        )


@dataclass(frozen=True, slots=True, repr=False)
class Team(Filter):
    """Keep reps of the named teams.

    >>> Team(("emea", "apac"))
    Team(teams=('emea', 'apac'))

    .. versionadded:: 0.1.0
    """

    teams: tuple[str, ...]

    code: ClassVar[str] = "team"
    indexable: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if isinstance(self.teams, str):
            object.__setattr__(self, "teams", (self.teams,))
        if not self.teams:
            msg = "Team(teams=()): name at least one team"
            raise StrategyError(msg, field="teams")

    def rep_keys(self, rep: Rep) -> Iterable[str]:
        return () if rep.team is None else (rep.team,)

    def lead_keys(self, lead: Lead) -> tuple[str, ...] | None:
        return tuple(self.teams)

    def check(self, lead: Lead, rep: Rep, ctx: RouteContext) -> Drop | None:
        if rep.team in self.teams:
            return None
        return self.drop(rep, f"team {rep.team} not in {', '.join(self.teams)}", team=rep.team)


@dataclass(frozen=True, slots=True, repr=False)
class Roster(Filter):
    """Keep only the named reps (a queue or a hand-picked group).

    >>> Roster(("alice", "bob"))
    Roster(rep_ids=('alice', 'bob'))

    .. versionadded:: 0.1.0
    """

    rep_ids: tuple[str, ...]

    code: ClassVar[str] = "roster"
    indexable: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if isinstance(self.rep_ids, str):
            object.__setattr__(self, "rep_ids", (self.rep_ids,))
        if not self.rep_ids:
            msg = "Roster(rep_ids=()): name at least one rep"
            raise StrategyError(msg, field="rep_ids")
        if len(set(self.rep_ids)) != len(self.rep_ids):
            msg = f"Roster(rep_ids={self.rep_ids!r}): a rep is named twice"
            raise StrategyError(msg, field="rep_ids")

    def named_reps(self) -> Iterable[str]:
        return self.rep_ids

    def rep_keys(self, rep: Rep) -> Iterable[str]:
        return (rep.id,)

    def lead_keys(self, lead: Lead) -> tuple[str, ...] | None:
        return self.rep_ids

    def check(self, lead: Lead, rep: Rep, ctx: RouteContext) -> Drop | None:
        if rep.id in self.rep_ids:
            return None
        return self.drop(rep, "not on the roster")
