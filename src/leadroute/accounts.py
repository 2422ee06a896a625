"""Account matching: which account a lead belongs to, and why.

An :class:`AccountMatcher` turns a lead into an :class:`AccountMatch`: the
account key, the method that found it and the lead's text it came from.
Give one to the router (``Router(..., accounts=AccountMatcher(...))``) and
the router records owners under its keys and :class:`~leadroute.strategies.Ownership`
reads the lead's account through it; the audit says how each lead was matched.

>>> from datetime import datetime, timezone
>>> from leadroute import Lead
>>> at = datetime(2026, 3, 2, 9, tzinfo=timezone.utc)
>>> matcher = AccountMatcher(aliases={"字节跳动": "bytedance"})
>>> matcher.match(Lead(id="L1", created_at=at, company="字节跳动有限公司"))
AccountMatch(key='bytedance', method='alias', text='字节跳动有限公司')
>>> matcher.match(Lead(id="L2", created_at=at, email="li@sales.acme.com"))
AccountMatch(key='@acme.com', method='email domain', text='li@sales.acme.com')

.. versionadded:: 0.2.0
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, NamedTuple

from leadroute.exceptions import ConfigError, StrategyError
from leadroute.models import Lead
from leadroute.normalize import (
    company_key,
    company_of,
    email_domain,
    registrable_domain,
    require_romanisation,
    romanised_key,
    web_domain,
)

__all__ = ["AccountMatch", "AccountMatcher", "default_match"]

#: How a key was found, in the order they are tried.
Method = Literal["account_key", "alias", "company", "romanised", "email domain", "web domain"]

_LABELS: dict[str, str] = {
    "account_key": "account_key",
    "alias": "alias",
    "company": "company key",
    "romanised": "romanised key",
    "email domain": "e-mail domain",
    "web domain": "web domain",
}


class AccountMatch(NamedTuple):
    """The account of one lead: ``key``, the ``method`` that found it, the lead's ``text``.

    >>> AccountMatch("moumou tech", "romanised", "Beijing Moumou Technology Co., Ltd.").describe(
    ...     "北京某某科技有限公司")
    'account: matched "Beijing Moumou Technology Co., Ltd." to 北京某某科技有限公司 by romanised key'

    .. versionadded:: 0.2.0
    """

    key: str
    method: Method
    text: str

    def describe(self, known: str | None = None) -> str:
        """One line for the audit; ``known`` is the name the account was first seen under."""
        label = _LABELS[self.method]
        if known is not None and known != self.text:
            return f'account: matched "{self.text}" to {known} by {label}'
        return f'account: "{self.text}" is account {self.key!r} by {label}'


def default_match(lead: Lead) -> AccountMatch | None:
    """The router's account rule without a matcher: ``account_key``, company key, mail domain.

    The same keys as :func:`leadroute.normalize.account_key_of`.

    .. versionadded:: 0.2.0
    """
    if lead.account_key:
        return AccountMatch(lead.account_key, "account_key", lead.account_key)
    if not lead.company and not lead.email:
        return None  # (the common case of a bare lead, without the three lookups below)
    company = company_of(lead)
    key = company_key(company)
    if key is not None and company is not None:
        return AccountMatch(key, "company", company)
    domain = registrable_domain(email_domain(lead.email))
    if domain is not None and lead.email is not None:
        return AccountMatch(f"@{domain}", "email domain", lead.email)
    return None


def _freeze(aliases: Any) -> Mapping[str, str]:
    if aliases is None:
        return MappingProxyType({})
    if not isinstance(aliases, Mapping):
        msg = f"AccountMatcher(aliases={aliases!r}): a mapping of name -> account name"
        raise StrategyError(msg, field="aliases")
    for name, target in aliases.items():
        if not isinstance(name, str) or not name.strip():
            msg = f"AccountMatcher(aliases): alias name {name!r} must be a non-empty text"
            raise StrategyError(msg, field="aliases")
        if not isinstance(target, str) or not target.strip():
            msg = (
                f"AccountMatcher(aliases[{name!r}]={target!r}): the account name is a non-empty text"
            )
            raise StrategyError(msg, field=f"aliases.{name}")
    return MappingProxyType(dict(sorted(aliases.items())))


@dataclass(frozen=True, slots=True, repr=False)
class AccountMatcher:
    """How the router finds a lead's account (who owns it, where it goes).

    Tried in order, first hit wins:

    1. the lead's ``account_key`` (method ``"account_key"``);
    2. ``aliases``: a table a CRM supplies, name -> account name
       (``{"字节跳动": "bytedance"}``); a name matches however it is written
       (case, width, punctuation, legal suffix; with ``romanize`` also in the
       other script), and a name that is a domain (``"bytedance.com"``)
       matches leads by their mail or web domain. Aliases always win over
       the keys below (method ``"alias"``). The target is an account name,
       folded like a company name, so ``{"字节跳动": "ByteDance"}`` puts
       字节跳动 on the account of the leads written ``"ByteDance Ltd."``;
    3. the company name: :func:`~leadroute.normalize.company_key`
       (``"company"``), or with ``romanize=True``
       :func:`~leadroute.normalize.romanised_key` so Chinese and
       pinyin/English spellings meet (``"romanised"``; needs the extra
       ``accounts``, checked when the matcher is built);
    4. the registrable domain of a company e-mail address, ``'@acme.com'``
       (``"email domain"``; free-mail providers never match);
    5. the registrable domain of the web address in the lead attribute
       ``web_field`` (``"web domain"``), the same ``'@acme.com'`` key.

    >>> AccountMatcher(aliases={"字节跳动": "bytedance"}, romanize=False)
    AccountMatcher(aliases={'字节跳动': 'bytedance'}, romanize=False, web_field='website')

    .. versionadded:: 0.2.0
    """

    aliases: Mapping[str, str] = field(default_factory=dict)
    romanize: bool = False
    web_field: str = "website"
    _index: Mapping[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.romanize, bool):
            msg = f"AccountMatcher(romanize={self.romanize!r}): true or false"
            raise StrategyError(msg, field="romanize")
        if not isinstance(self.web_field, str) or not self.web_field:
            msg = f"AccountMatcher(web_field={self.web_field!r}): the name of a lead attribute"
            raise StrategyError(msg, field="web_field")
        if self.romanize:
            require_romanisation()
        aliases = _freeze(self.aliases)
        object.__setattr__(self, "aliases", aliases)
        index: dict[str, str] = {}
        first: dict[str, str] = {}
        for name, target in aliases.items():
            for found in self._alias_keys(name):
                held = index.get(found)
                if held is not None and held != self._target_key(target):
                    msg = (
                        f"AccountMatcher(aliases): {first[found]!r} -> "
                        f"{aliases[first[found]]!r} and {name!r} -> {target!r}: "
                        "one name written two ways points at two accounts"
                    )
                    raise StrategyError(msg, field=f"aliases.{name}")
                index[found] = self._target_key(target)
                first.setdefault(found, name)
        object.__setattr__(self, "_index", MappingProxyType(index))

    def __repr__(self) -> str:
        return (
            f"AccountMatcher(aliases={dict(self.aliases)!r}, romanize={self.romanize!r}, "
            f"web_field={self.web_field!r})"
        )

    def __hash__(self) -> int:
        return hash((tuple(self.aliases.items()), self.romanize, self.web_field))

    def _target_key(self, target: str) -> str:
        """The account key of an alias target: the target folded like a company name."""
        found = romanised_key(target) if self.romanize else company_key(target)
        return target if found is None else found

    def _alias_keys(self, name: str) -> list[str]:
        keys = []
        plain = company_key(name)
        if plain is not None:
            keys.append(f"c:{plain}")
        if self.romanize:
            roman = romanised_key(name)
            if roman is not None:
                keys.append(f"r:{roman}")
        text = name.strip()
        if " " not in text and "." in text:
            domain = registrable_domain(text.split("@")[-1])
            if domain is not None:
                keys.append(f"d:{domain}")
        return keys

    def match(self, lead: Lead) -> AccountMatch | None:
        """The lead's account and how it was found, or ``None`` when nothing identifies it."""
        if lead.account_key:
            return AccountMatch(lead.account_key, "account_key", lead.account_key)
        index = self._index
        company = company_of(lead)
        plain = company_key(company)
        roman = romanised_key(company) if self.romanize and plain is not None else None
        if company is not None and index:
            for found in (plain and f"c:{plain}", roman and f"r:{roman}"):
                if found and found in index:
                    return AccountMatch(index[found], "alias", company)
        if company is not None and not index:
            if roman is not None:
                return AccountMatch(roman, "romanised", company)
            if plain is not None:
                return AccountMatch(plain, "company", company)
        email = lead.email
        mail = registrable_domain(email_domain(email))
        raw_web = lead.attributes.get(self.web_field)
        web_text = raw_web if isinstance(raw_web, str) else None
        web = web_domain(web_text)
        if index:
            if email is not None and mail is not None and f"d:{mail}" in index:
                return AccountMatch(index[f"d:{mail}"], "alias", email)
            if web_text is not None and web is not None and f"d:{web}" in index:
                return AccountMatch(index[f"d:{web}"], "alias", web_text)
            if company is not None:
                if roman is not None:
                    return AccountMatch(roman, "romanised", company)
                if plain is not None:
                    return AccountMatch(plain, "company", company)
        if email is not None and mail is not None:
            return AccountMatch(f"@{mail}", "email domain", email)
        if web_text is not None and web is not None:
            return AccountMatch(f"@{web}", "web domain", web_text)
        return None

    def key_of(self, lead: Lead) -> str | None:
        """The lead's account key (``match(lead).key``), or ``None``."""
        found = self.match(lead)
        return None if found is None else found.key

    # -- config -----------------------------------------------------------------------
    def to_config(self) -> dict[str, Any]:
        """The data form (``{"aliases": {...}, "romanize": false}``), for the ``accounts`` key."""
        out: dict[str, Any] = {"aliases": dict(self.aliases), "romanize": self.romanize}
        if self.web_field != "website":
            out["web_field"] = self.web_field
        return out

    @classmethod
    def from_config(cls, data: Any, path: str = "accounts") -> AccountMatcher:
        """A matcher from its data form; errors are :class:`ConfigError` naming ``path``."""
        if not isinstance(data, Mapping):
            msg = "a table with 'aliases' and 'romanize'"
            raise ConfigError(msg, path=path)
        allowed = ("aliases", "romanize", "web_field")
        for key in data:
            if key not in allowed:
                msg = f"unknown key {key!r} (expected {', '.join(allowed)})"
                raise ConfigError(msg, path=f"{path}.{key}")
        try:
            return cls(
                aliases=data.get("aliases") or {},
                romanize=data.get("romanize", False),
                web_field=data.get("web_field", "website"),
            )
        except StrategyError as exc:
            where = f"{path}.{exc.field}" if exc.field else path
            raise ConfigError(str(exc), path=where) from None
