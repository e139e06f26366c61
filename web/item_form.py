"""The staff item form: an item's fields as form rows, and a submitted form back as changes.

The form shows every field of the record (all creators and contributors with their roles, names
in every language and aliases; places; languages; identifiers; files' labels, order and access),
and ``changes`` changes only what the submitted form contains: a field (or a language of a
field, or a row) the form leaves out stays as it was. Saving the form unchanged changes nothing
(issue 11 #1). Field names: ``title_<lang>``, ``creators-<i>-name-<lang>``, ``files-<i>-access`` …
"""
from __future__ import annotations

import re

from repository.errors import ValidationError

LANGS = ("zh", "en")  # offered for every language map; a record's other languages are shown too
SCALARS = ("kind", "rights", "extent", "holding_library", "viewing_direction", "embargo_until")
AGENT_LISTS = ("creators", "contributors")
_SPLIT_LANGUAGES = re.compile(r"[\s,，;；、]+")


def langs(langmap: dict | None) -> list[str]:
    """The languages to show for a language map: zh, en, then its others."""
    return [*LANGS, *sorted(set(langmap or {}) - set(LANGS))]


def lines(values) -> str:
    return "\n".join(values) if isinstance(values, list) else str(values or "")


def aliases_text(aliases) -> str:
    """One alias a line, "字：伯虞"."""
    if not isinstance(aliases, list):
        return str(aliases or "")
    return "\n".join(f"{a.get('type') or '别名'}：{a.get('name', '')}" if isinstance(a, dict) else str(a)
                     for a in aliases)


def coordinates_text(value) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(repr(float(x)) if isinstance(x, (int, float)) else str(x) for x in value)
    return str(value or "")


def agent_rows(agents: list) -> list[dict]:
    """The rows of a creators/contributors fieldset: one per agent and a blank one to add."""
    return [{"name": a.get("name") or {}, "type": a.get("type") or "person", "role": a.get("role") or "",
             "id": a.get("id") or "", "aliases": aliases_text(a.get("aliases"))}
            for a in [*agents, {}]]


def place_rows(places: list) -> list[dict]:
    return [{"name": p.get("name") or {}, "aliases": lines(p.get("aliases")),
             "coordinates": coordinates_text(p.get("coordinates")), "id": p.get("id") or ""} for p in [*places, {}]]


def file_rows(files: list) -> list[tuple[int, dict]]:
    """(index, file) of the files the form edits: originals and supplements (derivatives follow them)."""
    return [(i, f) for i, f in enumerate(files) if f.get("role") != "derivative"]


# --- reading a submitted form -----------------------------------------------------------------

def changes(form, current: dict | None = None) -> dict:
    """The changes ``form`` makes to ``current`` (an item as a dict; empty for a new item)."""
    current = current or {}
    data = {}
    for key in SCALARS:
        if key in form:
            data[key] = form[key].strip() or None
    if "visibility" in form:
        data["visibility"] = form["visibility"].strip() or "public"
    for key in ("title", "description"):
        entries = _prefixed(form, f"{key}_")
        if entries:
            data[key] = _langmap(current.get(key) or {}, entries)
    date = _prefixed(form, "date_")
    if date:
        data["date"] = _langmap(current.get("date") or {}, date)  # edtf, display: the same rule
    for key in ("subjects", "identifiers"):
        if key in form:
            data[key] = _lines(form[key])
    if "language" in form:
        data["language"] = [t for t in _SPLIT_LANGUAGES.split(form["language"]) if t]
    if "collections" in form:  # the form sends an empty "collections" so that none checked means none
        chosen = [c for c in dict.fromkeys(form.getlist("collections")) if c]
        data["collections"] = [c for c in current.get("collections") or [] if c in chosen] + [
            c for c in chosen if c not in (current.get("collections") or [])]
    for key in AGENT_LISTS:
        agents = _agents(_rows(form, key), current.get(key) or [])
        if agents is not None:
            data[key] = agents
    places = _places(_rows(form, "places"), current.get("places") or [])
    if places is not None:
        data["places"] = places
    about = _about(_rows(form, "about"), current.get("about") or [])
    if about is not None:
        data["about"] = about
    files = _files(_rows(form, "files"), current.get("files") or [])
    if files:
        data["files"] = files
    return data


def merged(current: dict, data: dict) -> dict:
    """``current`` with ``data`` applied (to show a form again with what was sent)."""
    out = {**current, **{k: v for k, v in data.items() if k != "files"}}
    by_id = {c["id"]: c for c in data.get("files") or []}
    out["files"] = [{**f, **by_id.get(f["id"], {})} for f in current.get("files") or []]
    return out


def langmap(form, prefix: str, current: dict) -> dict:
    """``current`` with the languages the form sends as ``<prefix><lang>`` set (or removed when
    left empty); languages the form does not send are kept."""
    return _langmap(current, _prefixed(form, prefix))


def _prefixed(mapping, prefix: str) -> dict[str, str]:
    return {k[len(prefix):]: mapping[k] for k in mapping if k.startswith(prefix) and len(k) > len(prefix)}


def _langmap(current: dict, entries: dict[str, str]) -> dict:
    """``current`` with each language sent set (or removed when left empty)."""
    out = dict(current)
    for lang, text in entries.items():
        if text.strip():
            out[lang] = text.strip()
        else:
            out.pop(lang, None)
    return out


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _rows(form, key: str) -> dict[int, dict[str, str]]:
    """{i: {field: value}} from the form's ``<key>-<i>-<field>`` names."""
    rows: dict[int, dict[str, str]] = {}
    for name in form:
        m = re.fullmatch(rf"{key}-(\d{{1,4}})-(.+)", name)
        if m:
            rows.setdefault(int(m[1]), {})[m[2]] = form[name]
    return rows


def _each(rows: dict, current: list):
    """(sent row, current value) in order; rows the form did not send keep their value."""
    for i in sorted(set(range(len(current))) | set(rows)):
        yield rows.get(i, {}), dict(current[i]) if i < len(current) else {}


def _agents(rows: dict, current: list) -> list | None:
    if not rows:
        return None
    out = []
    for row, agent in _each(rows, current):
        if row.get("remove"):  # the row's "remove" box: works without JavaScript
            continue
        agent["name"] = _langmap(agent.get("name") or {}, _prefixed(row, "name-"))
        for key in ("role", "type", "id"):
            if key in row:
                agent[key] = row[key].strip() or None
        if "aliases" in row:
            agent["aliases"] = [_alias(line) for line in _lines(row["aliases"])]
        if agent["name"] or agent.get("role") or agent.get("aliases") or agent.get("id"):
            out.append(agent)  # a row left blank adds (or keeps) no one
    return out


def _alias(line: str) -> dict:
    """"字：伯虞" (or "字:伯虞") → type and name; a bare name is an alias of type 别名."""
    m = re.fullmatch(r"([^:：]*)[:：](.*)", line)
    return {"name": m[2].strip(), "type": m[1].strip() or "别名"} if m else {"name": line.strip(), "type": "别名"}


def _places(rows: dict, current: list) -> list | None:
    if not rows:
        return None
    out = []
    for row, place in _each(rows, current):
        if row.get("remove"):
            continue
        place["name"] = _langmap(place.get("name") or {}, _prefixed(row, "name-"))
        if "aliases" in row:
            place["aliases"] = _lines(row["aliases"])
        if "coordinates" in row:
            place["coordinates"] = _coordinates(row["coordinates"])
        if "id" in row:  # a place authority record (the picker of authority_macros.html)
            place["id"] = row["id"].strip() or None
        if place["name"] or place.get("aliases") or place.get("coordinates"):
            out.append(place)
    return out


def _about(rows: dict, current: list) -> list[str] | None:
    """``Item.about`` from the ``about-<i>-id`` rows (and their "remove" boxes); an id the form
    does not send stays, an id sent twice is kept once."""
    if not rows:
        return None
    out = []
    for i in sorted(set(range(len(current))) | set(rows)):
        kept = current[i] if i < len(current) else ""
        row = rows.get(i, {"id": kept})
        value = "" if row.get("remove") else row.get("id", kept).strip()
        if value and value not in out:
            out.append(value)
    return out


def check_about(data: dict, current: dict, known) -> None:
    """Refuse the authority ids the form adds to ``about`` that ``known(id)`` finds no record for
    (ids already on the item stay as they are: the form never drops what it holds)."""
    old = set(current.get("about") or [])
    problems = [(f"about[{i}]", f"no authority record {aid}") for i, aid in enumerate(data.get("about") or [])
                if aid not in old and not known(aid)]
    if problems:
        raise ValidationError(problems)


def _coordinates(text: str):
    """"31.49, 120.31" → [31.49, 120.31]; anything else is passed on for validation to name."""
    parts = [p for p in re.split(r"[\s,，]+", text.strip()) if p]
    if not parts:
        return None
    try:
        return [float(p) for p in parts]
    except ValueError:
        return text.strip()


def _files(rows: dict, current: list) -> list[dict]:
    """Changes to the label, order and access of the files sent (by their ``files-<i>-id``)."""
    by_id = {f["id"]: f for f in current}
    out = []
    for _, row in sorted(rows.items()):
        old = by_id.get(row.get("id", ""), {})
        change = {"id": row.get("id", "")}
        labels = _prefixed(row, "label-")
        if labels:
            change["label"] = _langmap(old.get("label") or {}, labels)
        if "access" in row:
            change["access"] = row["access"].strip() or None
        if "sequence" in row:
            text = row["sequence"].strip()
            change["sequence"] = int(text) if text.isdigit() else (text or None)
        out.append(change)
    return out
