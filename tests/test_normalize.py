"""Account keys from company names and e-mail domains."""

from __future__ import annotations

import pytest

from leadroute.normalize import account_key_of, company_key, email_domain
from tests.conftest import lead


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("北京某某科技有限公司", "北京某某科技"),
        ("北京某某科技股份有限公司", "北京某某科技"),
        ("上海某某集团", "上海某某"),
        ("ACME Inc.", "acme"),
        ("ＡＣＭＥ　Ｃｏ．， Ｌｔｄ．", "Acme"),
        ("Acme GmbH & Co. KG", "ACME"),
        ("  acme,  LLC ", "acme"),
    ],
)
def test_company_names_meet(a: str, b: str) -> None:
    """Case, width, punctuation and legal-form suffixes do not split an account."""
    assert company_key(a) == company_key(b)


def test_different_companies_differ() -> None:
    """Distinct names stay distinct; a bare legal form is not a key."""
    assert company_key("Acme") != company_key("Apex")
    assert company_key("") is None
    assert company_key("Inc.") == "inc"


def test_email_domain_and_free_mail() -> None:
    """Company domains are keys; free-mail domains and bad addresses are not."""
    assert email_domain("Li@Example.COM") == "example.com"
    assert email_domain("x@qq.com") is None
    assert email_domain("x@gmail.com") is None
    assert email_domain("not-an-address") is None


def test_account_key_of_precedence() -> None:
    """account_key first, then company, then company mail domain."""
    assert account_key_of(lead("a", account_key="K1", company="Acme")) == "K1"
    assert account_key_of(lead("b", company="Acme Ltd", email="x@acme.com")) == "acme"
    assert account_key_of(lead("c", email="x@acme.com")) == "@acme.com"
    assert account_key_of(lead("d", email="x@163.com")) is None
