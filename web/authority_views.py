"""The authority file's pages and JSON API: /people, /families, /places, /organizations and
/api/authorities. Records are public; the items each page lists come from the catalog under the
access policy (``Archive.linked_items``), so a page never names an item its reader may not see.
A merged record's page and API answer redirect (301) to the survivor."""
from __future__ import annotations

import json

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _  # lazy: the tables below are read at request time
from markupsafe import Markup

from authority.model import INVERSE, KINDS, kind_of
from repository.errors import ValidationError
from repository.model import edtf_years

from .api import item_summary, paging
from .context import archive, authorities, current_user, search

bp = Blueprint("authority", __name__)
PATHS = {"person": "people", "family": "families", "organization": "organizations", "place": "places"}
ENDPOINTS = {"person": "authority.person", "family": "authority.family", "organization": "authority.organization",
             "place": "authority.place"}
GENEALOGY = "家谱"  # the subject (or title word) that makes an item a genealogy
MAX_TREE = 2000  # places drawn in the hierarchy; members in a family tree
GENEALOGY_WORDS = ("家谱", "宗谱", "族谱", "家乘", "世谱")  # a member's record is a genealogy if its title or subjects say so
MAX_MEMBER_GENEALOGIES = 100


def page_url(rid: str, **kw) -> str:
    return url_for(ENDPOINTS[kind_of(rid)], rid=rid, **kw)


bp.add_app_template_global(page_url, "authority_url")


@bp.app_template_filter("life_date")
def life_date(value: dict) -> str:
    """{"edtf": "1895", "display": "光绪二十一年"} → "光绪二十一年（1895）"."""
    if not value:
        return ""
    edtf, display = value.get("edtf"), value.get("display")
    return f"{display}（{edtf}）" if edtf and display else (display or edtf or "")


def _record_page(kind: str, rid: str):
    if kind_of(rid) != kind:
        abort(404)
    auth = authorities()
    record = auth.get(rid)
    if record.value.merged_into:  # both ids kept: the old one's page is the survivor's
        return redirect(page_url(auth.resolve(rid)), 301)
    rec = record.value
    page, per_page = paging()
    linked, total = archive().linked_items(auth.ids(rid), user=current_user(), limit=per_page,
                                           offset=(page - 1) * per_page)
    briefs = {i: auth.brief(i) for i in rec.links()}
    incoming = auth.pointing_at(rid)
    context = {"record": record, "rec": rec, "briefs": briefs, "incoming": incoming, "linked": linked,
               "total": total, "page": page, "per_page": per_page, "endpoint": ENDPOINTS[kind], "history": auth.history(rid, user=current_user()),
               "tiles": current_app.config["FANGZHI"]["MAP_TILE_URL"],
               "attribution": current_app.config["FANGZHI"]["MAP_ATTRIBUTION"]}
    context["points"] = _points(rec, briefs, incoming)
    context["timeline"] = _timeline(rec, linked)
    if kind == "family":  # its genealogies apart from the other items (the first MAX_TREE linked items)
        every, _ = archive().linked_items(auth.ids(rid), user=current_user(), limit=MAX_TREE)
        context["genealogies"] = [(i, how) for i, how in every if _is_genealogy(i)]
        others = [(i, how) for i, how in every if not _is_genealogy(i)]
        context.update(linked=others[(page - 1) * per_page:page * per_page], total=len(others))
        context["family_tree"] = _family_tree(rec, auth)
        context["member_genealogies"] = _member_genealogies(rec, auth)
    if kind == "place":
        context["children"] = [(b, h) for b, h in incoming if h == "parent"]
    context["jsonld"] = Markup(json.dumps(_jsonld(rec, briefs, incoming), ensure_ascii=False)
                               .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))
    return render_template("authority.html", **context)


@bp.get("/people/<rid>")
def person(rid):
    return _record_page("person", rid)


@bp.get("/families/<rid>")
def family(rid):
    return _record_page("family", rid)


@bp.get("/organizations/<rid>")
def organization(rid):
    return _record_page("organization", rid)


@bp.get("/places/<rid>")
def place(rid):
    return _record_page("place", rid)


# --- browsing -----------------------------------------------------------------------------------

@bp.get("/people")
def people():
    initial = (request.args.get("initial") or "").upper()[:1] or None
    surname = (request.args.get("surname") or "").strip()[:4] or None
    page, per_page = paging()
    rows, total = authorities().listing("person", initial=initial, surname=surname, limit=per_page,
                                        offset=(page - 1) * per_page)
    return render_template("authority_browse.html", kind="person", rows=rows, total=total, page=page,
                           per_page=per_page, initial=initial, surname=surname,
                           args={k: v for k, v in (("initial", initial), ("surname", surname)) if v},
                           initials=dict(authorities().table.facets("person", "initial")),
                           surnames=authorities().table.facets("person", "surname"))


@bp.get("/families")
def families():
    """Families, or those whose surname, 堂号, 郡望, ancestral place or 字辈 match ``q``."""
    q = (request.args.get("q") or "").strip()[:50]
    page, per_page = paging()
    auth = authorities()
    if q:
        rows = [r for r in (auth.brief(x["id"]) for x in auth.table.current("family")) if _family_matches(r["id"], q)]
        total, rows = len(rows), rows[(page - 1) * per_page:page * per_page]
    else:
        rows, total = auth.listing("family", limit=per_page, offset=(page - 1) * per_page)
    return render_template("authority_browse.html", kind="family", rows=rows, total=total, page=page,
                           per_page=per_page, q=q, args={"q": q} if q else {})


@bp.get("/organizations")
def organizations():
    page, per_page = paging()
    rows, total = authorities().listing("organization", limit=per_page, offset=(page - 1) * per_page)
    return render_template("authority_browse.html", kind="organization", rows=rows, total=total, page=page,
                           per_page=per_page, args={})


@bp.get("/places")
def places():
    """Places as a hierarchy: each place under its current parents (or at the top)."""
    rows = authorities().table.current("place")[:MAX_TREE]
    ids = {r["id"] for r in rows}
    children: dict[str | None, list] = {}
    for r in rows:
        parents = [p["id"] for p in r["record"].get("parents", []) if p["id"] in ids and not p.get("end")] or \
                  [p["id"] for p in r["record"].get("parents", []) if p["id"] in ids][:1]
        for parent in parents or [None]:
            children.setdefault(parent, []).append(r)
    return render_template("authority_places.html", children=children, total=len(rows))


def _family_matches(rid: str, q: str) -> bool:
    from authority.service import key

    rec = authorities().get(rid).value
    place = authorities().brief(rec.ancestral_place) if rec.ancestral_place else None
    fields = [rec.surname, rec.hall, rec.choronym, rec.name, *rec.all_names(), "".join(rec.generation_names),
              *(place and [place["name"], *place["names"]] or [])]
    return any(key(q) in key(f) for f in fields if f)


# --- the JSON API -------------------------------------------------------------------------------

def _kind_arg() -> str | None:
    kind = request.args.get("kind") or None
    if kind and kind not in KINDS:
        raise ValidationError([("kind", f"must be one of {', '.join(KINDS)}")])
    return kind


def _api_brief(b: dict) -> dict:
    return {**b, "links": {"self": url_for("authority.api_get", rid=b["id"], _external=True),
                           "html": page_url(b["id"], _external=True)}}


@bp.get("/api/authorities")
def api_list():
    """Records of a kind, or those whose names contain ``q`` (folded, pinyin too)."""
    page, per_page = paging()
    kind, q = _kind_arg(), (request.args.get("q") or "").strip()
    if q:
        rows, total = authorities().search(q, kind, limit=per_page, offset=(page - 1) * per_page)
    else:
        found = authorities().table.current(kind)
        total, rows = len(found), [authorities().summary(r) for r in found[(page - 1) * per_page:page * per_page]]
    more = page * per_page < total
    return {"total": total, "page": page, "per_page": per_page, "records": [_api_brief(r) for r in rows],
            "next": url_for("authority.api_list", q=q or None, kind=kind, page=page + 1, per_page=per_page,
                            _external=True) if more else None}


@bp.get("/api/authorities/suggest")
def api_suggest():
    """For pickers: records a name, alias or pinyin starting with ``q`` names."""
    limit = min(max(request.args.get("limit", 10, type=int), 1), 50)
    return {"q": request.args.get("q", "")[:50],
            "records": [_api_brief(r) for r in authorities().suggest(request.args.get("q", ""), _kind_arg(),
                                                                      limit=limit)]}


@bp.get("/api/authorities/<rid>")
def api_get(rid):
    auth = authorities()
    record = auth.get(rid)
    if record.value.merged_into:
        return redirect(url_for("authority.api_get", rid=auth.resolve(rid)), 301)
    return {**record.value.to_dict(), "version": record.version, "created": record.created,
            "updated": record.updated, "merged_ids": auth.ids(rid)[1:],
            "links": {"html": page_url(rid, _external=True),
                      "items": url_for("authority.api_items", rid=rid, _external=True)}}, {"ETag": f'"{record.version}"'}


@bp.get("/api/authorities/<rid>/items")
def api_items(rid):
    """The items linked to the record (or any record merged into it) that the caller may see."""
    auth = authorities()
    auth.get(rid)
    page, per_page = paging()
    linked, total = archive().linked_items(auth.ids(auth.resolve(rid)), user=current_user(), limit=per_page,
                                           offset=(page - 1) * per_page)
    return {"total": total, "page": page, "per_page": per_page,
            "items": [{**item_summary(i), "how": how} for i, how in linked]}


# --- what a page shows --------------------------------------------------------------------------

def _is_genealogy(item) -> bool:
    return GENEALOGY in item.subjects or any(GENEALOGY in t or "族谱" in t or "宗谱" in t for t in item.title.values())


def _member_genealogies(rec, auth) -> list[dict]:
    """The alliance members' genealogies of the family (issue 14: "every genealogy held, by any
    alliance member"): union-catalogue records whose title or subjects have a genealogy word and
    name the family (its names, surname + 氏, 堂号, ancestral place) and, when it has one, its
    surname. Found through the search service as the reader, so a record harvested with the
    alliance token shows only to readers cleared for alliance (search.documents.remote_documents)."""
    from search.analysis import fold

    place = auth.brief(rec.ancestral_place) if rec.ancestral_place else None
    clean = lambda text: "".join(ch for ch in text if ch not in '"“”「」:：|' and not ch.isspace())[:50]
    own = [n for n in dict.fromkeys(clean(n) for n in (rec.name, *rec.all_names(), rec.hall,
                                                        rec.surname and f"{rec.surname}氏") if n) if n]
    places = [n for n in dict.fromkeys(clean(n) for n in (place and [place["name"], *place["names"]] or [])) if n]
    if not own:
        return []
    query = " OR ".join(f"{f}:{w}" for w in GENEALOGY_WORDS for f in ("title", "subject")) + " " + \
        " OR ".join(f'"{n}"' for n in [*own, *places][:20])
    hits = search().search(query, user=current_user(), per_page=MAX_MEMBER_GENEALOGIES, facets=[]).hits
    own, places, surname = [fold(n) for n in own], [fold(n) for n in places], fold(rec.surname or "")
    out = []
    for hit in hits:
        said = fold(" ".join([*(h.get("title") or "" for h in hit.holdings),
                              *(Markup(v).striptags() for v in hit.highlights.values())]))
        # its own names, or its ancestral place with its surname (梁溪张氏宗谱 is another family's)
        if any(n in said for n in own) or (surname and surname in said and any(p in said for p in places)):
            out += [h for h in hit.holdings if h.get("member") and not h.get("local")]
    return out


def _points(rec, briefs: dict, incoming: list) -> list[dict]:
    """Map markers: the record's own coordinates, else its places' (籍贯, ancestral place …)."""
    points = []
    if rec.coordinates:
        points.append({"lat": rec.coordinates[0], "lng": rec.coordinates[1], "label": rec.name})
    for b in [*briefs.values(), *(b for b, how in incoming if how == "parent")]:
        if b and b["kind"] == "place" and b.get("coordinates"):
            points.append({"lat": b["coordinates"][0], "lng": b["coordinates"][1], "label": b["name"],
                           "url": page_url(b["id"])})
    return points[:200]


def _timeline(rec, linked) -> list[tuple[int, str, str | None]]:
    """(year, what, link): life dates, dated names and parent places, the linked items' dates."""
    events = []
    for label, value in ((_("生"), rec.birth), (_("卒"), rec.death)):
        years = edtf_years(value["edtf"]) if value.get("edtf") else None
        if years:
            events.append((years[0], f"{label} · {life_date(value)}", None))
    for n in rec.names:
        if n.start and edtf_years(n.start):
            events.append((edtf_years(n.start)[0], f"{n.name}（{n.type}）", None))
    for item, _how in linked:
        years = edtf_years(item.date["edtf"]) if item.date.get("edtf") else None
        if years:
            events.append((years[0], item.label(), url_for("public.item", item_id=item.id)))
    return sorted(events, key=lambda e: e[0])


def _family_tree(rec, auth) -> list[dict]:
    """The members as a tree: each under a father or mother who is a member (from either side's
    relations), the others at the top; every member once."""
    members = rec.members[:MAX_TREE]
    records = {m: auth.get(m).value for m in members if auth.brief(m)}
    parent_of: dict[str, str] = {}
    for mid, person in records.items():
        for r in person.relations:
            if r.id in records and r.type in ("father", "mother"):
                parent_of.setdefault(mid, r.id)
            elif r.id in records and r.type in ("son", "daughter"):
                parent_of.setdefault(r.id, mid)
    kids: dict[str | None, list[str]] = {}
    for mid in records:
        kids.setdefault(parent_of.get(mid), []).append(mid)

    def node(mid: str, depth: int) -> dict:
        p = records[mid]
        generation = next((g for g in rec.generation_names if g in p.name[1:]), None)
        return {"id": mid, "name": p.name, "birth": p.birth, "death": p.death, "generation": generation,
                "children": [node(k, depth + 1) for k in kids.get(mid, []) if depth < 60]}

    return [node(m, 0) for m in kids.get(None, [])]


def _jsonld(rec, briefs: dict, incoming: list) -> dict:
    """schema.org: Person, Place, Organization; a family (no schema.org type of its own) as an
    Organization whose additionalType is Wikidata's "family" (Q8436)."""
    url = page_url(rec.id, _external=True)
    same = [f"http://www.wikidata.org/entity/{rec.identifiers['wikidata']}"] if "wikidata" in rec.identifiers else []
    same += [f"http://viaf.org/viaf/{rec.identifiers['viaf']}"] if "viaf" in rec.identifiers else []
    ref = lambda i: {"@id": page_url(i, _external=True), "name": (briefs.get(i) or {}).get("name")}
    out = {"@context": "https://schema.org", "@id": url, "url": url, "name": rec.name,
           "alternateName": [n.name for n in rec.names], **({"sameAs": same} if same else {}),
           **({"identifier": [{"@type": "PropertyValue", "propertyID": k.upper(), "value": v}
                              for k, v in rec.identifiers.items()]} if rec.identifiers else {}),
           **({"description": rec.notes} if rec.notes else {})}
    if rec.kind == "person":
        out["@type"] = "Person"
        out.update({k: v for k, v in (("birthDate", rec.birth.get("edtf")), ("deathDate", rec.death.get("edtf")),
                                      ("homeLocation", rec.native_place and ref(rec.native_place)),
                                      ("hasOccupation", rec.occupations or None)) if v})
        prop = {"father": "parent", "mother": "parent", "son": "children", "daughter": "children",
                "brother": "sibling", "sister": "sibling", "spouse": "spouse"}
        for r in rec.relations:
            out.setdefault(prop.get(r.type, "knows"), []).append(ref(r.id))
    elif rec.kind == "place":
        out["@type"] = "Place"
        if rec.coordinates:
            out["geo"] = {"@type": "GeoCoordinates", "latitude": rec.coordinates[0], "longitude": rec.coordinates[1]}
        if rec.parents:
            out["containedInPlace"] = [ref(p.id) for p in rec.parents]
    else:
        out["@type"] = "Organization"
        if rec.kind == "family":
            out["additionalType"] = "http://www.wikidata.org/entity/Q8436"
            out["member"] = [ref(m) for m in rec.members]
            if rec.founder:
                out["founder"] = ref(rec.founder)
        if rec.place or rec.ancestral_place:
            out["location"] = ref(rec.place or rec.ancestral_place)
    return out


bp.add_app_template_global(INVERSE, "relation_inverse")
KIND_LABELS = {"person": _("人物"), "family": _("家族"), "organization": _("机构"), "place": _("地点")}
BROWSE_LABELS = {"person": _("人物"), "family": _("家族与家谱"), "organization": _("机构"), "place": _("地点")}
NAME_TYPE_LABELS = {"名": _("名"), "字": _("字"), "号": _("号"), "笔名": _("笔名"), "室名": _("室名"),
                    "谥号": _("谥号"), "别名": _("别名"), "英文名": _("英文名"), "旧名": _("旧名"), "简称": _("简称")}
RELATION_LABELS = {"father": _("父亲"), "mother": _("母亲"), "son": _("儿子"), "daughter": _("女儿"),
                   "brother": _("兄弟"), "sister": _("姐妹"), "spouse": _("配偶"), "teacher": _("老师"),
                   "student": _("学生"), "friend": _("朋友"), "colleague": _("同事"), "relative": _("亲属"),
                   "child": _("子女"), "parent": _("父母"), "sibling": _("兄弟姐妹"), "member": _("家族成员"),
                   "founder": _("始祖"), "native_place": _("籍贯"), "ancestral_place": _("祖居地"),
                   "place": _("所在地"), "relation": _("关系")}
# another record's link to this one, seen from here (a person's 籍贯 on the place's page …)
INCOMING_LABELS = {"native_place": _("籍贯于此的人物"), "place": _("位于此地的机构"),
                   "ancestral_place": _("祖居于此的家族"), "founder": _("所创家族")}
HOW_LABELS = {"about": _("主题"), "creator": _("创作者"), "contributor": _("贡献者"), "place": _("地点"),
              "mention": _("提及")}
GENDER_LABELS = {"male": _("男"), "female": _("女"), "other": _("其他")}
for _name, _table in (("authority_kinds", KIND_LABELS), ("authority_browse_labels", BROWSE_LABELS),
                      ("name_types", NAME_TYPE_LABELS), ("relation_labels", RELATION_LABELS),
                      ("link_labels", HOW_LABELS), ("incoming_labels", INCOMING_LABELS), ("gender_labels", GENDER_LABELS)):
    bp.add_app_template_global(_table, _name)
BROWSE = {"person": "authority.people", "family": "authority.families", "organization": "authority.organizations",
          "place": "authority.places"}
bp.add_app_template_global(BROWSE, "authority_browse")
