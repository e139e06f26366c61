"""A manifest as a source: a CSV or Excel sheet, one row per item, describing files under a
folder. The columns are listed in ``COLUMNS`` and documented in ``ingest/templates/README.md``;
headers are recognised in Chinese or English (``header_key``) and every problem names the row and
the column."""
from __future__ import annotations

import csv
import io
import re
import unicodedata
from datetime import date, datetime
from pathlib import Path
from typing import Protocol

import charset_normalizer
import openpyxl
from openpyxl.utils import get_column_letter

from oral_history.attach import recording_name
from repository import vocab
from repository.model import ID_RE, RIGHTS_RE

from ..safety import UploadRefused, check_zip
from .common import PlannedItem, SourceError, guess_kind, invalid, media_kind, not_too_large, resolve, source_folder

# key, Chinese header, English header, example row 1, example row 2
COLUMNS = [
    ("id", "标识符", "id", "gz-letter-1936-001", "gz-photo-0158"),
    ("title", "题名", "title", "王氏家书（民国二十五年）", "县前街街景"),
    ("title_en", "英文题名", "title_en", "Letter of the Wang family, 1936", "Xianqian Street"),
    ("kind", "类型", "kind", "manuscript", "照片"),
    ("creator", "创作者", "creator", "王仲文（作者）", "李德华 (photographer)"),
    ("contributor", "贡献者", "contributor", "", "王秀英（捐赠者）"),
    ("date", "日期", "date", "1936-05", "195X"),
    ("date_display", "日期显示", "date_display", "民国二十五年五月", "1950年代"),
    ("place", "地点", "place", "城关镇; 上海", "县前街"),
    ("subjects", "主题", "subjects", "家书；抗战前夕", "街景; 城市变迁"),
    ("description", "描述", "description", "王仲文自上海寄回家中的书信，共两页。", "从鼓楼向南拍摄的县前街。"),
    ("description_en", "英文描述", "description_en", "", "Xianqian Street seen southwards from the Drum Tower."),
    ("language", "语言", "language", "zh", ""),
    ("rights", "权利", "rights", "http://rightsstatements.org/vocab/CNE/1.0/",
     "http://rightsstatements.org/vocab/NoC-OKLR/1.0/"),
    ("visibility", "可见性", "visibility", "embargoed", "public"),
    ("embargo_until", "解禁日期", "embargo_until", "2030-01-01", ""),
    ("collection", "馆藏", "collection", "wang-family", "old-town; photos"),
    ("identifiers", "其他编号", "identifiers", "捐-2024-017", "DF-0158"),
    ("holding_library", "收藏单位", "holding_library", "城关区图书馆", "城关区图书馆"),
    ("extent", "数量", "extent", "2页", "1张"),
    ("files", "文件", "files", "letters/1936-001/p1.tif\nletters/1936-001/p2.tif", "photos/xianqian-street.jpg"),
    ("file_ids", "文件标识符", "file_ids", "p1; p2", ""),
    ("transcript", "转录", "transcript", "", ""),
    ("notes", "备注", "notes", "", "备注不会导入 (notes are not imported)"),
]
ALIASES = {"title": ["标题"], "title_en": ["英文标题"], "kind": ["type"], "creator": ["creators", "作者"],
           "contributor": ["contributors"], "place": ["places"], "subjects": ["subject", "主题词"],
           "language": ["languages"], "collection": ["collections"], "files": ["file"],
           "file_ids": ["file_id"], "transcript": ["transcripts", "转录稿", "文字稿", "逐字稿"]}


def _norm(text: str) -> str:
    return re.sub(r"[\s_\-]+", "", unicodedata.normalize("NFKC", text)).casefold()


_HEADERS = {_norm(name): key for key, zh, en, *_ in COLUMNS for name in (key, zh, en, *ALIASES.get(key, []))}
_COLUMN_ZH = {key: zh for key, zh, *_ in COLUMNS}
# where the model reports a problem → the column it came from (longest prefix first)
_FIELD_COLUMN = {"id": "id", "kind": "kind", "title.en": "title_en", "title": "title", "creators": "creator",
                 "contributors": "contributor", "date.display": "date_display", "date": "date",
                 "places": "place", "subjects": "subjects", "description.en": "description_en",
                 "description": "description", "language": "language", "rights": "rights",
                 "visibility": "visibility", "embargo_until": "embargo_until", "collections": "collection",
                 "identifiers": "identifiers", "holding_library": "holding_library", "extent": "extent"}
_KIND_NAMES = {_norm(n): k for k, (zh, en) in vocab.KINDS.items() for n in (k, zh, en)}
_VISIBILITY_NAMES = {_norm(n): v for v, names in {
    "public": ["公开"], "alliance": ["联盟", "联盟可见"], "staff": ["馆员", "馆内", "馆员可见"],
    "embargoed": ["限期", "限期开放", "禁期"], "private": ["私密", "不公开"]}.items() for n in (v, *names)}
_RIGHTS_NAMES = {_norm(n): uri for uri, names in vocab.RIGHTS.items() for n in names}
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")


def header_key(header: str) -> str | None:
    """The column a header names: "题名", "title", "题名/title", "题名 (title)" → "title"."""
    text = unicodedata.normalize("NFKC", header or "").strip()
    for candidate in [text, *re.split(r"[/|()]+|\s+", text)]:
        if candidate and _norm(candidate) in _HEADERS:
            return _HEADERS[_norm(candidate)]
    return None


class Linker(Protocol):
    """The authority file as a manifest sees it (authority.service.Authorities.link): the record an
    id or a name in a creator/contributor (kind "agent") or place (kind "place") cell stands for,
    {"id", "name", "type"}; None when no record has the name (``create``: a new one is made);
    ValueError naming the candidates when several records share it."""

    def __call__(self, kind: str, text: str, *, create: bool = False) -> dict | None: ...


def plan_manifest(root: Path, manifest: Path, *, collection: str | None = None, link: Linker | None = None,
                  create_authorities: bool = False) -> list[PlannedItem]:
    """One item per row of a CSV or Excel manifest; file paths are relative to ``root``. With
    ``link``, creator, contributor and place cells (an authority id or a name) link to the
    authority file; ``create_authorities``: a name no record has becomes a new record."""
    root = source_folder(root)
    rows, names = _table(Path(manifest))
    items, seen_ids = [], {}
    for n, values in rows:
        item = _plan_row(root, n, values, names, collection)
        if link is not None and not item.problems:
            _link_row(item, n, names, link, create_authorities)
        item_id = item.metadata.get("id")
        if item_id and item_id in seen_ids:
            item.problems.append(f"row {n}, {names['id']}: {item_id!r} is also used in row {seen_ids[item_id]}")
        seen_ids.setdefault(item_id, n)
        items.append(item)
    return items


def check_manifest(manifest: Path, paths: set[str], *, collection: str | None = None) -> list[str]:
    """The problems of a manifest's rows before its files arrive (the web batch upload checks it
    before uploading): its columns, the metadata of every row (as the plan checks it) and the
    files it names among ``paths`` (the relative paths to be uploaded, or a folder of them)."""
    rows, names = _table(Path(manifest))
    problems, seen_ids = [], {}
    folders = {"/".join(p.split("/")[:i]) for p in paths for i in range(1, p.count("/") + 1)}
    for n, values in rows:
        def column(key):
            return names.get(key) or _COLUMN_ZH[key]
        cells = _split(values.get("files"))
        if not cells:
            problems.append(f"row {n}, {column('files')}: no file is named")
        for rel in cells + _split(values.get("transcript")):
            rel_nfc = unicodedata.normalize("NFC", rel.strip("/"))
            if rel_nfc not in paths and rel_nfc not in folders:
                problems.append(f"row {n}, {column('files')}: no such file {rel}")
        metadata = _row_metadata(values, collection)
        for fld, problem in invalid({"kind": "photo", **metadata}):
            key = next((c for f, c in _FIELD_COLUMN.items() if fld == f or fld.startswith((f + ".", f + "["))), None)
            problems.append(f"row {n}, {column(key) if key else fld}: {problem}")
        item_id = metadata.get("id")
        if item_id and item_id in seen_ids:
            problems.append(f"row {n}, {names['id']}: {item_id!r} is also used in row {seen_ids[item_id]}")
        seen_ids.setdefault(item_id, n)
    return problems


def _table(manifest: Path) -> tuple[list[tuple[int, dict]], dict]:
    """A manifest's rows below its header as (row number, {column key: cell}), and the column
    keys' headers as written."""
    rows = _read_rows(manifest)
    numbered = [(n, row) for n, row in enumerate(rows, 1) if any(row)]
    if not numbered:
        raise SourceError(f"{manifest}: the manifest is empty")
    # the header is the first row naming a known column: a title row above it is skipped
    start = next((i for i, (_, row) in enumerate(numbered) if any(map(header_key, row))), 0)
    header_row, header = numbered[start]
    columns, unknown = {}, []
    for i, name in enumerate(header):
        key = header_key(name)
        if name and not key:
            unknown.append(f"{name!r} (column {get_column_letter(i + 1)})")
        elif key and key in columns.values():
            raise SourceError(f"{manifest}, row {header_row}: two columns mean {key} ({name!r})")
        elif key:
            columns[i] = key
    if unknown:
        accepted = ", ".join(f"{zh}/{en}" for _, zh, en, *_ in COLUMNS)
        raise SourceError(f"{manifest}, row {header_row}: unknown column {', '.join(unknown)}; "
                          f"the columns are {accepted}")
    names = {key: header[i].strip() for i, key in columns.items()}
    return [(n, {key: row[i] if i < len(row) else "" for i, key in columns.items()})
            for n, row in numbered[start + 1:]], names


def read_rows(path: Path) -> list[list[str]]:
    """A CSV (any of the encodings of ``decode_text``) or Excel sheet's rows as lists of stripped
    text cells (the authority file's bulk load reads its sheets with it too)."""
    return _read_rows(Path(path))


def _read_rows(manifest: Path) -> list[list[str]]:
    """The manifest's rows as lists of stripped text cells."""
    try:
        with open(manifest, "rb") as f:
            is_zip = f.read(4) == b"PK\x03\x04"
    except OSError as exc:
        raise SourceError(f"{manifest}: cannot read the manifest ({exc.strerror})") from exc
    if manifest.suffix.lower() in (".xlsx", ".xlsm") or is_zip:
        return _excel_rows(manifest)
    if manifest.suffix.lower() == ".xls":
        raise SourceError(f"{manifest}: old .xls workbooks cannot be read; save it as .xlsx or CSV")
    not_too_large(manifest)
    text = decode_text(manifest).lstrip("\ufeff")
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(",;\t", key=first.count)  # the header never holds ";" or "," itself
    try:
        return [[c.strip() for c in row] for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    except csv.Error as exc:
        raise SourceError(f"{manifest}: not a readable CSV file ({exc})") from exc


def decode_text(path: Path) -> str:
    """A text file's content: UTF-8 (BOM or not), UTF-16 with BOM, GB18030 (GBK/GB2312, what
    Chinese Excel saves), Big5, else what charset-normalizer is confident of; else SourceError."""
    raw = path.read_bytes()
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16", "replace")
    for encoding in ("utf-8-sig", "gb18030", "big5"):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        # Big5 (traditional Chinese) bytes also decode as GB18030, into private-use characters
        if encoding == "utf-8-sig" or not re.search(r"[\ue000-\uf8ff]", text):
            return text
    best = charset_normalizer.from_bytes(raw).best()
    if best is not None and best.chaos <= 0.1:
        return str(best)
    raise SourceError(f"{path}: cannot tell the text encoding; save the file as UTF-8 (CSV UTF-8 in Excel)")



def _excel_rows(path: Path) -> list[list[str]]:
    try:  # a workbook is a zip of XML that openpyxl reads into memory: no bombs
        with open(path, "rb") as f:
            check_zip(path.name, f, label="Excel workbook", parsed=True)
    except UploadRefused as exc:
        raise SourceError(f"{path}: {exc.reason}") from None
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for damaged files
        raise SourceError(f"{path}: not a readable Excel workbook ({exc})") from exc
    try:
        if not workbook.worksheets:
            raise SourceError(f"{path}: the workbook has no worksheet")
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # some writers record wrong dimensions
        return [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


def _cell_text(value) -> str:
    """Excel cell → text: 1936.0 → "1936", a date → "1936-05-01"."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _split(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"[;；\r\n]+", text or "") if p.strip()]


def _langmap(text: str) -> dict:
    return {"zh" if _CJK.search(text) else "en": text}


def _agent(text: str) -> dict:
    """ "王仲文（作者）" or "Li Dehua (photographer)" → name and role."""
    m = re.fullmatch(r"(.+?)\s*[（(]\s*([^()（）]+?)\s*[)）]", text)
    name, role = (m.group(1), m.group(2)) if m else (text, None)
    return {"name": _langmap(name), **({"role": role} if role else {})}


def _row_metadata(v: dict, collection: str | None) -> dict:
    """A manifest row's cells (by column key) → item fields; values are checked by the model."""
    md: dict = {}
    if v.get("id"):
        md["id"] = v["id"]
    if v.get("kind"):
        md["kind"] = _KIND_NAMES.get(_norm(v["kind"]), v["kind"])
    for key, field_, lang in (("title", "title", "zh"), ("title_en", "title", "en"),
                              ("description", "description", "zh"), ("description_en", "description", "en")):
        if v.get(key):
            md.setdefault(field_, {})[lang] = v[key]
    for key, field_ in (("creator", "creators"), ("contributor", "contributors")):
        if _split(v.get(key)):
            md[field_] = [_agent(a) for a in _split(v[key])]
    if v.get("date") or v.get("date_display"):
        md["date"] = {k: v[c] for k, c in (("edtf", "date"), ("display", "date_display")) if v.get(c)}
    if _split(v.get("place")):
        md["places"] = [{"name": _langmap(p)} for p in _split(v["place"])]
    for key, field_ in (("subjects", "subjects"), ("language", "language"), ("identifiers", "identifiers")):
        if _split(v.get(key)):
            md[field_] = _split(v[key])
    collections = _split(v.get("collection")) + ([collection] if collection else [])
    if collections:
        md["collections"] = list(dict.fromkeys(collections))
    if v.get("rights"):
        rights = _RIGHTS_NAMES.get(_norm(v["rights"]), v["rights"]).replace("https://rights", "http://rights")
        md["rights"] = rights + "/" if RIGHTS_RE.match(rights + "/") else rights
    if v.get("visibility"):
        md["visibility"] = _VISIBILITY_NAMES.get(_norm(v["visibility"]), v["visibility"])
    for key in ("embargo_until", "holding_library", "extent"):
        if v.get(key):
            md[key] = v[key]
    return md


def _link_row(item: PlannedItem, n: int, names: dict, link: Linker, create: bool) -> None:
    """Point a planned row's creators, contributors and places at authority records: every cell is
    looked up first, and records are created only when no cell of the row is a problem (an
    ambiguous name fails the entry and stores nothing)."""
    md = item.metadata
    cells = [(f, i, "place" if f == "places" else "agent", entry) for f in ("creators", "contributors", "places")
             for i, entry in enumerate(md.get(f, []))]
    found = []
    for f, i, kind, entry in cells:
        text = next(iter(entry["name"].values()))
        try:
            found.append(link(kind, text))
        except ValueError as exc:
            column = {"creators": "creator", "contributors": "contributor", "places": "place"}[f]
            item.problems.append(f"row {n}, {names.get(column) or _COLUMN_ZH[column]}: {exc}")
            found.append(None)
    if item.problems:
        return
    for (f, i, kind, entry), record in zip(cells, found):
        text = next(iter(entry["name"].values()))
        record = record or (link(kind, text, create=True) if create else None)
        if record:
            md[f][i] = {**entry, "id": record["id"], "name": {"zh": record["name"]},
                        **({"type": record["type"]} if f != "places" else {})}


def _plan_row(root: Path, n: int, v: dict, names: dict, collection: str | None) -> PlannedItem:
    """One manifest row → a PlannedItem; every problem names the row and the column."""
    def column(key):
        return names.get(key) or _COLUMN_ZH[key]

    problems, files = [], []
    cells = _split(v.get("files"))
    for rel in cells:
        found, problem = resolve(root, rel)
        files += found
        if problem:
            problems.append(f"row {n}, {column('files')}: {problem}")
    if not cells:
        problems.append(f"row {n}, {column('files')}: no file is named")
    file_ids = _split(v.get("file_ids")) or [None] * len(files)
    if len(file_ids) != len(files) and not problems:
        problems.append(f"row {n}, {column('file_ids')}: {len(file_ids)} identifiers for {len(files)} files")
    for fid in filter(None, file_ids):
        if not ID_RE.match(fid):
            problems.append(f"row {n}, {column('file_ids')}: {fid!r} is not a valid identifier "
                            "(letters, digits, . _ -)")
        elif file_ids.count(fid) > 1:
            problems.append(f"row {n}, {column('file_ids')}: {fid!r} is used twice")
    transcripts = []
    for rel in _split(v.get("transcript")):
        found, problem = resolve(root, rel)
        bad = [f.name for f in found if recording_name(f.name) is None]
        if problem or bad:
            problems.append(f"row {n}, {column('transcript')}: "
                            + (problem or f"{', '.join(bad)} is not a transcript (.vtt .srt .txt or OHMS .xml)"))
        transcripts += found
    if transcripts and files and not any(media_kind(f) in ("audio", "video") for f in files):
        problems.append(f"row {n}, {column('transcript')}: a transcript needs an audio or video recording "
                        f"in {column('files')}")
    metadata = _row_metadata(v, collection)
    if "kind" not in metadata:  # from the files' content, as for a folder
        unreadable = []
        metadata["kind"] = guess_kind(files, len(files) > 1, unreadable)
        problems += [f"row {n}, {column('files')}: {p}" for p in unreadable]
    for fld, problem in invalid(metadata):
        key = next((c for f, c in _FIELD_COLUMN.items() if fld == f or fld.startswith((f + ".", f + "["))), None)
        problems.append(f"row {n}, {column(key) if key else fld}: {problem}")
    label = v.get("id") or v.get("title") or v.get("title_en") or (cells[0] if cells else f"row {n}")
    return PlannedItem(label, files, metadata, list(file_ids), list(dict.fromkeys(problems)), transcripts=transcripts)
