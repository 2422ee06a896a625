"""Account matching: names across scripts and spellings, aliases, domains, the router."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadroute import (
    AccountMatch,
    AccountMatcher,
    ConfigError,
    InputError,
    MissingExtraError,
    PoolState,
    Router,
    Rule,
    StrategyError,
)
from leadroute import normalize as nz
from leadroute.accounts import default_match
from leadroute.cli import main as cli_main
from leadroute.normalize import (
    account_key_of,
    company_key,
    email_domain,
    registrable_domain,
    romanised_key,
    web_domain,
)
from leadroute.strategies import FunctionFilter, Ownership, RoundRobin
from tests.conftest import lead, rep

#: What a CRM would supply for brands whose English name is not their pinyin.
ALIASES = {
    "字节跳动": "ByteDance",
    "字节跳动科技": "ByteDance Technology",
    "腾讯科技": "Tencent Technology",
}
MATCHER = AccountMatcher(aliases=ALIASES, romanize=True)

# (name a, name b, same account?) -- real-world shapes: Chinese, English, mixed,
# with and without legal suffixes, branches, and near-misses that must stay apart.
PAIRS: list[tuple[str, str, bool]] = [
    # the article's example and its spellings
    ("北京某某科技有限公司", "北京某某科技", True),
    ("北京某某科技有限公司", "Beijing Moumou Technology Co., Ltd.", True),
    ("北京某某科技有限公司", "Moumou Technology", True),
    ("北京某某科技有限公司", "BEIJING MOUMOU SCIENCE AND TECHNOLOGY CO.,LTD", True),
    ("北京某某科技有限公司", "Beijing Moumou Sci-Tech Co., Ltd.", True),
    ("北京某某科技有限公司", "Beijing Moumou Keji Youxian Gongsi", True),
    ("北京某某科技有限公司", "北京市某某科技有限公司", True),
    ("北京某某科技有限公司", "某某科技（北京）有限公司", True),
    ("北京某某科技有限公司", "ＢＥＩＪＩＮＧ ＭＯＵＭＯＵ ＴＥＣＨＮＯＬＯＧＹ", True),
    ("北京某某科技有限公司", "北京 某某 科技 有限公司", True),
    # branches and regional subsidiaries
    ("北京某某科技有限公司", "北京某某科技有限公司上海分公司", True),
    ("北京某某科技有限公司", "Beijing Moumou Technology Co., Ltd. Shanghai Branch", True),
    ("某某软件（中国）有限公司", "Moumou Software (China) Co., Ltd.", True),
    ("某某（香港）有限公司", "Moumou (Hong Kong) Limited", True),
    ("某某科技有限公司北京办事处", "Moumou Technology Beijing Representative Office", True),
    ("IBM（中国）有限公司", "IBM China Co., Ltd.", True),
    ("IBM", "IBM中国", True),
    ("ABB（中国）有限公司", "ABB (China) Ltd.", True),
    # descriptors in both scripts
    ("华为技术有限公司", "Huawei Technologies Co., Ltd.", True),
    ("阿里巴巴（中国）网络技术有限公司", "Alibaba (China) Network Technology Co., Ltd.", True),
    ("阿里巴巴（中国）有限公司", "Alibaba (China) Co., Ltd.", True),
    ("小米科技有限责任公司", "Xiaomi Technology Co., Ltd.", True),
    ("海尔集团公司", "Haier Group Corporation", True),
    ("上海某某贸易有限公司", "Shanghai Moumou Trading Co., Ltd.", True),
    ("上海某某进出口有限公司", "Shanghai Moumou Import & Export Co., Ltd.", True),
    ("深圳某某电子有限公司", "Shenzhen Moumou Electronics Co., Ltd.", True),
    ("广州某某医疗器械有限公司", "Guangzhou Moumou Medical Equipment Co., Ltd.", True),
    ("杭州某某网络科技有限公司", "Hangzhou Moumou Network Technology Co., Ltd.", True),
    ("某某信息技术有限公司", "Moumou Information Technology Co., Ltd.", True),
    ("成都某某生物科技有限公司", "Chengdu Moumou Biotech Co., Ltd.", True),
    ("成都某某生物科技", "Chengdu Moumou Biotechnology", True),
    ("某某物流有限公司", "Moumou Logistics Limited", True),
    ("某某投资控股有限公司", "Moumou Investment Holdings Ltd", True),
    ("西安某某科技有限公司", "Xi'an Moumou Sci-Tech Co., Ltd", True),
    ("中国银行", "Bank of China", True),
    ("中国银行股份有限公司", "Bank of China Limited", True),
    ("北京银行", "Bank of Beijing", True),
    ("中国电信", "China Telecom", True),
    ("上海浦东发展银行", "Shanghai Pudong Development Bank", True),
    ("中国平安保险（集团）股份有限公司", "Ping An Insurance (Group) Company of China, Ltd.", True),
    ("重庆长安汽车股份有限公司", "Chongqing Changan Automobile Co., Ltd.", True),
    ("海南航空控股股份有限公司", "Hainan Airlines Holding Co., Ltd.", True),
    ("青岛啤酒股份有限公司", "Tsingtao Brewery Co., Ltd.", True),
    ("中国移动", "China Mobile", True),
    # aliases a CRM supplies
    ("字节跳动有限公司", "ByteDance Ltd.", True),
    ("北京字节跳动科技有限公司", "Beijing ByteDance Technology Co., Ltd.", True),
    ("腾讯科技（深圳）有限公司", "Tencent Technology (Shenzhen) Company Limited", True),
    # English and European legal forms
    ("ACME S.A.", "Acme SA", True),
    ("Acme GmbH", "ACME G.m.b.H.", True),
    ("Acme S.p.A.", "Acme SpA", True),
    ("Acme B.V.", "Acme BV", True),
    ("Acme Inc.", "Acme Corporation", True),
    ("The Acme Company", "Acme", True),
    ("ＡＣＭＥ　Ｃｏ．，Ｌｔｄ．", "Acme Co Ltd", True),
    ("3M Company", "3M", True),
    ("AT&T Inc.", "AT&T", True),
    ("Procter & Gamble", "Procter and Gamble", True),
    ("Toyota Motor Corporation", "Toyota Motors", True),
    # near-misses that must NOT match
    ("北京某某科技", "北京某某贸易", False),
    ("北京某某科技", "北京某某信息", False),
    ("北京某某科技", "北京某某", False),
    ("北京某某科技", "北京某甲科技", False),
    ("北京某某科技", "北京某某科技发展", False),
    ("深圳某某电子", "深圳某某电气", False),
    ("杭州某某网络科技", "杭州某某软件", False),
    ("某某医疗", "某某医药", False),
    ("小米科技", "小米通讯技术有限公司", False),
    ("华为技术有限公司", "华为终端有限公司", False),
    ("阿里巴巴", "阿里云", False),
    ("北京银行", "上海银行", False),
    ("中国电信", "中国移动", False),
    ("青岛啤酒", "北京啤酒", False),
    ("Acme", "Acme Bank", False),
    ("Acme Ltd", "Acme Holdings", False),
    ("Acme Trading", "Acme Technology", False),
    ("Apex", "Acme", False),
    # translations no key can know without an alias
    ("招商银行", "China Merchants Bank", False),
    ("联想（北京）有限公司", "Lenovo (Beijing) Limited", False),
    ("格力电器", "Gree Electric Appliances", False),
    ("深圳市腾讯计算机系统有限公司", "Tencent", False),
    ("微软（中国）有限公司", "Microsoft (China) Co., Ltd.", False),
    ("中国工商银行", "Industrial and Commercial Bank of China", False),
    ("吉利汽车", "Geely Automobile", False),
    ("京东方科技集团股份有限公司", "BOE Technology Group Co., Ltd.", False),
]


def _key(name: str) -> str | None:
    found = MATCHER.match(lead("x", company=name))
    return None if found is None else found.key


def test_pair_table_is_large() -> None:
    """The table holds at least 60 real-world pairs, matches and near-misses both."""
    assert len(PAIRS) >= 60
    assert sum(1 for *_, same in PAIRS if not same) >= 15


@pytest.mark.parametrize(("a", "b", "same"), PAIRS)
def test_name_pairs(a: str, b: str, same: bool) -> None:
    """Two spellings of one company meet; near-misses stay apart."""
    assert (_key(a) == _key(b)) is same, (a, _key(a), b, _key(b))


def test_romanised_key_of_the_article_pair() -> None:
    """The article's pair gives one readable key: brand plus canonical descriptor."""
    assert romanised_key("北京某某科技有限公司") == "moumou tech"
    assert romanised_key("Beijing Moumou Technology Co., Ltd.") == "moumou tech"


def test_company_key_fixes_dotted_legal_forms() -> None:
    """``S.A.`` and ``SA`` are one legal form, folded before suffixes are stripped."""
    assert company_key("ACME S.A.") == company_key("Acme SA") == "acme"
    assert company_key("Acme S.A.R.L.") == "acme"
    assert company_key("E.ON SE") == company_key("e.on se")


def test_company_key_length_limit() -> None:
    """A name over MAX_NAME_CHARS raises InputError naming the field, at once."""
    with pytest.raises(InputError, match="MAX_NAME_CHARS") as info:
        company_key("a" * 3_000_000)
    assert info.value.field == "company"


def test_router_names_the_lead_with_an_overlong_company() -> None:
    """In a batch, the over-long name's error names the lead."""
    state = PoolState(reps=(rep("ann"),))
    router = Router(rules=[Rule(id="r", route=RoundRobin())])
    # built without validation: the models may refuse such a name themselves
    long = lead("L9").model_copy(update={"company": "x" * (nz.MAX_NAME_CHARS + 1)})
    with pytest.raises(InputError, match="'L9'") as info:
        router.assign(state, [long])
    assert info.value.lead_ids == ("L9",)


def test_long_names_fall_back_to_the_plain_key() -> None:
    """Names over MAX_ROMANISED_CHARS get their company key (romanising is slow)."""
    name = "某" * (nz.MAX_ROMANISED_CHARS + 1)
    assert romanised_key(name) == company_key(name)


# -- domains ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("sales.acme.com", "acme.com"),
        ("acme.com", "acme.com"),
        ("ACME.COM.", "acme.com"),
        ("shop.acme.co.uk", "acme.co.uk"),
        ("foo.co.uk", "foo.co.uk"),
        ("mail.acme.com.cn", "acme.com.cn"),
        ("x.acme.com.au", "acme.com.au"),
        ("co.uk", None),
        ("1.2.3.4", None),
        ("localhost", None),
        ("", None),
    ],
)
def test_registrable_domain(host: str, expected: str | None) -> None:
    """Hosts reduce to what a company registers; suffixes and IPs give nothing."""
    assert registrable_domain(host) == expected


def test_subdomain_mail_is_one_account() -> None:
    """``x@sales.acme.com`` and ``y@acme.com`` are one account; acme.co.uk and foo.co.uk two."""
    a = account_key_of(lead("a", email="x@sales.acme.com"))
    b = account_key_of(lead("b", email="y@acme.com"))
    assert a == b == "@acme.com"
    assert account_key_of(lead("c", email="x@acme.co.uk")) != account_key_of(
        lead("d", email="x@foo.co.uk")
    )


@pytest.mark.parametrize(
    "address",
    [
        "x@hotmail.co.uk",
        "x@outlook.de",
        "x@yahoo.fr",
        "x@yahoo.com.hk",
        "x@gmx.net",
        "x@gmx.at",
        "x@web.de",
        "x@vip.qq.com",
        "x@vip.163.com",
        "x@live.cn",
        "x@icloud.com",
        "x@proton.me",
    ],
)
def test_free_mail_is_no_account(address: str) -> None:
    """Free-mail providers (and their subdomains) are never a company domain."""
    assert email_domain(address) is None


def test_web_domain() -> None:
    """A web address reduces to its registrable domain; free-mail hosts do not count."""
    assert web_domain("https://www.acme.co.uk/about") == "acme.co.uk"
    assert web_domain("HTTP://Sales.Acme.com:8080?q=1") == "acme.com"
    assert web_domain("gmail.com") is None
    assert web_domain("not a url") is None


def test_domain_fallback_without_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without publicsuffixlist the built-in table handles the common multi-label suffixes."""
    monkeypatch.setitem(sys.modules, "publicsuffixlist", None)
    assert nz._public_suffix_list() is None
    assert registrable_domain("sales.acme.com") == "acme.com"
    assert registrable_domain("shop.acme.co.uk") == "acme.co.uk"
    assert registrable_domain("a.b.acme.com.cn") == "acme.com.cn"
    assert registrable_domain("co.uk") is None
    assert account_key_of(lead("a", email="x@sales.acme.com.au")) == "@acme.com.au"


def test_romanised_matching_without_pypinyin(monkeypatch: pytest.MonkeyPatch) -> None:
    """Asking for romanised matching without pypinyin names the extra before any work."""
    monkeypatch.setitem(sys.modules, "pypinyin", None)
    with pytest.raises(MissingExtraError, match=r"leadroute\[accounts\]") as info:
        AccountMatcher(romanize=True)
    assert info.value.extra == "accounts"
    with pytest.raises(MissingExtraError):
        romanised_key("")
    # the plain matcher needs nothing
    assert AccountMatcher().key_of(lead("a", company="ACME S.A.")) == "acme"


def test_config_without_pypinyin_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A config asking for romanised matching fails to load, naming the extra."""
    monkeypatch.setitem(sys.modules, "pypinyin", None)
    with pytest.raises(MissingExtraError, match="pypinyin"):
        Router.from_config({"rules": [], "accounts": {"romanize": True}})


# -- the matcher -----------------------------------------------------------------------


def test_match_methods_in_order() -> None:
    """account_key, alias, romanised company, e-mail domain, web domain, in that order."""
    m = MATCHER
    assert m.match(lead("a", account_key="K1", company="字节跳动")) == AccountMatch(
        "K1", "account_key", "K1"
    )
    assert m.match(lead("b", company="字节跳动有限公司", email="x@acme.com")) == AccountMatch(
        "bytedance", "alias", "字节跳动有限公司"
    )
    assert m.match(lead("c", company="北京某某科技有限公司")) == AccountMatch(
        "moumou tech", "romanised", "北京某某科技有限公司"
    )
    assert m.match(lead("d", email="x@sales.acme.com")) == AccountMatch(
        "@acme.com", "email domain", "x@sales.acme.com"
    )
    web = lead("e", email="x@gmail.com", attributes={"website": "https://www.acme.com"})
    assert m.match(web) == AccountMatch("@acme.com", "web domain", "https://www.acme.com")
    assert m.match(lead("f", email="x@gmail.com")) is None


def test_plain_matcher_uses_company_key() -> None:
    """Without romanize the company key is the plain one (method 'company')."""
    found = AccountMatcher().match(lead("a", company="Acme Ltd"))
    assert found == AccountMatch("acme", "company", "Acme Ltd")


def test_aliases_always_win() -> None:
    """An alias beats the name's own key, whatever the spelling of the name."""
    m = AccountMatcher(aliases={"Acme": "Globex"})
    assert m.key_of(lead("a", company="ACME, Inc.")) == "globex"


def test_domain_alias() -> None:
    """An alias written as a domain matches leads by mail or web domain."""
    m = AccountMatcher(aliases={"bytedance.com": "ByteDance"})
    assert m.match(lead("a", email="li@ads.bytedance.com")) == AccountMatch(
        "bytedance", "alias", "li@ads.bytedance.com"
    )


def test_conflicting_aliases_are_refused() -> None:
    """Two spellings of one name pointing at two accounts fail at construction."""
    with pytest.raises(StrategyError, match="two accounts"):
        AccountMatcher(aliases={"Acme Inc": "a", "ACME": "b"})


@pytest.mark.parametrize("aliases", [{"": "x"}, {"x": ""}, {"x": 3}, ["x"]])
def test_bad_aliases(aliases: Any) -> None:
    """Aliases must map non-empty names to non-empty account names."""
    with pytest.raises(StrategyError):
        AccountMatcher(aliases=aliases)


def test_matcher_is_frozen_and_copies_aliases() -> None:
    """The matcher copies its alias table; changing the caller's dict changes nothing."""
    table = {"字节跳动": "ByteDance"}
    m = AccountMatcher(aliases=table)
    table["腾讯"] = "Tencent"
    assert dict(m.aliases) == {"字节跳动": "ByteDance"}
    assert m == AccountMatcher(aliases={"字节跳动": "ByteDance"})
    assert hash(m) == hash(AccountMatcher(aliases={"字节跳动": "ByteDance"}))


def test_describe() -> None:
    """The audit line names the lead's text, the first name seen and the method."""
    match = AccountMatch("moumou tech", "romanised", "Beijing Moumou Technology Co., Ltd.")
    assert match.describe("北京某某科技有限公司") == (
        'account: matched "Beijing Moumou Technology Co., Ltd." to 北京某某科技有限公司 '
        "by romanised key"
    )
    assert match.describe(None) == (
        "account: \"Beijing Moumou Technology Co., Ltd.\" is account 'moumou tech' by romanised key"
    )


# -- the router ------------------------------------------------------------------------


def _owner_router(**kw: Any) -> Router:
    return Router(rules=[Rule(id="r", route=Ownership() | RoundRobin())], **kw)


def test_router_routes_two_spellings_to_one_owner() -> None:
    """With aliases, 字节跳动 and ByteDance Ltd. go to the same rep, across calls."""
    state = PoolState(reps=(rep("ann"), rep("bo"), rep("cy")))
    router = _owner_router(accounts=AccountMatcher(aliases={"字节跳动": "ByteDance"}))
    first = router.assign(state, [lead("L1", company="字节跳动有限公司")])
    second = router.assign(
        first.state, [lead("L2", 1, company="Apex"), lead("L3", 2, company="ByteDance Ltd.")]
    )
    owner = first.assignments[0].rep_id
    assert second.assignments[1].rep_id == owner
    assert second.assignments[0].rep_id != owner
    assert first.state.owners == {"bytedance": owner}


def test_without_aliases_the_spellings_split() -> None:
    """The default router keeps today's keys: the two spellings are two accounts."""
    state = PoolState(reps=(rep("ann"), rep("bo")))
    result = _owner_router().assign(
        state, [lead("L1", company="字节跳动有限公司"), lead("L2", 1, company="ByteDance Ltd.")]
    )
    assert [a.rep_id for a in result.assignments] == ["ann", "bo"]


def test_audit_says_how_the_account_matched() -> None:
    """Ownership's rationale and the decision facts carry the matching line."""
    state = PoolState(reps=(rep("ann"), rep("bo")))
    router = _owner_router(accounts=AccountMatcher(romanize=True))
    first = router.assign(state, [lead("L1", company="北京某某科技有限公司")])
    second = router.assign(
        first.state, [lead("L2", 5, company="Beijing Moumou Technology Co., Ltd.")]
    )
    line = (
        'account: matched "Beijing Moumou Technology Co., Ltd." to 北京某某科技有限公司 '
        "by romanised key"
    )
    decision = second.audit[0]
    assert decision.rep_id == "ann"
    assert decision.facts["account"] == line
    picked = next(s for s in decision.steps if s.kind == "selector" and s.picked == "ann")
    assert picked.rationale is not None
    assert picked.rationale["matched"] == line
    assert line in str(picked.rationale["why"])


def test_same_batch_names_the_first_spelling() -> None:
    """Within one call the account's first name is the lead that opened it."""
    state = PoolState(reps=(rep("ann"), rep("bo")))
    router = _owner_router(accounts=AccountMatcher(romanize=True))
    result = router.assign(
        state,
        [lead("L1", company="北京某某科技有限公司"), lead("L2", 1, company="Moumou Technology")],
    )
    assert result.audit[1].facts["account"] == (
        'account: matched "Moumou Technology" to 北京某某科技有限公司 by romanised key'
    )


def test_manual_assignment_uses_the_matcher() -> None:
    """assign_manually records the owner under the router's account key."""
    state = PoolState(reps=(rep("ann"), rep("bo")))
    matcher = AccountMatcher(aliases={"字节跳动": "ByteDance"})
    after = state.assign_manually(
        lead("L1", company="字节跳动"), "bo", at=lead("x").created_at, by="boss", accounts=matcher
    )
    assert after.owners == {"bytedance": "bo"}
    result = _owner_router(accounts=matcher).assign(after, [lead("L2", 1, company="ByteDance")])
    assert result.assignments[0].rep_id == "bo"


def test_config_round_trip() -> None:
    """``accounts`` survives to_config/from_config and is part of the policy revision."""
    router = _owner_router(
        accounts=AccountMatcher(aliases={"字节跳动": "ByteDance"}, romanize=True)
    )
    data = router.to_config()
    assert data["accounts"] == {"aliases": {"字节跳动": "ByteDance"}, "romanize": True}
    again = Router.from_config(data)
    assert again == router
    assert again.accounts == router.accounts
    assert router.policy_revision != _owner_router().policy_revision
    assert "accounts" not in _owner_router().to_config()


def test_router_accepts_the_data_form() -> None:
    """``Router(accounts={...})`` builds the matcher from its data form."""
    router = _owner_router(accounts={"aliases": {"a": "b"}})
    assert router.accounts == AccountMatcher(aliases={"a": "b"})


@pytest.mark.parametrize(
    ("accounts", "path"),
    [
        ({"alias": {}}, "accounts.alias"),
        ({"romanize": "yes"}, "accounts.romanize"),
        ({"aliases": {"x": ""}}, "accounts.aliases.x"),
        ([], "accounts"),
    ],
)
def test_config_errors_name_the_path(accounts: Any, path: str) -> None:
    """A bad ``accounts`` table is a ConfigError naming where."""
    with pytest.raises(ConfigError) as info:
        Router.from_config({"rules": [], "accounts": accounts})
    assert info.value.path == path


# -- properties ------------------------------------------------------------------------

_ALPHABET = st.sampled_from(
    list("abcxyzABCXYZ019 .,&()-_'")
    + list("某甲乙北京科技有限公司集团中国（）、，。")
    + list("ＡＢＣ０１　．")
)
_NAMES = st.text(_ALPHABET, max_size=40)


@given(_NAMES)
def test_company_key_is_idempotent(name: str) -> None:
    """Keying a key gives the key back."""
    key = company_key(name)
    if key is not None:
        assert company_key(key) == key


@given(_NAMES)
def test_keys_ignore_case_width_and_punctuation(name: str) -> None:
    """Upper case, full width and extra punctuation or spaces do not change a key."""
    wide = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in name)
    for other in (name.upper(), wide, f" {name} ", name.replace(" ", " , ")):
        assert company_key(other) == company_key(name)
        assert romanised_key(other) == romanised_key(name)


@given(_NAMES)
def test_romanised_key_is_deterministic(name: str) -> None:
    """The same name gives the same romanised key on every call."""
    assert romanised_key(name) == romanised_key(name)
    key = romanised_key(name)
    assert key is None or key == key.strip()


_EMAILS = st.sampled_from(
    ["x@acme.com", "x@sales.acme.com", "x@gmail.com", "x@acme.co.uk", "bad", "x@qq.com", None]
)


@given(
    st.builds(
        lambda company, email, key: lead("p", company=company, email=email, account_key=key),
        st.one_of(st.none(), _NAMES),
        _EMAILS,
        st.sampled_from([None, "", "K1"]),
    )
)
def test_default_match_is_account_key_of(one: Any) -> None:
    """Without a matcher the router's key is exactly ``account_key_of``."""
    found = default_match(one)
    assert (None if found is None else found.key) == account_key_of(one)


@given(st.one_of(st.none(), _NAMES), _EMAILS)
def test_plain_matcher_agrees_with_the_default(company: str | None, email: str | None) -> None:
    """``AccountMatcher()`` gives the default keys for leads without a web address."""
    one = lead("p", company=company, email=email)
    assert AccountMatcher().key_of(one) == account_key_of(one)


def test_owner_unavailable_review_says_how_it_matched() -> None:
    """When the owner is filtered out, the review pick also carries the matching line."""
    state = PoolState(reps=(rep("ann"), rep("bo")))
    matcher = AccountMatcher(aliases={"字节跳动": "ByteDance"})
    first = _owner_router(accounts=matcher).assign(state, [lead("L1", company="ByteDance Ltd.")])
    owner = first.assignments[0].rep_id
    other = "bo" if owner == "ann" else "ann"
    not_owner = FunctionFilter(lambda _lead, r: r.id == other, name="not_owner")
    route = not_owner >> (Ownership(if_unavailable="review") | RoundRobin())
    held = Router(rules=[Rule(id="r", route=route)], accounts=matcher).assign(
        first.state, [lead("L2", 1, company="字节跳动")]
    )
    decision = held.audit[0]
    assert decision.outcome == "manual_review"
    assert decision.facts["account"] == ('account: matched "字节跳动" to ByteDance Ltd. by alias')


def test_import_leaves_the_extras_unimported() -> None:
    """``import leadroute`` and plain keys import neither pypinyin nor publicsuffixlist."""
    code = (
        "import sys, leadroute\n"
        "from leadroute.normalize import company_key\n"
        "company_key('ACME S.A.')\n"
        "print('pypinyin' in sys.modules, 'publicsuffixlist' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


def test_domain_alias_beats_the_company_name() -> None:
    """A domain alias wins over the lead's own company key (aliases always win)."""
    m = AccountMatcher(aliases={"bytedance.com": "ByteDance"})
    found = m.match(lead("a", company="Douyin Group", email="x@bytedance.com"))
    assert found == AccountMatch("bytedance", "alias", "x@bytedance.com")


_SPELLINGS = [
    "北京某某科技有限公司",
    "Beijing Moumou Technology Co., Ltd.",
    "某某科技（北京）有限公司上海分公司",
    "北京某某贸易有限公司",
    "Shanghai Moumou Trading Co., Ltd.",
    "字节跳动",
    "ByteDance Ltd.",
    "Acme S.A.",
    "ACME SA",
    "Acme Bank",
]


@given(st.lists(st.sampled_from(_SPELLINGS), min_size=1, max_size=12), st.integers(0, 1))
def test_one_account_one_owner(names: list[str], split: int) -> None:
    """Whatever the spelling and the batching, leads of one account land on one rep."""
    matcher = AccountMatcher(aliases={"字节跳动": "ByteDance"}, romanize=True)
    router = _owner_router(accounts=matcher)
    state = PoolState(reps=(rep("ann"), rep("bo"), rep("cy")))
    batch = [lead(f"L{i}", i, company=name) for i, name in enumerate(names)]
    cut = len(batch) // 2 if split else len(batch)
    owner_of: dict[str, str] = {}
    for part in (batch[:cut], batch[cut:]):
        if not part:
            continue
        result = router.assign(state, part)
        state = result.state
        for one, assignment in zip(part, result.assignments, strict=True):
            key = matcher.key_of(one)
            assert key is not None
            assert assignment.rep_id is not None
            assert owner_of.setdefault(key, assignment.rep_id) == assignment.rep_id
            assert state.open_leads[one.id].account_key == key
    assert set(state.owners) == set(owner_of)


def _cli_files(tmp_path: Path, accounts: dict[str, Any]) -> list[str]:
    rules = tmp_path / "rules.json"
    route = {"type": "Fallback", "options": ["Ownership", "RoundRobin"]}
    config = {"rules": [{"id": "r", "route": route}], "accounts": accounts}
    rules.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    state = tmp_path / "state.json"
    state.write_text(PoolState(reps=(rep("ann"), rep("bo"))).model_dump_json(), encoding="utf-8")
    leads = tmp_path / "leads.jsonl"
    rows = [lead("L1", company="北京某某科技有限公司"), lead("L2", 1, company="Moumou Technology")]
    leads.write_text("".join(x.model_dump_json() + "\n" for x in rows), encoding="utf-8")
    return ["route", "--rules", str(rules), "--state", str(state), "--leads", str(leads)]


def test_cli_routes_with_an_accounts_table(tmp_path: Path) -> None:
    """A rule file's ``accounts`` table reaches the router: both spellings go to one rep."""
    out = io.StringIO()
    assert cli_main(_cli_files(tmp_path, {"romanize": True}), out=out) == 0
    reps = [json.loads(line)["rep_id"] for line in out.getvalue().splitlines()]
    assert reps == ["ann", "ann"]


def test_cli_names_the_missing_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without pypinyin, ``romanize = true`` exits 2 with one line naming the extra."""
    monkeypatch.setitem(sys.modules, "pypinyin", None)
    assert cli_main(_cli_files(tmp_path, {"romanize": True}), out=io.StringIO()) == 2
    err = capsys.readouterr().err
    assert 'pip install "leadroute[accounts]"' in err
    assert len(err.strip().splitlines()) == 1


def test_accounts_table_fits_the_rules_schema() -> None:
    """A router's ``accounts`` table validates against the shipped JSON Schema; typos do not."""
    jsonschema = pytest.importorskip("jsonschema")
    from leadroute.schema import rules_schema

    validator = jsonschema.Draft7Validator(rules_schema())
    router = _owner_router(
        accounts=AccountMatcher(aliases={"字节跳动": "ByteDance"}, romanize=True)
    )
    assert list(validator.iter_errors(router.to_config())) == []
    bad = {"rules": [], "accounts": {"alias": {}}}
    assert list(validator.iter_errors(bad)) != []
