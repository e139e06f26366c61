"""Manifests link creators and places to the authority file; linked items are found per record."""

from ingest.pipeline import plan_job
from ingest.sources import plan
from repository.access import ANONYMOUS, SYSTEM, User
from tests.ingest import fixtures

ARCHIVIST = User("wang", frozenset({"archivist"}))


def box(tmp_path, rows):
    source = tmp_path / "box"
    source.mkdir()
    for i in range(len(rows)):
        fixtures.jpeg(source / f"{i}.jpg", seed=i + 1)
    (source / "items.csv").write_text("题名,创作者,地点,类型,文件\n" + "".join(
        f"{r},photo,{i}.jpg\n" for i, r in enumerate(rows)), encoding="utf-8")
    return source


def test_manifest_cells_link_by_id_or_name_and_report_ambiguity(tmp_path, fangzhi):
    auth = fangzhi.authorities
    qian = auth.create({"kind": "person", "name": "钱穆", "names": [{"name": "宾四", "type": "字"}]},
                       user=ARCHIVIST).value.id
    for _ in range(2):
        auth.create({"kind": "person", "name": "王仲文"}, user=ARCHIVIST)
    source = box(tmp_path, ["一,宾四（作者）,无锡县", f"二,{qian},", "三,王仲文,新地方", "四,李德华,"])
    items = plan(source, manifest=source / "items.csv", link=auth.link)
    assert items[0].metadata["creators"] == [{"name": {"zh": "钱穆"}, "role": "作者", "id": qian, "type": "person"}]
    assert "id" not in items[0].metadata["places"][0]  # no record named 无锡县, and none is made
    assert items[1].metadata["creators"][0]["id"] == qian
    assert items[2].problems == ["row 4, 创作者: '王仲文' names 2 authority records (person-2, person-3): "
                                 "give the id instead"]
    assert auth.find("无锡县") == [] and auth.find("新地方") == []
    items = plan(source, manifest=source / "items.csv", link=auth.link, create_authorities=True)
    place = auth.find("无锡县", "place")
    assert items[0].metadata["places"][0]["id"] == place[0]
    assert auth.find("新地方") == []  # the ambiguous row made nothing
    assert items[3].metadata["creators"][0]["id"] == auth.find("李德华", "person")[0]
    ctx = fangzhi.ingest_context()
    job = plan_job(ctx, str(source), items, options={})
    fangzhi.runner.run([(job, e.n) for e in ctx.jobs.entries(job, ("pending",))])
    states = {e.label: e.state for e in ctx.jobs.entries(job)}
    assert states["三"] == "failed" and states["一"] == "done"
    assert fangzhi.archive.linked_items([qian], user=ANONYMOUS)[1] == 0  # new material is staff-only
    linked, total = fangzhi.archive.linked_items([qian], user=ARCHIVIST)
    assert total == 2 and all(how == ["creator"] for _, how in linked)


def test_linked_items_follow_the_access_policy_and_merges(fangzhi):
    auth, archive = fangzhi.authorities, fangzhi.archive
    a = auth.create({"kind": "person", "name": "华蘅芳"}, user=ARCHIVIST).value.id
    b = auth.create({"kind": "person", "name": "华若汀"}, user=ARCHIVIST).value.id
    archive.create_item({"kind": "book", "title": {"zh": "公开的书"}, "about": [a]}, user=SYSTEM)
    archive.create_item({"kind": "book", "title": {"zh": "私密的书"}, "about": [b], "visibility": "private"},
                        user=SYSTEM)
    archive.create_item({"kind": "book", "title": {"zh": "馆员的书"}, "creators": [{"name": "华若汀", "id": b}],
                         "visibility": "staff"}, user=SYSTEM)
    auth.merge(a, b, user=ARCHIVIST)
    titles = lambda user: sorted(i.label() for i, _ in archive.linked_items(auth.ids(a), user=user)[0])
    assert titles(ANONYMOUS) == ["公开的书"]
    assert titles(ARCHIVIST) == ["公开的书", "馆员的书"]
    assert titles(SYSTEM) == ["公开的书", "私密的书", "馆员的书"]


def test_the_staff_form_keeps_and_sets_authority_ids(tmp_path):
    from tests.web.auth_helpers import add_users, login
    from tests.web.test_admin import submitted
    from web import create_app

    app = create_app({"DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "t"})
    fz = app.extensions["fangzhi"]
    place = fz.authorities.create({"kind": "place", "name": "荣巷"}, user=SYSTEM).value.id
    fz.archive.create_item({"id": "p1", "kind": "photo", "title": {"zh": "荣巷老街"},
                            "places": [{"name": "荣巷"}]}, user=SYSTEM)
    add_users(app, ["archivist"])
    staff = app.test_client()
    login(staff, "archivist")
    html = staff.get("/admin/items/p1/edit").get_data(as_text=True)
    assert 'data-target="places-0-id"' in html and "authority-picker.js" in html
    form = submitted(html, **{"places-0-id": place})
    assert staff.post("/admin/items/p1/edit", data=form, content_type="multipart/form-data").status_code == 302
    assert fz.archive.get_item("p1", user=SYSTEM).value.places[0].id == place
    assert [i.id for i, _ in fz.archive.linked_items([place], user=ANONYMOUS)[0]] == ["p1"]


def test_the_staff_form_adds_and_removes_what_an_item_is_about(tmp_path):
    """Item.about on the item form: picked records shown by their preferred name (linking to their
    page), added and removed exactly; Item.mentions untouched; an unknown id refused, named."""
    from html import unescape

    from tests.web.auth_helpers import add_users, login
    from tests.web.forms import submitted
    from web import create_app

    app = create_app({"DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "t"})
    fz = app.extensions["fangzhi"]
    rong = fz.authorities.create({"kind": "person", "name": "荣德生", "names": [{"name": "宗铨", "type": "名"}]},
                                 user=SYSTEM).value.id
    family = fz.authorities.create({"kind": "family", "name": "荣氏", "surname": "荣"}, user=SYSTEM).value.id
    mention = {"id": rong, "name": "荣德生", "where": "description"}
    fz.archive.create_item({"id": "b1", "kind": "book", "title": {"zh": "乐农自订行年纪事"},
                            "description": {"zh": "荣德生自述。"}, "mentions": [mention]}, user=SYSTEM)
    add_users(app, ["archivist"])
    staff = app.test_client()
    login(staff, "archivist")
    url = "/admin/items/b1/edit"
    html = staff.get(url).get_data(as_text=True)
    assert 'data-target="about-0-id"' in html and 'name="about-0-remove"' not in html  # only the blank row
    assert fz.authorities.suggest("rongde")[0]["id"] == rong  # what the picker offers for pinyin
    form = submitted(html, "title_zh", **{"about-0-id": rong})
    assert staff.post(url, data=form, content_type="multipart/form-data").status_code == 302
    item = fz.archive.get_item("b1", user=SYSTEM)
    assert item.value.about == [rong] and item.value.mentions == [mention]
    # shown with its preferred name, linking to its page; saving unchanged changes nothing
    html = staff.get(url).get_data(as_text=True)
    assert f'<a href="/people/{rong}">荣德生</a>' in html and 'name="about-0-remove"' in html
    assert staff.post(url, data=submitted(html, "title_zh"), content_type="multipart/form-data").status_code == 302
    assert fz.archive.get_item("b1", user=SYSTEM).version == item.version
    # another added, then the first removed with its box
    form = submitted(html, "title_zh", **{"about-1-id": family})
    assert staff.post(url, data=form, content_type="multipart/form-data").status_code == 302
    assert fz.archive.get_item("b1", user=SYSTEM).value.about == [rong, family]
    html = staff.get(url).get_data(as_text=True)
    form = submitted(html, "title_zh", **{"about-0-remove": "1"})
    assert staff.post(url, data=form, content_type="multipart/form-data").status_code == 302
    after = fz.archive.get_item("b1", user=SYSTEM).value
    assert after.about == [family] and after.mentions == [mention]
    assert [i.id for i, _ in fz.archive.linked_items([family], user=SYSTEM)[0]] == ["b1"]
    # an unknown id is refused, naming the field, in the interface language
    html = staff.get(url).get_data(as_text=True)
    version = fz.archive.get_item("b1", user=SYSTEM).version
    for lang, said in (("zh", "主题规范 2：没有规范记录 person-999"), ("en", "No authority record person-999")):
        staff.set_cookie("lang", lang)
        r = staff.post(url, data=submitted(html, "title_zh", **{"about-1-id": "person-999"}),
                       content_type="multipart/form-data")
        assert r.status_code == 400 and said in unescape(r.get_data(as_text=True)), lang
    assert fz.archive.get_item("b1", user=SYSTEM).version == version
    r = staff.post("/admin/items/new", data=submitted(staff.get("/admin/items/new").get_data(as_text=True),
                                                      "title_zh", title_zh="新书", **{"about-0-id": "family-77"}),
                   content_type="multipart/form-data")
    assert r.status_code == 400 and "family-77" in r.get_data(as_text=True)
    assert fz.archive.list_items(user=SYSTEM)[1] == 1
