"""Account keys: fold company names and e-mail domains so one account meets itself.

``company_key`` folds Unicode width (full-width to half-width), case,
punctuation and whitespace, and strips legal-form suffixes in Chinese and
English, so ``"北京某某科技有限公司"`` and ``"北京某某科技"`` meet, and
``"ACME Inc."`` and ``"acme"`` meet.

Limits: it does not translate (``"北京某某有限公司"`` and ``"Beijing Moumou
Co., Ltd"`` stay two keys unless the CRM gives an ``account_key`` or a shared
e-mail domain); it does not strip a legal form in the middle of a name; it
strips at most the trailing suffixes it knows.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import re
import unicodedata

from leadroute.models import Lead

__all__ = ["FREE_MAIL_DOMAINS", "LEGAL_SUFFIXES", "account_key_of", "company_key", "email_domain"]

#: Legal-form suffixes removed from the end of a name (after folding), longest first.
LEGAL_SUFFIXES: tuple[str, ...] = tuple(
    sorted(
        {
            # Chinese
            "股份有限公司",
            "有限责任公司",
            "有限公司",
            "集团有限公司",
            "集团股份有限公司",
            "集团公司",
            "集团",
            "公司",
            "分公司",
            "有限",
            "股份公司",
            # English and European
            "co ltd",
            "co limited",
            "company limited",
            "limited",
            "ltd",
            "inc",
            "incorporated",
            "llc",
            "llp",
            "lp",
            "plc",
            "corp",
            "corporation",
            "company",
            "co",
            "group",
            "gmbh",
            "ag",
            "sa",
            "sarl",
            "sas",
            "bv",
            "nv",
            "oy",
            "ab",
            "as",
            "spa",
            "srl",
            "pte ltd",
            "pty ltd",
            "pte",
            "pty",
            "kk",
            "kg",
        },
        key=len,
        reverse=True,
    )
)

#: Mail domains that identify a mailbox provider, not a company.
FREE_MAIL_DOMAINS: frozenset[str] = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "msn.com",
        "yahoo.com",
        "yahoo.co.jp",
        "ymail.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "gmx.com",
        "gmx.de",
        "web.de",
        "mail.ru",
        "yandex.ru",
        "qq.com",
        "foxmail.com",
        "163.com",
        "126.com",
        "yeah.net",
        "sina.com",
        "sina.cn",
        "sohu.com",
        "aliyun.com",
        "139.com",
        "189.cn",
        "naver.com",
        "hanmail.net",
    }
)

_PUNCT = re.compile(r"[\W_]+", re.UNICODE)
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def _fold(text: str) -> str:
    """NFKC (full-width to half-width), case-fold, punctuation to spaces, collapse spaces."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_PUNCT.sub(" ", text).split())


def company_key(name: str | None) -> str | None:
    """The account key of a company name, or ``None`` for an empty name.

    >>> company_key("北京某某科技有限公司") == company_key("北京某某科技")
    True
    >>> company_key("ACME Inc.") == company_key("acme")
    True
    >>> company_key("ＡＣＭＥ  Co., Ltd.")
    'acme'
    """
    if not name:
        return None
    folded = _fold(name)
    changed = True
    while changed and folded:
        changed = False
        for suffix in LEGAL_SUFFIXES:
            if _CJK.match(suffix):
                if folded.endswith(suffix) and len(folded) > len(suffix):
                    folded = folded[: -len(suffix)].rstrip()
                    changed = True
                    break
            elif folded.endswith(" " + suffix):
                folded = folded[: -len(suffix) - 1].rstrip()
                changed = True
                break
    key = folded.replace(" ", "")
    return key or None


def email_domain(email: str | None) -> str | None:
    """The company domain of an address, or ``None`` for free mail and bad input.

    >>> email_domain("Li.Wei@Example.COM")
    'example.com'
    >>> email_domain("someone@qq.com") is None
    True
    """
    if not email or "@" not in email:
        return None
    domain = unicodedata.normalize("NFKC", email).rsplit("@", 1)[1].strip().strip(".").casefold()
    if not domain or "." not in domain or domain in FREE_MAIL_DOMAINS:
        return None
    return domain


def account_key_of(lead: Lead) -> str | None:
    """The lead's account: its ``account_key``, else its company key, else its mail domain."""
    if lead.account_key:
        return lead.account_key
    key = company_key(lead.company)
    if key is not None:
        return key
    domain = email_domain(lead.email)
    return None if domain is None else f"@{domain}"
