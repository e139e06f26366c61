"""The item form edits every field of an Item and keeps what it does not show (issue 16)."""
import pytest

from repository.access import SYSTEM
from tests.web.auth_helpers import add_users, csrf_token, login
from tests.web.forms import submitted


@pytest.fixture
def staff(app):
    add_users(app, ["archivist", "curator"])
    client = app.test_client()
    login(client, "archivist")
    return client


EVERY_FIELD = {
    "kind": "manuscript", "title_zh": "王氏家书", "title_en": "Letters of the Wang family",
    "description_zh": "两页家书。", "description_en": "Two pages.",
    "creators-0-name-zh": "王仲文", "creators-0-name-en": "Wang Zhongwen", "creators-0-role": "author",
    "creators-0-type": "person", "creators-0-aliases": "字：伯虞\n号：梁溪散人", "creators-0-id": "viaf-1",
    "creators-1-name-zh": "王氏宗祠", "creators-1-role": "publisher", "creators-1-type": "organization",
    "creators-1-aliases": "", "creators-1-id": "",
    "contributors-0-name-zh": "王秀英", "contributors-0-role": "donor", "contributors-0-type": "person",
    "contributors-0-aliases": "笔名：秀", "contributors-0-id": "",
    "date_edtf": "1936-05", "date_display": "民国二十五年五月",
    "places-0-name-zh": "上海", "places-0-name-en": "Shanghai", "places-0-aliases": "沪\n申",
    "places-0-coordinates": "31.23, 121.47", "places-1-name-zh": "城关镇", "places-1-aliases": "",
    "places-1-coordinates": "",
    "subjects": "家书\n抗战前夕", "language": "zh wuu", "extent": "2页", "identifiers": "捐-2024-017\nK295.3",
    "rights": "http://rightsstatements.org/vocab/InC/1.0/", "holding_library": "城关区图书馆",
    "viewing_direction": "right-to-left", "visibility": "embargoed", "embargo_until": "2030-01-01",
    "collections": ["letters"], "why": "捐赠",
}
EXPECTED = {
    "kind": "manuscript", "title": {"zh": "王氏家书", "en": "Letters of the Wang family"},
    "description": {"zh": "两页家书。", "en": "Two pages."},
    "creators": [{"name": {"zh": "王仲文", "en": "Wang Zhongwen"}, "type": "person", "role": "author", "id": "viaf-1",
                  "aliases": [{"name": "伯虞", "type": "字"}, {"name": "梁溪散人", "type": "号"}]},
                 {"name": {"zh": "王氏宗祠"}, "type": "organization", "role": "publisher", "id": None, "aliases": []}],
    "contributors": [{"name": {"zh": "王秀英"}, "type": "person", "role": "donor", "id": None,
                      "aliases": [{"name": "秀", "type": "笔名"}]}],
    "date": {"edtf": "1936-05", "display": "民国二十五年五月"},
    "places": [{"name": {"zh": "上海", "en": "Shanghai"}, "aliases": ["沪", "申"], "coordinates": [31.23, 121.47], "id": None},
               {"name": {"zh": "城关镇"}, "aliases": [], "coordinates": None, "id": None}],
    "subjects": ["家书", "抗战前夕"], "language": ["zh", "wuu"], "extent": "2页", "identifiers": ["捐-2024-017", "K295.3"],
    "rights": "http://rightsstatements.org/vocab/InC/1.0/", "holding_library": "城关区图书馆",
    "viewing_direction": "right-to-left", "visibility": "embargoed", "embargo_until": "2030-01-01",
    "collections": ["letters"],
}


def test_every_field_round_trips_through_the_new_item_form_and_back(staff, archive):
    archive.create_collection({"id": "letters", "title": "家书"}, user=SYSTEM)
    r = staff.post("/admin/items/new", data={**EVERY_FIELD, "csrf_token": csrf_token(staff, "/admin/items/new")},
                   content_type="multipart/form-data")
    assert r.status_code == 302, r.get_data(as_text=True)
    item = archive.list_items(user=SYSTEM)[0][0].to_dict()
    assert {k: item[k] for k in EXPECTED} == EXPECTED
    # the edit form shows each value, and saving it unchanged changes nothing
    url = f"/admin/items/{item['id']}/edit"
    html = staff.get(url).get_data(as_text=True)
    for shown in ("伯虞", "梁溪散人", "viaf-1", "31.23, 121.47", "民国二十五年五月", "捐-2024-017", "wuu",
                  "年号纪年：民国二十五年", 'value="right-to-left" selected', "从右到左"):
        assert shown in html, shown
    assert staff.post(url, data=submitted(html, "title_zh"), content_type="multipart/form-data").status_code == 302
    assert archive.get_item(item["id"], user=SYSTEM).version == 1


def test_the_form_never_drops_what_it_does_not_show(staff, archive):
    before = archive.create_item({
        "kind": "photo", "title": "县前街", "about": ["auth-person-1"],
        "mentions": [{"id": "auth-place-2", "name": "县前街", "where": "description"}],
        "places": [{"name": "县前街", "id": "auth-place-2", "coordinates": [31.5, 120.3]}],
        "creators": [{"name": "李德华", "id": "auth-person-1", "role": "photographer"}]}, user=SYSTEM).value
    url = f"/admin/items/{before.id}/edit"
    html = staff.get(url).get_data(as_text=True)
    form = submitted(html, "title_zh", title_en="Xianqian Street", **{"places-0-name-en": "Xianqian St"})
    assert staff.post(url, data=form, content_type="multipart/form-data").status_code == 302
    after = archive.get_item(before.id, user=SYSTEM).value
    assert after.title == {"zh": "县前街", "en": "Xianqian Street"}
    assert after.about == before.about and after.mentions == before.mentions
    assert after.places[0].id == "auth-place-2" and after.places[0].name == {"zh": "县前街", "en": "Xianqian St"}
    assert after.creators == before.creators


def test_a_row_is_removed_with_its_box_without_javascript(staff, archive):
    item = archive.create_item({"kind": "photo", "title": "合影", "creators": ["甲", "乙", "丙"],
                                "places": ["惠山", "锡山"]}, user=SYSTEM).value
    url = f"/admin/items/{item.id}/edit"
    html = staff.get(url).get_data(as_text=True)
    assert 'name="creators-1-remove"' in html and 'name="creators-3-remove"' not in html  # none on the blank row
    form = submitted(html, "title_zh", **{"creators-1-remove": "1", "places-0-remove": "1"})
    assert staff.post(url, data=form, content_type="multipart/form-data").status_code == 302
    after = archive.get_item(item.id, user=SYSTEM).value
    assert [c.name["zh"] for c in after.creators] == ["甲", "丙"] and [p.name["zh"] for p in after.places] == ["锡山"]


def test_the_live_date_check_gives_the_problem_and_the_reign_year(staff, app):
    ok = staff.get("/admin/edtf?edtf=1936").json
    assert ok["ok"] and ok["reign"] == "民国二十五年" and "1936" in ok["message"]
    assert staff.get("/admin/edtf?edtf=1644").json["reign"] == "崇祯十七年／顺治元年"
    assert staff.get("/admin/edtf?edtf=1875/1908").json["reign"] == "光绪元年—光绪三十四年"
    bad = staff.get("/admin/edtf?edtf=19x6").json
    assert not bad["ok"] and bad["message"].startswith("日期（EDTF）：“19x6”不是 EDTF 日期")
    assert "is not" in staff.get("/admin/edtf?edtf=19x6&lang=en").json["message"]
    wrong = staff.get("/admin/edtf?edtf=1936&display=光绪三年").json
    assert wrong["mismatch"] and "1877" in wrong["message"]
    assert "可填 EDTF 日期 1877" in staff.get("/admin/edtf?display=光绪三年").json["message"]
    curator = app.test_client()
    login(curator, "curator")
    assert curator.get("/admin/edtf?edtf=1936").status_code == 403
    assert app.test_client().get("/admin/edtf?edtf=1936").status_code == 302
