"""Ingest sources: turn a donation on disk into a plan, a list of ``PlannedItem``.

Three kinds of source, chosen by ``plan()``:

- **a folder**: one item per file at the top level, one multi-page item per subfolder (pages in
  natural order: ``2.tif`` before ``10.tif``). Kinds come from the files' first bytes.
- **a manifest** (CSV or Excel, one row per item) describing files under a folder; the columns
  are listed in ``COLUMNS`` and documented in ``ingest/templates/README.md``.
- **a BagIt bag**, verified checksum by checksum first; its payload is planned from the
  ``metadata.json`` that ``export_bag`` writes, else a manifest, else as a folder.

Planning never stores anything. A problem with one item (a missing file, a bad value) goes in
that item's ``problems`` and the job marks it failed; a source that cannot be read at all
raises ``SourceError``. Every path an item names stays inside the source folder: absolute paths,
``..`` and symbolic links leading out are refused.
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path, PurePath, PureWindowsPath

import bagit
import charset_normalizer
import openpyxl
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from oral_history.attach import recording_name
from repository import vocab
from repository.errors import ValidationError
from repository.model import ID_RE, RIGHTS_RE, Item

from .errors import IngestError
from .safety import HEAD, UploadRefused, check_zip, identify

CHUNK = 1024 * 1024
MAX_MANIFEST_BYTES = 64 << 20  # a manifest or an export's metadata.json is read whole into memory


@dataclass
class PlannedItem:
    label: str                  # what the archivist recognises: "box1", "letter-03", a row's id or title
    files: list[Path]           # absolute paths of the originals, in page order
    metadata: dict              # Item.from_dict shape without "files": kind, title, …
    file_ids: list[str | None]  # explicit file identifiers from a manifest, else None each
    problems: list[str]         # reasons this item cannot be ingested; the job marks it failed
    file_fields: list[dict] = field(default_factory=list)  # from an exported bag: per file {label, access}
    transcripts: list[Path] = field(default_factory=list)  # transcript/OHMS files of an interview (supplements)


class SourceError(IngestError):
    """The whole source is unusable (invalid bag, unreadable manifest); the message names file and reason."""


def plan(source: Path, *, manifest: Path | None = None, collection: str | None = None) -> list[PlannedItem]:
    """Plan ``source``: a bag if it holds bagit.txt, else by ``manifest`` if given, else as a folder."""
    source = Path(source)
    if (source / "bagit.txt").is_file():
        return plan_bag(source, collection=collection)
    if manifest is not None:
        return plan_manifest(source, Path(manifest), collection=collection)
    return plan_folder(source, collection=collection)


# --- folders ---------------------------------------------------------------------------------

_JUNK = {"thumbs.db", "ehthumbs.db", "desktop.ini", "__macosx", "$recycle.bin", "system volume information"}


def is_hidden(name: str) -> bool:
    """System and hidden files a donation carries by accident: .DS_Store, ._x, Thumbs.db, ~$x.xlsx …"""
    return name.startswith((".", "~$")) or name.casefold() in _JUNK


def natural_key(path: PurePath | str) -> tuple:
    """Sort key for paths: numbers by value ("2" before "10"), letters case-insensitively."""
    parts = PurePath(path).parts
    return tuple([int(t) if i % 2 else t for i, t in enumerate(re.split(r"(\d+)", p.casefold()))]
                 for p in parts), str(path)


def plan_folder(root: Path, *, collection: str | None = None) -> list[PlannedItem]:
    """One item per top-level file, one multi-page item per subfolder (its files at any depth)."""
    root = _source_folder(root)
    items = []
    try:
        names = sorted((n for n in os.listdir(root) if not is_hidden(n)), key=natural_key)
    except OSError as exc:
        raise SourceError(f"{root}: cannot read the folder ({exc.strerror})") from exc
    attached = transcripts_beside([root / n for n in names if (root / n).is_file() and _inside(root / n, root)])
    taken = {t for ts in attached.values() for t in ts}
    for name in names:
        path = root / name
        problems = []
        if path in taken:
            continue
        if not _inside(path, root):
            files, multi, problems = [], False, [f"{name}: a symbolic link leading outside the source folder"]
        elif path.is_dir():
            files, problems = _pages(path, root)
            inner = transcripts_beside(files)
            files = [f for f in files if not any(f in ts for ts in inner.values())]
            attached.update(inner)
            multi = len(files) > 1 or not inner
            if not files and not problems:
                problems.append(f"{name}: the folder holds no files")
        elif path.is_file():
            files, multi = [path], False
        else:
            files, multi, problems = [], False, [f"{name}: not a regular file"]
        label = path.name if multi or path.is_dir() else path.stem or path.name
        metadata = {"kind": _guess_kind(files, multi, problems), "title": {"zh": label}}
        if collection:
            metadata["collections"] = [collection]
        problems += [f"{name}, {f}: {p}" for f, p in _invalid(metadata)]
        transcripts = [t for f in files for t in attached.get(f, [])]
        items.append(PlannedItem(label, files, metadata, [None] * len(files), problems, transcripts=transcripts))
    return items


def transcripts_beside(paths: list[Path]) -> dict[Path, list[Path]]:
    """Transcript and OHMS files named after a recording beside them (采访_张.wav with
    采访_张.vtt, 采访_张.wuu.vtt, 采访_张.xml …): recording → its transcripts, in name order."""
    recordings = {}
    for path in paths:
        if recording_name(path.name) is None and _media_kind(path) in ("audio", "video"):
            recordings.setdefault(unicodedata.normalize("NFC", path.stem), path)
    found: dict[Path, list[Path]] = {}
    for path in sorted(paths, key=natural_key):
        base = recording_name(path.name)
        recording = recordings.get(unicodedata.normalize("NFC", base)) if base else None
        if recording is not None:
            found.setdefault(recording, []).append(path)
    return found


def _media_kind(path: Path) -> str | None:
    try:
        with open(path, "rb") as f:
            return kind_of(identify(f.read(HEAD)))
    except OSError:
        return None


def unique_names(paths: list[Path | str]) -> list[str]:
    """File names to store an item's pages under, unique even ignoring case: the file name, or
    with its folders prefixed ("vol2-0001.tif") when pages in nested folders share a name."""
    if not paths:
        return []
    base = os.path.commonpath([os.path.dirname(p) for p in paths])
    parts = [PurePath(p).relative_to(base).parts for p in paths]
    depth = [1] * len(parts)
    while True:
        names = ["-".join(p[-d:]) for p, d in zip(parts, depth)]
        folded = [unicodedata.normalize("NFC", n).casefold() for n in names]
        clashing = [i for i, n in enumerate(folded) if folded.count(n) > 1 and depth[i] < len(parts[i])]
        if not clashing:
            return names
        for i in clashing:
            depth[i] += 1


def _source_folder(root: Path) -> Path:
    root = Path(root).absolute()
    if not root.is_dir():
        raise SourceError(f"{root}: not a folder")
    return root


def _inside(path: Path, root: Path) -> bool:
    """Whether ``path``, with every symbolic link followed, stays inside ``root``."""
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(root))


def _pages(folder: Path, root: Path) -> tuple[list[Path], list[str]]:
    """Every file under ``folder`` (hidden ones skipped) in natural order of relative path, and
    problems for links leading out of ``root`` and for things that are not files."""
    found, problems, seen = [], [], set()

    def visit(d: Path):
        real = os.path.realpath(d)
        if real in seen:  # a link back to a folder already visited
            return
        seen.add(real)
        try:
            names = os.listdir(d)
        except OSError as exc:
            problems.append(f"{d.relative_to(root).as_posix()}: cannot read the folder ({exc.strerror})")
            return
        for name in names:
            p = d / name
            rel = p.relative_to(root).as_posix()
            if is_hidden(name):
                continue
            if not _inside(p, root):
                problems.append(f"{rel}: a symbolic link leading outside the source folder")
            elif p.is_dir():
                visit(p)
            elif p.is_file():
                found.append(p)
            else:
                problems.append(f"{rel}: not a regular file")

    visit(folder)
    found.sort(key=lambda p: natural_key(p.relative_to(folder)))
    return found, problems


def kind_of(media_type: str | None) -> str:
    """The item kind a single file of this media type makes."""
    media_type = media_type or ""
    if media_type.startswith("image/") and media_type != "image/svg+xml":
        return "photo"
    if media_type == "application/pdf":
        return "book"
    if media_type == "application/epub+zip":
        return "ebook"
    return media_type.split("/")[0] if media_type.startswith(("audio/", "video/")) else "object"


def _guess_kind(files: list[Path], multi: bool, problems: list[str]) -> str:
    """The kind from the files' first bytes: one kind for all, images in a folder → manuscript."""
    kinds = set()
    for path in files:
        try:
            with open(path, "rb") as f:
                kinds.add(kind_of(identify(f.read(HEAD))))
        except OSError as exc:
            problems.append(f"{path.name}: cannot read the file ({exc.strerror})")
    if len(kinds) != 1:
        return "object"
    kind = kinds.pop()
    return "manuscript" if kind == "photo" and multi else kind


# --- manifests -------------------------------------------------------------------------------

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


def plan_manifest(root: Path, manifest: Path, *, collection: str | None = None) -> list[PlannedItem]:
    """One item per row of a CSV or Excel manifest; file paths are relative to ``root``."""
    root = _source_folder(root)
    rows = _read_rows(Path(manifest))
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
    items, seen_ids = [], {}
    for n, row in numbered[start + 1:]:
        values = {key: row[i] if i < len(row) else "" for i, key in columns.items()}
        item = _plan_row(root, n, values, names, collection)
        item_id = item.metadata.get("id")
        if item_id and item_id in seen_ids:
            item.problems.append(f"row {n}, {names['id']}: {item_id!r} is also used in row {seen_ids[item_id]}")
        seen_ids.setdefault(item_id, n)
        items.append(item)
    return items


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
    _not_too_large(manifest)
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


def _not_too_large(path: Path) -> None:
    size = path.stat().st_size
    if size > MAX_MANIFEST_BYTES:
        raise SourceError(f"{path}: the file is {size:,} bytes, more than the limit of "
                          f"{MAX_MANIFEST_BYTES:,} bytes for a manifest")


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


def _plan_row(root: Path, n: int, v: dict, names: dict, collection: str | None) -> PlannedItem:
    """One manifest row → a PlannedItem; every problem names the row and the column."""
    def column(key):
        return names.get(key) or _COLUMN_ZH[key]

    problems, files = [], []
    cells = _split(v.get("files"))
    for rel in cells:
        found, problem = _resolve(root, rel)
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
        found, problem = _resolve(root, rel)
        bad = [f.name for f in found if recording_name(f.name) is None]
        if problem or bad:
            problems.append(f"row {n}, {column('transcript')}: "
                            + (problem or f"{', '.join(bad)} is not a transcript (.vtt .srt .txt or OHMS .xml)"))
        transcripts += found
    if transcripts and files and not any(_media_kind(f) in ("audio", "video") for f in files):
        problems.append(f"row {n}, {column('transcript')}: a transcript needs an audio or video recording "
                        f"in {column('files')}")
    metadata = _row_metadata(v, collection)
    if "kind" not in metadata:  # from the files' content, as for a folder
        unreadable = []
        metadata["kind"] = _guess_kind(files, len(files) > 1, unreadable)
        problems += [f"row {n}, {column('files')}: {p}" for p in unreadable]
    for fld, problem in _invalid(metadata):
        key = next((c for f, c in _FIELD_COLUMN.items() if fld == f or fld.startswith((f + ".", f + "["))), None)
        problems.append(f"row {n}, {column(key) if key else fld}: {problem}")
    label = v.get("id") or v.get("title") or v.get("title_en") or (cells[0] if cells else f"row {n}")
    return PlannedItem(label, files, metadata, list(file_ids), list(dict.fromkeys(problems)), transcripts=transcripts)


def _resolve(root: Path, rel: str) -> tuple[list[Path], str | None]:
    """The files a manifest path names (a folder names its files, in natural order), or a problem."""
    rel = rel.replace("\\", "/")
    if rel.startswith("/") or PureWindowsPath(rel).drive:
        return [], f"{rel} is an absolute path; give the path from the folder of the files"
    if ".." in rel.split("/"):
        return [], f"{rel} climbs out of the folder of the files with .."
    # the same name typed on a Mac (NFD) or elsewhere (NFC)
    candidates = [root / r for r in dict.fromkeys([rel, *(unicodedata.normalize(f, rel) for f in ("NFC", "NFD"))])]
    path = next((p for p in candidates if p.exists()), None)
    if path is None:
        return [], f"no such file {rel}"
    if not _inside(path, root):
        return [], f"{rel} is a symbolic link leading outside the folder of the files"
    if path.is_dir():
        pages, problems = _pages(path, root)
        return pages, "; ".join(problems) or (None if pages else f"the folder {rel} holds no files")
    return ([path], None) if path.is_file() else ([], f"{rel} is not a regular file")


def _invalid(metadata: dict) -> list[tuple[str, str]]:
    """The model's (field, problem) pairs for planned metadata (an id is assigned later if absent)."""
    try:
        Item.from_dict({"id": "planned", **metadata, "files": []})
    except ValidationError as exc:
        return exc.problems
    return []


# --- BagIt -----------------------------------------------------------------------------------

def plan_bag(bag_dir: Path, *, collection: str | None = None) -> list[PlannedItem]:
    """Verify a bag (every checksum), then plan its payload: metadata.json, a manifest, or a folder."""
    bag_dir = Path(bag_dir).absolute()
    bag = None
    try:
        bag = bagit.Bag(str(bag_dir))
        bag.validate(fast=False)
    except bagit.BagValidationError as exc:
        raise SourceError(f"{bag_dir}: not a valid bag: {_bag_reasons(bag, exc)}") from exc
    except (bagit.BagError, OSError, UnicodeError, ValueError) as exc:
        raise SourceError(f"{bag_dir}: not a valid bag: {exc}") from exc
    data = bag_dir / "data"
    if (data / "metadata.json").is_file():
        return _plan_export(data, collection)
    for name in ("manifest.csv", "manifest.xlsx"):
        if (data / name).is_file():
            return plan_manifest(data, data / name, collection=collection)
    return plan_folder(data, collection=collection)


def _bag_reasons(bag: bagit.Bag | None, exc: bagit.BagValidationError) -> str:
    """Every file at fault. bagit stops at a wrong Payload-Oxum (file count and bytes) before
    naming any file, so then its file checks are run here to say which files are wrong."""
    details = list(exc.details)
    if bag is not None and not details and exc.message.startswith("Payload-Oxum"):
        for check in (bag._validate_completeness, lambda: bag._validate_entries(1)):
            try:
                check()
            except bagit.BagValidationError as more:
                details = list(more.details)
                break
    return "; ".join(str(d) for d in details) or exc.message


def _plan_export(data: Path, collection: str | None) -> list[PlannedItem]:
    """Items from the ``metadata.json`` an ``export_bag`` wrote."""
    where = data / "metadata.json"
    _not_too_large(where)
    try:
        entries = json.loads(where.read_text(encoding="utf-8"))["items"]
        assert isinstance(entries, list)
    except (ValueError, KeyError, TypeError, AssertionError) as exc:
        raise SourceError(f"{where}: not an export's metadata.json ({exc or 'no list of items'})") from exc
    items = []
    for i, entry in enumerate(entries, 1):
        entry = entry if isinstance(entry, dict) else {}
        metadata = entry.get("metadata") if isinstance(entry.get("metadata"), dict) else {}
        collections = metadata.get("collections") if isinstance(metadata.get("collections"), list) else []
        if collection and collection not in collections:
            metadata["collections"] = [*collections, collection]
        files, problems = [], []
        listed = entry.get("files") if isinstance(entry.get("files"), list) else []
        for rel in listed:
            found, problem = _resolve(data, str(rel))
            files += found
            if problem:
                problems.append(f"metadata.json item {i}, files: {problem}")
        file_ids = list(entry.get("file_ids") or [None] * len(files))
        fields = list(entry.get("file_fields") or [])
        if len(file_ids) != len(files) or len(fields) not in (0, len(files)):
            problems.append(f"metadata.json item {i}, file_ids: not one per file")
        problems += [f"metadata.json item {i}, {f}: {p}" for f, p in _invalid(metadata)]
        label = metadata.get("id") or f"item {i}"
        items.append(PlannedItem(str(label), files, metadata, file_ids, problems, fields))
    return items


def export_bag(archive, item_ids: list[str], dest: Path, *, user) -> Path:
    """Write items as a BagIt bag at ``dest`` (new or empty): their originals under
    ``data/files/<item id>/<name>`` and ``data/metadata.json``, with SHA-256 and SHA-512 manifests.

    Only what ``user`` may see is exported: an item they may not see raises (NotFound, Gone)
    before anything is written, and files restricted from them are left out.
    ``plan_bag`` on the result gives back the same metadata and files.
    """
    dest = Path(dest).absolute()
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise FileExistsError(f"{dest}: the bag folder must be new or empty")
    records = [archive.get_item(i, user=user) for i in dict.fromkeys(item_ids)]
    created = not dest.exists()
    dest.mkdir(parents=True, exist_ok=True)
    try:
        entries = [_export_item(archive, record.value, dest, user) for record in records]
        (dest / "metadata.json").write_text(json.dumps({"items": entries}, ensure_ascii=False, indent=2),
                                            encoding="utf-8")
        libraries = sorted({r.value.holding_library for r in records if r.value.holding_library})
        ids = [r.value.id for r in records]
        info = {"Bagging-Date": date.today().isoformat(),
                "External-Description": f"Fangzhi export of {len(ids)} item(s): {', '.join(ids[:50])}"
                                        + (" …" if len(ids) > 50 else "")}
        if libraries:
            info["Source-Organization"] = libraries
        bagit.make_bag(str(dest), info, checksums=["sha256", "sha512"])
    except BaseException:
        for child in dest.iterdir() if dest.exists() else ():
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
        if created:
            dest.rmdir()
        raise
    return dest


def _export_item(archive, item, dest: Path, user) -> dict:
    """Copy one item's visible originals into ``dest/files/<id>/`` and describe it."""
    paths, ids, fields = [], [], []
    for file in archive.visible_files(item, user=user):
        if file.role != "original":
            continue
        stored = archive.open_file(item.id, file.id, user=user)
        rel = f"files/{item.id}/{file.path.rsplit('/', 1)[-1]}"
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        with stored.open() as src, open(dest / rel, "wb") as out:
            shutil.copyfileobj(src, out, CHUNK)
        paths.append(rel)
        ids.append(file.id)
        fields.append({k: v for k, v in (("label", file.label), ("access", file.access)) if v})
    metadata = item.to_dict()
    metadata.pop("files")
    return {"metadata": metadata, "files": paths, "file_ids": ids, "file_fields": fields}


# --- the manifest template -------------------------------------------------------------------

TEMPLATE_DATE = (2025, 1, 1, 0, 0, 0)  # fixed timestamps: the generated .xlsx is byte-reproducible


def template_rows() -> list[list[str]]:
    """The template: bilingual headers ("题名/title") and two example rows."""
    return [[f"{zh}/{en}" for _, zh, en, *_ in COLUMNS],
            [c[3] for c in COLUMNS],
            [c[4] for c in COLUMNS]]


def write_template(path: Path) -> Path:
    """Write the manifest template as .xlsx or (any other suffix) CSV in UTF-8 with BOM."""
    path = Path(path)
    rows = template_rows()
    if path.suffix.lower() != ".xlsx":
        with open(path, "w", encoding="utf-8-sig", newline="") as f:
            csv.writer(f).writerows(rows)
        return path
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "manifest"
    for row in rows:
        sheet.append(row)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        sheet.column_dimensions[cell.column_letter].width = 22
    sheet.freeze_panes = "A2"
    workbook.properties.creator = "Fangzhi"
    workbook.properties.created = datetime(*TEMPLATE_DATE)
    buffer = io.BytesIO()
    workbook.save(buffer)
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the save time here
                content = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2025-01-01T00:00:00Z", content)
            out.writestr(zipfile.ZipInfo(info.filename, TEMPLATE_DATE), content, zipfile.ZIP_DEFLATED)
    return path
