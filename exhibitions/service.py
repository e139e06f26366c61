"""Exhibitions: written by curators as versions of ``exhibition:<id>`` (who/when/why kept by the
archive), draft → preview → publish → unpublish; read by everyone as the access policy allows.

Readers see the latest *published* version: edits after publishing stay a draft (curators
preview them) until published again; unpublishing hides the exhibition. Every block is resolved
for the reader at render time through ``Archive.get_item`` and ``visible_files`` (the one
policy): a block whose item the reader may not see is left out, and the curator is warned."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from repository import access
from repository.access import ANONYMOUS, User
from repository.errors import Gone, NotFound, PermissionDenied
from repository.model import File, Item, edtf_years

from .listing import ExhibitionList
from .model import N_, Block, Exhibition, ExhibitionError, exhibition_from_stored


def object_id(ident: str) -> str:
    return f"exhibition:{ident}"


@dataclass
class Shown:
    """A block as one reader may see it: its items, image, clip (None when hidden)."""
    block: Block
    items: list[Item] = field(default_factory=list)
    image: File | None = None  # region: the pyramid whose region is shown
    clip: object = None  # clip: what the clips seam gave (oral_history.player.Clip)
    ocr_page: File | None = None  # quote: the page's OCR

    @property
    def item(self) -> Item | None:
        return self.items[0] if self.items else None


@dataclass
class Page:
    """An exhibition version as one reader sees it."""
    exhibition: Exhibition
    version: int
    updated: str
    sections: list[list[Shown]]  # per section, its visible blocks
    cover: tuple[Item, File] | None
    items: list[Item]  # every item shown, in order of appearance
    hidden: list[str]  # fields of the blocks left out (for the curator's warnings)


class Exhibitions:
    def __init__(self, archive, listing: ExhibitionList, *, clips: Callable | None = None):
        # clips(archive, item, start, end, *, user) → a clip or None (oral history's, registered by bootstrap)
        self.archive, self.listing, self.clips = archive, listing, clips

    # --- writing ---------------------------------------------------------------------------

    def save(self, data: dict, *, user: User, expected_version: int, why: str = ""):
        """Store ``data`` as the exhibition's new draft version (version 1 creates it); every
        reference is checked against what the curator may see."""
        _require_curator(user)
        exhibition = Exhibition.from_dict({**data, "status": "draft"})
        self._check_references(exhibition, user)
        action = "create" if expected_version == 0 else "update"
        return self._write(exhibition, user=user, action=action, why=why, expected=expected_version)

    def publish(self, ident: str, *, user: User, expected_version: int, why: str = ""):
        return self._set_status(ident, "published", user=user, expected=expected_version, why=why)

    def unpublish(self, ident: str, *, user: User, expected_version: int, why: str = ""):
        return self._set_status(ident, "unpublished", user=user, expected=expected_version, why=why)

    def _set_status(self, ident, status, *, user, expected, why):
        _require_curator(user)
        head = self._head(ident)
        exhibition = exhibition_from_stored(head.value)
        exhibition.status = status
        return self._write(exhibition, user=user, action="publish" if status == "published" else "unpublish",
                           why=why, expected=expected)

    def _write(self, exhibition: Exhibition, *, user, action, why, expected):
        record = self.archive.put_document(object_id(exhibition.id), exhibition.to_dict(), user=user,
                                           action=action, why=why, expected=expected)
        self._list(exhibition.id)
        return record

    def _check_references(self, exhibition: Exhibition, user: User) -> None:
        """Each block's item exists and the curator may see what the block shows."""
        raw = []
        for n, section in enumerate(exhibition.sections):
            for m, block in enumerate(section.blocks):
                where = f"sections[{n}].blocks[{m}]"
                for k, item_id in enumerate(block.item_ids()):
                    if self._item(item_id, user) is None:
                        raw.append((f"{where}.item" if block.item else f"{where}.items[{k}]",
                                    N_("没有条目 %(item)s（或您无权查看）"), {"item": item_id}))
                if raw and raw[-1][0].startswith(where):
                    continue
                if block.kind in ("region", "clip", "quote") and self._resolve(block, user).item is None:
                    problem = {"region": N_("条目 %(item)s 没有您可查看的图像"),
                               "clip": N_("条目 %(item)s 没有您可收听的录音"),
                               "quote": N_("条目 %(item)s 第 %(page)s 页没有这段识别文字")}[block.kind]
                    raw.append((f"{where}.{'text' if block.kind == 'quote' else 'item'}", problem,
                                {"item": block.item, "page": block.page}))
        if exhibition.cover and self.cover_of(exhibition.cover, user) is None:
            raw.append(("cover", N_("条目 %(item)s 没有您可查看的图像"), {"item": exhibition.cover}))
        if raw:
            raise ExhibitionError(raw)

    # --- reading ---------------------------------------------------------------------------

    def _head(self, ident: str):
        return self.archive.get_document(object_id(ident))

    def get(self, ident: str, *, user: User, version: int | None = None):
        """(the exhibition, its version record) as ``user`` may read it: curators any version
        (the head by default: the preview), everyone else the published one. NotFound otherwise."""
        if access.can_curate(user):
            record = self.archive.get_document(object_id(ident), version)
            return exhibition_from_stored(record.value), record
        found = self.published_record(ident)
        if found is None:
            raise NotFound(f"no exhibition {ident}")
        return exhibition_from_stored(found.value), found

    def published_record(self, ident: str):
        """The version readers see: the newest published one, unless unpublished since; or None."""
        try:
            head = self._head(ident)
        except NotFound:
            return None
        for number in range(head.version, 0, -1):
            record = head if number == head.version else self.archive.get_document(object_id(ident), number)
            status = record.value.get("status")
            if status == "published":
                return record
            if status == "unpublished":
                return None
        return None

    def history(self, ident: str, *, user: User) -> list:
        _require_curator(user)
        return self.archive.document_history(object_id(ident), user=user)

    def published(self, *, limit: int = 100) -> list[tuple[Exhibition, str]]:
        return [(exhibition_from_stored(d), at) for d, at in self.listing.published(limit=limit)]

    def all(self, *, user: User) -> list[dict]:
        _require_curator(user)
        return self.listing.all()

    # --- a page for one reader ---------------------------------------------------------------

    def page(self, exhibition: Exhibition, record, *, user: User) -> Page:
        sections, hidden, shown_items = [], [], {}
        for n, section in enumerate(exhibition.sections):
            blocks = []
            for m, block in enumerate(section.blocks):
                if block.kind in ("timeline", "map"):
                    blocks.append(Shown(block))  # filled below, from every item the reader sees
                    continue
                shown = self._resolve(block, user)
                if shown.item is None:
                    hidden.append(f"sections[{n}].blocks[{m}]")
                    continue
                blocks.append(shown)
                shown_items.update({i.id: i for i in shown.items})
            sections.append(blocks)
        cover = self.cover_of(exhibition.cover, user) if exhibition.cover else None
        if cover:
            shown_items.setdefault(cover[0].id, cover[0])
        items = list(shown_items.values())
        for n, blocks in enumerate(sections):
            for shown in blocks:
                if shown.block.kind == "timeline":
                    shown.items = sorted((i for i in items if dated(i)), key=dated)
                elif shown.block.kind == "map":
                    shown.items = [i for i in items if any(p.coordinates for p in i.places)]
            sections[n] = [s for s in blocks if s.items or s.block.kind not in ("timeline", "map")]
        return Page(exhibition, record.version, record.updated, sections, cover, items, hidden)

    def warnings(self, exhibition: Exhibition, *, user: User) -> list[tuple[str, str, dict]]:
        """For the curator's edit page: blocks that readers (anonymous) will not see, and blocks
        the curator may no longer see either (the item became restricted or was withdrawn)."""
        public, own = self.page(exhibition, _Record(), user=ANONYMOUS), self.page(exhibition, _Record(), user=user)
        out = [(f, N_("此区块的条目已受限或撤回，您也看不到它"), {}) for f in own.hidden]
        out += [(f, N_("公众读者看不到此区块的条目（受访问限制）：对他们隐藏"), {}) for f in public.hidden
                if f not in own.hidden]
        return out

    def _item(self, item_id: str, user: User) -> Item | None:
        try:
            return self.archive.get_item(item_id, user=user).value
        except (NotFound, Gone, PermissionDenied):
            return None

    def _resolve(self, block: Block, user: User) -> Shown:
        items = [i for i in (self._item(x, user) for x in block.item_ids()) if i is not None]
        shown = Shown(block)
        if not items or (block.kind != "gallery" and len(items) != 1):
            return shown
        item = items[0]
        if block.kind == "region":
            shown.image = first_image(self.archive.visible_files(item, user=user), block.file)
            if shown.image is None:
                return shown
        elif block.kind == "clip":
            shown.clip = self.clips(self.archive, item, block.start, block.end, user=user) if self.clips else None
            if shown.clip is None:
                return shown
        elif block.kind == "quote":
            shown.ocr_page = self._quoted_page(item, block, user)
            if shown.ocr_page is None:
                return shown
        shown.items = items
        return shown

    def _quoted_page(self, item: Item, block: Block, user: User) -> File | None:
        """The OCR of the quoted page when the reader may see it and it holds the quoted words."""
        import json

        pages = ocr_pages(item)
        page = pages[block.page - 1] if 0 < block.page <= len(pages) else None
        if page is None or page not in self.archive.visible_files(item, user=user):
            return None
        try:
            text = json.loads(self.archive.open_file(item.id, page.id, user=user).read()).get("text", "")
        except (NotFound, PermissionDenied, ValueError):
            return None
        return page if _squash(block.text) in _squash(text) else None

    def cover_of(self, item_id: str, user: User) -> tuple[Item, File] | None:
        item = self._item(item_id, user)
        image = first_image(self.archive.visible_files(item, user=user), None) if item else None
        return (item, image) if image else None

    # --- the derived list ----------------------------------------------------------------------

    def _list(self, ident: str) -> None:
        head = self._head(ident)
        published = self.published_record(ident)
        self.listing.put(ident, status=head.value["status"], head=head.version, updated=head.updated,
                         published_version=published.version if published else None,
                         published_at=published.updated if published else None,
                         published=published.value if published else None, title=head.value["title"])

    def rebuild(self, object_ids: list[str]) -> None:
        """The list again from storage (``Archive.rebuilders``: ``fangzhi rebuild``)."""
        self.listing.clear()
        for oid in object_ids:
            if oid.startswith("exhibition:"):
                self._list(oid.partition(":")[2])


@dataclass
class _Record:  # a page for warnings needs no version facts
    version: int = 0
    updated: str = ""


def ocr_pages(item: Item) -> list[File]:
    """The item's OCR files in page order (page n is the n-th, whoever asks: a restricted page keeps its number)."""
    order = [f.id for f in item.originals]
    return sorted((f for f in item.files if f.purpose == "ocr" and f.derived_from in order),
                  key=lambda f: (order.index(f.derived_from), f.sequence or 0))


def first_image(files: list[File], file_id: str | None) -> File | None:
    """The pyramid of ``file_id`` (a pyramid's id or its original's), or the first page's."""
    pyramids = sorted((f for f in files if f.purpose == "pyramid"), key=lambda f: (f.derived_from or "", f.sequence or 0))
    if file_id:
        return next((f for f in pyramids if file_id in (f.id, f.derived_from)), None)
    return pyramids[0] if pyramids else None


def dated(item: Item):
    years = edtf_years(item.date["edtf"]) if item.date.get("edtf") else None
    return years


def _squash(text: str | None) -> str:
    return "".join((text or "").split())


def _require_curator(user: User) -> None:
    if not access.can_curate(user):
        raise PermissionDenied("only curators, archivists and administrators may make exhibitions")
