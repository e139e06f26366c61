"""Reign titles (年号) and sexagenary (干支) years, by table, both ways.

The table lists each reign title a local gazetteer cites — Tang, Northern and Southern Song, Yuan,
Ming, Qing and the Republic (民国) — with the Gregorian year
of its first year (元年: the year the title began to be used, the year of a change counting for
both titles: 万历四十八年 and 泰昌元年 are both 1620) and of its last year. Sources: the reign
tables of 《中国历史纪年表》 (方诗铭, 上海辞书出版社) as printed in 《辞海》's appendix; a
Chinese year is given as the Gregorian year it mostly falls in, as catalogues do.

* ``parse(text)`` → the year range a reign date in ``text`` names (民国十八年, 光绪癸巳, 乾隆五十年,
  光绪 alone: its whole span; 明万历 / 元至元 pick a dynasty when a title was used twice);
* ``reign_years(year)`` → every reign year it was (1620: 万历四十八年 and 泰昌元年);
* ``ganzhi(year)`` → 癸巳; ``display(year)`` → "民国二十五年（1936）".

Text is taken as it is: callers fold traditional forms first (search.analysis does).
Imports nothing, so every layer may use it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["REIGNS", "Reign", "ReignYear", "display", "ganzhi", "ganzhi_year", "numeral", "parse", "parse_at_start", "reign_name", "reign_years",
           "titles"]


@dataclass(frozen=True)
class Reign:
    dynasty: str
    title: str
    start: int  # the Gregorian year of 元年
    end: int  # the last year the title was used (the Republic: open, see ``parse``)


def _table(dynasty: str, rows: str) -> list[Reign]:
    """``title start[-end]`` rows (end defaults to start)."""
    out = []
    for row in rows.split():
        title, _, years = row.partition(":")
        start, _, end = years.partition("-")
        out.append(Reign(dynasty, title, int(start), int(end or start)))
    return out


REIGNS: tuple[Reign, ...] = (
    *_table("唐", """武德:618-626 贞观:627-649 永徽:650-655 显庆:656-661 龙朔:661-663 麟德:664-665
        乾封:666-668 总章:668-670 咸亨:670-674 上元:674-676 仪凤:676-679 调露:679-680 永隆:680-681
        开耀:681-682 永淳:682-683 弘道:683 嗣圣:684 文明:684 光宅:684 垂拱:685-688 永昌:689 载初:689-690
        天授:690-692 如意:692 长寿:692-694 延载:694 证圣:695 天册万岁:695-696 万岁登封:696 万岁通天:696-697
        神功:697 圣历:698-700 久视:700-701 大足:701 长安:701-704 神龙:705-707 景龙:707-710 唐隆:710
        景云:710-711 太极:712 延和:712 先天:712-713 开元:713-741 天宝:742-756 至德:756-758 乾元:758-760
        上元:760-761 宝应:762-763 广德:763-764 永泰:765-766 大历:766-779 建中:780-783 兴元:784
        贞元:785-805 永贞:805 元和:806-820 长庆:821-824 宝历:825-827 大和:827-835 开成:836-840
        会昌:841-846 大中:847-860 咸通:860-874 乾符:874-879 广明:880-881 中和:881-885 光启:885-888
        文德:888 龙纪:889 大顺:890-891 景福:892-893 乾宁:894-898 光化:898-901 天复:901-904 天祐:904-907"""),
    *_table("宋", """建隆:960-963 乾德:963-968 开宝:968-976 太平兴国:976-984 雍熙:984-987 端拱:988-989
        淳化:990-994 至道:995-997 咸平:998-1003 景德:1004-1007 大中祥符:1008-1016 天禧:1017-1021
        乾兴:1022 天圣:1023-1032 明道:1032-1033 景祐:1034-1038 宝元:1038-1040 康定:1040-1041
        庆历:1041-1048 皇祐:1049-1054 至和:1054-1056 嘉祐:1056-1063 治平:1064-1067 熙宁:1068-1077
        元丰:1078-1085 元祐:1086-1094 绍圣:1094-1098 元符:1098-1100 建中靖国:1101 崇宁:1102-1106
        大观:1107-1110 政和:1111-1118 重和:1118-1119 宣和:1119-1125 靖康:1126-1127
        建炎:1127-1130 绍兴:1131-1162 隆兴:1163-1164 乾道:1165-1173 淳熙:1174-1189 绍熙:1190-1194
        庆元:1195-1200 嘉泰:1201-1204 开禧:1205-1207 嘉定:1208-1224 宝庆:1225-1227 绍定:1228-1233
        端平:1234-1236 嘉熙:1237-1240 淳祐:1241-1252 宝祐:1253-1258 开庆:1259 景定:1260-1264
        咸淳:1265-1274 德祐:1275-1276 景炎:1276-1278 祥兴:1278-1279"""),
    *_table("元", """中统:1260-1264 至元:1264-1294 元贞:1295-1297 大德:1297-1307 至大:1308-1311
        皇庆:1312-1313 延祐:1314-1320 至治:1321-1323 泰定:1324-1328 致和:1328 天历:1328-1330
        至顺:1330-1333 元统:1333-1335 至元:1335-1340 至正:1341-1368"""),
    *_table("明", """洪武:1368-1398 建文:1399-1402 永乐:1403-1424 洪熙:1425 宣德:1426-1435 正统:1436-1449
        景泰:1450-1457 天顺:1457-1464 成化:1465-1487 弘治:1488-1505 正德:1506-1521 嘉靖:1522-1566
        隆庆:1567-1572 万历:1573-1620 泰昌:1620 天启:1621-1627 崇祯:1628-1644"""),
    *_table("清", """顺治:1644-1661 康熙:1662-1722 雍正:1723-1735 乾隆:1736-1795 嘉庆:1796-1820
        道光:1821-1850 咸丰:1851-1861 同治:1862-1874 光绪:1875-1908 宣统:1909-1911"""),
    *_table("民国", "民国:1912-1949"),
)
DYNASTIES = ("唐", "宋", "元", "明", "清")  # a dynasty written before a title picks among its reuses (元至元)
REPUBLIC = "民国"  # years are not capped: the Minguo calendar is still used on Taiwan-printed genealogies

STEMS, BRANCHES = "甲乙丙丁戊己庚辛壬癸", "子丑寅卯辰巳午未申酉戌亥"
_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_NUMERAL = "元|\\d{1,3}|[〇零一二两三四五六七八九十廿卅百]{1,6}"
MAX_TEXT = 200  # parse reads at most this many characters (a query of many reign-like words costs no more)


def titles() -> dict[str, Reign]:
    """Each title → the reign a bare title means: the latest dynasty's (永乐 is the Ming's), and a
    title a dynasty used twice its first use (至元: 1264, the Yuan's 后至元 of 1335 is rarely cited)."""
    return _TITLES


_TITLES: dict[str, Reign] = {}
_BY_DYNASTY: dict[tuple[str, str], Reign] = {}
for _reign in REIGNS:
    _BY_DYNASTY.setdefault((_reign.dynasty, _reign.title), _reign)
    if _TITLES.get(_reign.title, _reign).dynasty != _reign.dynasty or _reign.title not in _TITLES:
        _TITLES[_reign.title] = _reign
_NAMES = "|".join(sorted(_TITLES, key=len, reverse=True))
_GANZHI = f"[{STEMS}][{BRANCHES}]"
_DATE = re.compile(rf"({'|'.join(DYNASTIES)})??({_NAMES})(?:\s*(?:({_NUMERAL})\s*年|({_GANZHI})年?))?")


def ganzhi(year: int) -> str:
    """The sexagenary name of a year: 1893 → 癸巳, 1984 → 甲子 (AD 4 was 甲子)."""
    n = (year - 4) % 60
    return STEMS[n % 10] + BRANCHES[n % 12]


def ganzhi_year(name: str, start: int, end: int) -> list[int]:
    """The years between ``start`` and ``end`` named ``name`` (康熙壬寅: 1662 and 1722)."""
    if len(name) != 2 or name[0] not in STEMS or name[1] not in BRANCHES:
        return []
    return [y for y in range(start, end + 1) if ganzhi(y) == name]


def number(text: str) -> int | None:
    """元 → 1, 二十五 → 25, 廿五 → 25, 卅 → 30, 十三 → 13, 二五 → 25 (digit by digit), 25 → 25."""
    if text == "元":
        return 1
    if text.isdigit():
        return int(text)
    text = text.replace("廿", "二十").replace("卅", "三十")
    if "百" in text:  # 一百 → 100, 一百〇五 → 105, 一百一十 → 110
        hundreds, _, rest = text.partition("百")
        rest = rest.lstrip("〇零")
        units = number(rest) if rest else 0
        if hundreds not in _DIGITS or units is None or "百" in rest:
            return None
        return _DIGITS[hundreds] * 100 + units
    if "十" in text:
        tens, _, units = text.partition("十")
        if "十" in units or (tens and tens not in _DIGITS) or (units and units not in _DIGITS):
            return None
        return (_DIGITS[tens] if tens else 1) * 10 + (_DIGITS[units] if units else 0)
    if not text or any(ch not in _DIGITS for ch in text):
        return None
    value = 0
    for ch in text:
        value = value * 10 + _DIGITS[ch]
    return value


def numeral(n: int) -> str:
    """1 → 元, 10 → 十, 25 → 二十五, 61 → 六十一, 105 → 一百〇五 (as reign years are written)."""
    if n == 1:
        return "元"
    digits = "〇一二三四五六七八九"
    if n < 10:
        return digits[n]
    if n < 100:
        tens, units = divmod(n, 10)
        return ("" if tens == 1 else digits[tens]) + "十" + (digits[units] if units else "")
    hundreds, rest = divmod(n, 100)
    return digits[hundreds] + "百" + ("" if not rest else ("〇" + digits[rest] if rest < 10 else
                                                        (digits[rest // 10] + "十" + (digits[rest % 10] if rest % 10 else ""))))


def parse(text: str) -> tuple[int, int] | None:
    """The Gregorian years a reign date in ``text`` names, or None.

    "民国二十五年" → (1936, 1936); "光绪癸巳" → (1893, 1893); "光绪" → (1875, 1908);
    "民国25年" → (1936, 1936). A year past the end of an imperial reign, or a 干支 that falls in
    none of its years, gives None; a 干支 that falls twice (康熙壬寅: 1662 and 1722) gives the first.
    """
    found = list(_candidates(text[:MAX_TEXT]))
    return next((f for f in found if f[0] == f[1]), found[0] if found else None)  # a year before a span


def parse_at_start(text: str) -> tuple[tuple[int, int], bool] | None:
    """The years of a reign date ``text`` starts with, and whether it says more than a bare title
    (a year, a 干支 or the dynasty): what a search query means by it (光绪三年重修 → 1877)."""
    match = _DATE.match(text[:MAX_TEXT])
    found = next(_candidates(match.group(0)), None) if match else None
    return (found, any(match.group(n) for n in (1, 3, 4))) if found else None


def _reign_of(dynasty: str | None, title: str) -> Reign:
    return (_BY_DYNASTY.get((dynasty, title)) if dynasty else None) or _TITLES[title]


def _candidates(text: str):
    for match in _DATE.finditer(text):
        dynasty, title, num, gz = match.groups()
        reign = _reign_of(dynasty, title)  # 唐光绪: no such reign; the title alone
        end = 9999 if reign.title == REPUBLIC else reign.end
        if num is not None:
            n = number(num)
            if n and reign.start + n - 1 <= end:
                yield reign.start + n - 1, reign.start + n - 1
            continue
        if gz is not None:
            years = ganzhi_year(gz, reign.start, min(end, reign.start + 119))
            if years:
                yield years[0], years[0]
            continue
        yield reign.start, reign.end


@dataclass(frozen=True)
class ReignYear:
    reign: Reign
    number: int  # 1 for 元年

    def __str__(self) -> str:
        return f"{self.reign.title}{numeral(self.number)}年"


def reign_years(year: int) -> list[ReignYear]:
    """Every reign year ``year`` was, oldest reign first (1620: 万历四十八年, 泰昌元年); the
    Republic up to 1949."""
    return [ReignYear(r, year - r.start + 1) for r in REIGNS if r.start <= year <= r.end]


def reign_name(year: int) -> str | None:
    """The reign year a year is written as: the reign begun last of a year of change (1644:
    顺治元年; 1270: 咸淳六年, the Song's, not the Yuan's 至元七年); None outside the table
    (907–960, after 1949)."""
    found = reign_years(year)
    return str(max(found, key=lambda r: r.reign.start)) if found else None  # the first in table order among ties


def display(year: int, *, with_ganzhi: bool = False) -> str | None:
    """"民国二十五年（1936）"; with ``with_ganzhi``: "光绪十九年癸巳（1893）" (see ``reign_name``)."""
    name = reign_name(year)
    return f"{name}{ganzhi(year) if with_ganzhi else ''}（{year}）" if name else None
