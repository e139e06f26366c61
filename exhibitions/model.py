"""An exhibition: title, subtitle, cover, summary (language maps), sections in order, each with a
heading, Markdown text and blocks. Validation names each field (``sections[0].blocks[1].region``);
messages are Chinese source strings (``N_``), translated by the web layer (``ExhibitionError.raw``)."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from repository.errors import ValidationError
from repository.model import ID_RE

LANGS = ("zh", "en")
KINDS = ("item", "region", "gallery", "clip", "quote", "timeline", "map")
STATUSES = ("draft", "published", "unpublished")
MAX_TEXT = 20_000  # characters of Markdown in one section, per language
MAX_SHORT = 300  # a title, heading or caption
MAX_SECTIONS, MAX_BLOCKS, MAX_GALLERY = 40, 40, 60
MAX_QUOTE = 2_000
EXHIBITION_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def N_(message: str) -> str:  # marks a message for extraction (pybabel's default keywords)
    return message


class ExhibitionError(ValidationError):
    """Problems with an exhibition: ``problems`` (field, message in Chinese) as every
    ValidationError, and ``raw`` (field, message id, values) for the interface's language."""

    def __init__(self, raw: list[tuple[str, str, dict]]):
        self.raw = raw
        super().__init__([(f, m % v) for f, m, v in raw])


class _Checker:
    def __init__(self):
        self.raw: list[tuple[str, str, dict]] = []

    def fail(self, where: str, message: str, **values) -> None:
        self.raw.append((where, message, values))

    def langmap(self, value, where: str, *, required=False, limit=MAX_SHORT) -> dict:
        if isinstance(value, str):
            value = {"zh": value}
        if value in (None, {}, ""):
            value = {}
        if not isinstance(value, dict):
            self.fail(where, N_("应是各语言的文字，如 {\"zh\": \"…\", \"en\": \"…\"}"))
            return {}
        out = {}
        for lang, text in value.items():
            if lang not in LANGS:
                self.fail(f"{where}.{lang}", N_("语言只能是 zh 或 en"))
            elif not isinstance(text, str):
                self.fail(f"{where}.{lang}", N_("应是文字"))
            elif len(text) > limit:
                self.fail(f"{where}.{lang}", N_("太长：%(n)s 个字符，最多 %(limit)s 个"), n=len(text), limit=limit)
            elif text.strip():
                out[lang] = text.strip()
        if required and not out:
            self.fail(where, N_("必填（至少一种语言）"))
        return out

    def item_id(self, value, where: str, *, required=True) -> str | None:
        if value in (None, ""):
            if required:
                self.fail(where, N_("请填写条目编号"))
            return None
        if not isinstance(value, str) or not ID_RE.match(value.strip()):
            self.fail(where, N_("“%(value)s”不是条目编号"), value=str(value)[:80])
            return None
        return value.strip()

    def number(self, value, where: str, *, minimum=0.0, integer=False, required=True):
        if value in (None, ""):
            if required:
                self.fail(where, N_("必填"))
            return None
        try:
            number = int(value) if integer else float(value)
        except (TypeError, ValueError):
            self.fail(where, N_("应是数字，而不是“%(value)s”"), value=str(value)[:40])
            return None
        if number != number or number < minimum or number > 1e9:  # NaN, negative, absurd
            self.fail(where, N_("应是不小于 %(min)s 的数字"), min=minimum)
            return None
        return number


@dataclass
class Block:
    kind: str
    item: str | None = None  # item, region, clip, quote
    items: list[str] = field(default_factory=list)  # gallery
    file: str | None = None  # region: the image (a pyramid's or original's file id); None: the first page
    region: list[int] | None = None  # region: x, y, w, h in full-image pixels (IIIF Image API 3.0 §4.1)
    start: float | None = None  # clip: seconds
    end: float | None = None
    page: int | None = None  # quote: the page (1 for a single image)
    text: str | None = None  # quote: the words, as in the page's OCR text
    caption: dict = field(default_factory=dict)

    def item_ids(self) -> list[str]:
        return [self.item] if self.item else list(self.items)


@dataclass
class Section:
    heading: dict
    text: dict = field(default_factory=dict)  # Markdown per language
    blocks: list[Block] = field(default_factory=list)


@dataclass
class Exhibition:
    id: str
    title: dict
    subtitle: dict = field(default_factory=dict)
    summary: dict = field(default_factory=dict)
    cover: str | None = None  # an item id: its first image
    sections: list[Section] = field(default_factory=list)
    status: str = "draft"

    def item_ids(self) -> list[str]:
        """Every item the exhibition shows, in order of appearance, once."""
        found = [self.cover] if self.cover else []
        for s in self.sections:
            for b in s.blocks:
                found += b.item_ids()
        return list(dict.fromkeys(found))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data) -> "Exhibition":
        c = _Checker()
        if not isinstance(data, dict):
            raise ExhibitionError([("exhibition", N_("应是一个对象"), {})])
        ident = data.get("id")
        if not isinstance(ident, str) or not EXHIBITION_ID.match(ident):
            c.fail("id", N_("编号只能用小写字母、数字和连字符（最多 63 个）"))
        status = data.get("status") or "draft"
        if status not in STATUSES:
            c.fail("status", N_("状态只能是 draft、published 或 unpublished"))
        sections = data.get("sections") or []
        if not isinstance(sections, list):
            c.fail("sections", N_("应是列表"))
            sections = []
        if len(sections) > MAX_SECTIONS:
            c.fail("sections", N_("最多 %(limit)s 个章节"), limit=MAX_SECTIONS)
            sections = []
        exhibition = cls(
            id=ident if isinstance(ident, str) else "", status=status,
            title=c.langmap(data.get("title"), "title", required=True),
            subtitle=c.langmap(data.get("subtitle"), "subtitle"),
            summary=c.langmap(data.get("summary"), "summary", limit=MAX_TEXT),
            cover=c.item_id(data.get("cover"), "cover", required=False),
            sections=[_section(c, s, f"sections[{n}]") for n, s in enumerate(sections)])
        if c.raw:
            raise ExhibitionError(c.raw)
        return exhibition


def _section(c: _Checker, data, where: str) -> Section:
    if not isinstance(data, dict):
        c.fail(where, N_("应是一个对象"))
        return Section({})
    blocks = data.get("blocks") or []
    if not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS:
        c.fail(f"{where}.blocks", N_("应是最多 %(limit)s 个区块的列表"), limit=MAX_BLOCKS)
        blocks = []
    return Section(heading=c.langmap(data.get("heading"), f"{where}.heading", required=True),
                   text=c.langmap(data.get("text"), f"{where}.text", limit=MAX_TEXT),
                   blocks=[_block(c, b, f"{where}.blocks[{n}]") for n, b in enumerate(blocks)])


def _block(c: _Checker, data, where: str) -> Block:
    if not isinstance(data, dict) or data.get("kind") not in KINDS:
        c.fail(f"{where}.kind", N_("区块类型应是 %(kinds)s 之一"), kinds="、".join(KINDS))
        return Block("item")
    kind = data["kind"]
    block = Block(kind, caption=c.langmap(data.get("caption"), f"{where}.caption"))
    if kind in ("item", "region", "clip", "quote"):
        block.item = c.item_id(data.get("item"), f"{where}.item")
    if kind == "gallery":
        items = data.get("items") or []
        if isinstance(items, str):
            items = items.replace("，", ",").split(",")
        if not isinstance(items, list) or len(items) > MAX_GALLERY:
            c.fail(f"{where}.items", N_("应是最多 %(limit)s 个条目编号"), limit=MAX_GALLERY)
            items = []
        block.items = [i for n, v in enumerate(items) if str(v).strip()
                       and (i := c.item_id(str(v).strip(), f"{where}.items[{n}]"))]
        if not block.items and not any(f.startswith(f"{where}.items") for f, _, _ in c.raw):
            c.fail(f"{where}.items", N_("画廊至少要有一个条目"))
    if kind == "region":
        block.file = c.item_id(data.get("file"), f"{where}.file", required=False)
        region = data.get("region")
        if isinstance(region, str):
            region = [p.strip() for p in region.split(",")]
        if not isinstance(region, list) or len(region) != 4:
            c.fail(f"{where}.region", N_("请在图像上框选区域（x,y,宽,高，原图像素）"))
        else:
            numbers = [c.number(v, f"{where}.region[{n}]", integer=True) for n, v in enumerate(region)]
            if None not in numbers:
                if numbers[2] < 1 or numbers[3] < 1:
                    c.fail(f"{where}.region", N_("区域的宽和高至少 1 像素"))
                block.region = numbers
    if kind == "clip":
        block.start = c.number(data.get("start"), f"{where}.start")
        block.end = c.number(data.get("end"), f"{where}.end")
        if block.start is not None and block.end is not None and block.end <= block.start:
            c.fail(f"{where}.end", N_("结束时间应晚于开始时间"))
    if kind == "quote":
        block.page = c.number(data.get("page") or 1, f"{where}.page", minimum=1, integer=True)
        text = data.get("text")
        if not isinstance(text, str) or not text.strip():
            c.fail(f"{where}.text", N_("请填写引文（页面识别文字中的原文）"))
        elif len(text) > MAX_QUOTE:
            c.fail(f"{where}.text", N_("太长：%(n)s 个字符，最多 %(limit)s 个"), n=len(text), limit=MAX_QUOTE)
        else:
            block.text = text.strip()
    return block


def read_block(data: dict) -> Block:
    """A stored block (already valid) back as a Block."""
    return Block(**data)


def exhibition_from_stored(data: dict) -> Exhibition:
    """A stored exhibition (validated when written) as objects, without checking it again."""
    sections = [Section(s["heading"], s.get("text") or {}, [read_block(b) for b in s.get("blocks") or []])
                for s in data.get("sections") or []]
    return Exhibition(**{**data, "sections": sections})
