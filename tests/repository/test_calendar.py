"""The reign and calendar table (repository/calendar.py): reign dates ↔ Gregorian years by table."""
import time

import pytest

from repository import calendar
from repository.calendar import REIGNS, display, ganzhi, numeral, parse, reign_years


@pytest.mark.parametrize("text,years", [
    ("民国十八年", (1929, 1929)), ("民国二十五年", (1936, 1936)), ("民国25年", (1936, 1936)),
    ("光绪癸巳", (1893, 1893)), ("光绪癸巳年", (1893, 1893)), ("光绪十九年癸巳", (1893, 1893)),
    ("乾隆五十年", (1785, 1785)), ("光绪", (1875, 1908)), ("同治元年", (1862, 1862)),
    ("康熙六十一年", (1722, 1722)), ("康熙壬寅", (1662, 1662)),  # 壬寅 fell twice: the first
    ("万历四十八年", (1620, 1620)), ("泰昌元年", (1620, 1620)), ("天启元年", (1621, 1621)),
    ("崇祯十七年", (1644, 1644)), ("顺治元年", (1644, 1644)), ("宣统三年", (1911, 1911)),
    ("景泰八年", (1457, 1457)), ("天顺元年", (1457, 1457)), ("贞观二年", (628, 628)), ("开元", (713, 741)),
    ("绍兴三十二年", (1162, 1162)), ("咸淳十年", (1274, 1274)), ("至元三年", (1266, 1266)),
    ("元至元三年", (1266, 1266)), ("至正二十八年", (1368, 1368)), ("洪武元年", (1368, 1368)),
    ("民国一百年", (2011, 2011)),  # the Minguo calendar is not capped
    ("光绪年间刻民国三年补", (1914, 1914)),  # a year before a bare title
])
def test_reign_dates_give_their_years(text, years):
    assert parse(text) == years


@pytest.mark.parametrize("text", ["宣统四年", "光绪三十五年", "光绪甲子", "康熙零年", "无锡", "", "民国十十年"])
def test_what_is_no_reign_year_gives_none(text):
    assert parse(text) is None


def test_years_give_their_reign_years_and_ganzhi():
    assert display(1936) == "民国二十五年（1936）"
    assert display(1893, with_ganzhi=True) == "光绪十九年癸巳（1893）"
    assert [str(r) for r in reign_years(1893)] == ["光绪十九年"] and ganzhi(1893) == "癸巳"
    assert [str(r) for r in reign_years(1620)] == ["万历四十八年", "泰昌元年"]
    assert display(1644) == "顺治元年（1644）"  # the reign begun last in a year of change
    assert display(1270) == "咸淳六年（1270）"  # the Song's, not the Yuan's 至元七年
    assert display(1950) is None and display(930) is None
    assert ganzhi(1984) == "甲子" and ganzhi(1935) == "乙亥" and ganzhi(1911) == "辛亥"
    assert [numeral(n) for n in (1, 2, 10, 11, 20, 25, 61)] == ["元", "二", "十", "十一", "二十", "二十五", "六十一"]


def test_every_year_goes_both_ways():
    for reign in REIGNS:
        for year in range(reign.start, reign.end + 1):
            found = [r for r in reign_years(year) if r.reign == reign]
            assert len(found) == 1
            if calendar.titles()[reign.title] == reign:  # a title reused: the bare title means another reign
                assert parse(str(found[0])) == (year, year), str(found[0])
                assert parse(reign.title + ganzhi(year)) == (year, year) or \
                    reign.end - reign.start >= 60  # 康熙 saw 壬寅 twice


def test_the_table_is_ordered_and_without_gaps_within_a_dynasty():
    for a, b in zip(REIGNS, REIGNS[1:]):
        assert a.start <= a.end
        if a.dynasty == b.dynasty and (a.dynasty, b.title) != ("宋", "建炎"):
            assert a.end <= b.start <= a.end + 1, (a, b)  # the next title begins the year the last ends, or the next
    assert {"洪武", "崇祯", "顺治", "宣统", "民国", "贞观", "开元", "建隆", "绍兴", "至元", "至正"} <= set(calendar.titles())


def test_a_long_text_of_reign_words_costs_little():
    text = "光绪民国乾隆" * 20_000
    start = time.process_time()
    assert parse(text) == (1875, 1908)
    assert time.process_time() - start < 0.1
