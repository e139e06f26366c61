"""An item's canvases, as the IIIF Presentation manifest (``presentation``) and Content Search
(``content_search``) both see them: the files the user may see (``visible``), the canvases they
make (``plan``: one ``Page`` per page or recording), where things are (``Links``), the JSON
derivatives they read (``read_json``), which files give searchable text (``has_text``), and an
interview's cues on its recording's canvas (``listening``, ``cue_id``, ``cue_text``)."""
from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable

from oral_history.model import Cue, Interview
from oral_history.service import load_interview, recording
from repository.model import File, Item

from .identifiers import image_identifier

WEB_IMAGES = ("image/jpeg", "image/png", "image/webp", "image/gif")
TEXT_FILES = ("chapters.json", "pages.json")  # text derivatives Content Search reads


@dataclass(frozen=True)
class Links:
    """Where things are. IIIF paths are fixed here; the site's own pages come from the web layer."""
    base: str  # the site's root URL without the trailing slash
    file: Callable[[str, str], str]  # (item id, file id) → URL of the file's bytes
    record: Callable[[str], str]  # item id → the JSON record (/api/items/<id>)
    page: Callable[[str], str]  # item id → the item's web page
    collection_page: Callable[[str], str]  # collection id → its web page
    transcript: Callable[[str, str], str] | None = None  # (item id, language) → the WebVTT export

    def manifest(self, item_id: str) -> str:
        return f"{self.base}/iiif/3/manifest/{item_id}"

    def collection(self, collection_id: str) -> str:
        return f"{self.base}/iiif/3/collection/{collection_id}"

    def canvas(self, item_id: str, key: str) -> str:
        return f"{self.manifest(item_id)}/canvas/{key}"

    def image_service(self, item_id: str, pyramid: File | str) -> str:
        return f"{self.base}/iiif/3/{image_identifier(item_id, pyramid)}"

    def search(self, item_id: str) -> str:
        return f"{self.base}/iiif/3/search/{item_id}"

    def autocomplete(self, item_id: str) -> str:
        return f"{self.base}/iiif/3/autocomplete/{item_id}"

    def search1(self, item_id: str) -> str:  # Content Search 1.0, for Mirador 4
        return f"{self.base}/iiif/search/1/{item_id}"

    def autocomplete1(self, item_id: str) -> str:
        return f"{self.base}/iiif/search/1/autocomplete/{item_id}"


# --- what the user may see, and the canvases it makes ---------------------------------------------

def visible(archive, item: Item, *, user) -> list[File]:
    """The item's files this user may see (the access policy: a derivative is never easier to
    see than its original)."""
    return archive.visible_files(item, user=user)


class LRU:
    """A bounded cache, safe across threads; ``make`` runs outside the lock."""

    def __init__(self, size: int):
        self.size, self.values, self.lock = size, OrderedDict(), threading.Lock()

    def get_or_make(self, key, make):
        with self.lock:
            if key in self.values:
                self.values.move_to_end(key)
                return self.values[key]
        value = make()
        with self.lock:
            self.values[key] = value
            while len(self.values) > self.size:
                self.values.popitem(last=False)
        return value


_parsed = LRU(128)  # parsed derivative files by SHA-256: their content never changes


def read_json(archive, item_id: str, file: File, *, user, cache: bool = True):
    """A JSON derivative, read through ``open_file`` (the access policy) unless already parsed."""
    def read():
        return json.loads(archive.open_file(item_id, file.id, user=user).read())
    return _parsed.get_or_make(file.sha256, read) if cache else read()


def name(file: File) -> str:
    return file.path.rsplit("/", 1)[-1]


@dataclass
class Page:
    """One canvas to be: what is painted on it and where its text comes from."""
    key: str  # canvas key: original id [-p{page} | -c{chapter} | -cover]
    original: File
    label: dict = field(default_factory=dict)  # language map (plain strings)
    image: File | None = None  # a pyramid (with an image service) or a web image file
    thumbnail: File | None = None
    media: list[File] = field(default_factory=list)  # audio or video access copies
    poster: File | None = None
    text: str | None = None  # an EPUB chapter's text
    href: str | None = None  # an EPUB chapter's document, for the table of contents
    ocr: File | None = None  # OCR of this page (lines with boxes)
    page: int | None = None  # page number within a multi-page original


def plan(archive, item: Item, files: list[File], *, user) -> list[Page]:
    """The canvases of an item, in order, from the files the user may see."""
    pages = []
    heard = {f.derived_from for f in files if f.purpose == "access"}  # a recording may be staff-only
    for original in (f for f in item.originals if f in files or f.id in heard):  # but its redacted copies not
        derived = [f for f in files if f.derived_from == original.id]
        # full copies when the user may see them (staff), else the redacted ones (oral_history.redaction)
        kind = lambda purpose: ([f for f in derived if f.purpose == purpose and not f.tech.get("redacted")]  # noqa: E731
                                or [f for f in derived if f.purpose == purpose])
        thumbnail = next(iter(kind("thumbnail")), None)
        pyramids = sorted(kind("pyramid"), key=lambda f: f.sequence or 0)
        chapters = next((f for f in kind("text") if name(f) == "chapters.json"), None)
        if pyramids:
            for n, pyramid in enumerate(pyramids):
                ocr = next((f for f in kind("ocr") if f.sequence == pyramid.sequence), None)
                key = original.id if pyramid.sequence is None else f"{original.id}-p{pyramid.sequence}"
                pages.append(Page(key, original, dict(original.label), pyramid, thumbnail if n == 0 else None,
                                  ocr=ocr, page=pyramid.sequence))
        elif kind("access"):
            video = [f for f in kind("access") if f.media_type.startswith("video/")]
            pages.append(Page(original.id, original, dict(original.label), media=video[:1] or kind("access"),
                              poster=next(iter(kind("poster")), None)))
        elif chapters is not None:
            cover = next((f for f in kind("cover") if f.tech.get("width") and f.tech.get("height")), None)
            if cover is not None:
                pages.append(Page(f"{original.id}-cover", original, {"zh": "封面", "en": "Cover"}, cover))
            for chapter in read_json(archive, item.id, chapters, user=user):
                pages.append(Page(f"{original.id}-c{chapter['n']}", original, {"zh": chapter.get("title") or
                                  f"第 {chapter['n']} 章"}, text=chapter["text"], href=chapter.get("href")))
        elif original.media_type in WEB_IMAGES and original.tech.get("width") and original.tech.get("height"):
            pages.append(Page(original.id, original, dict(original.label), original, thumbnail))
    for n, page in enumerate(pages, 1):
        if not page.label and len(pages) > 1:
            page.label = {"zh": f"第 {n} 页", "en": f"Page {n}"}
    return pages


def has_text(files) -> bool:
    """Whether any of these files gives searchable text (so the manifest advertises search)."""
    return any(f.purpose == "ocr" or (f.purpose == "text" and name(f) in TEXT_FILES) for f in files)


# --- interviews (oral_history): their cues on the recording's canvas -----------------------------

def listening(archive, item: Item, pages: list[Page], *, user) -> tuple[Page, Interview] | None:
    """The recording's page and the interview as ``user`` may read it (the public view unless
    they may see the full one: ``oral_history.service.load_interview``), when there are both."""
    rec = recording(item)
    page = next((p for p in pages if p.media and rec is not None and p.original.id == rec.id), None)
    if page is None:
        return None
    interview, _ = load_interview(archive, item, user=user)
    return (page, interview) if interview is not None else None


def cue_id(base: str, start: float) -> str:
    """A cue's annotation id, by its start (cues of a transcript never start together)."""
    return f"{base}/cue/{round(start * 1000)}"


def cue_text(cue: Cue) -> str:
    return f"{cue.speaker}：{cue.text}" if cue.speaker else cue.text
