"""Items of every kind with their derivatives, made directly through the archive (no media tools):
the bytes are stand-ins, the technical metadata is what the pipeline would record."""
from __future__ import annotations

import json

from repository.access import SYSTEM
from repository.services import NewFile

RIGHTS = "http://rightsstatements.org/vocab/NoC-OKLR/1.0/"
# Three pages of vertical text: each line a column, each character 40 × 50 px.
PAGES = [["锡山在县城西惠山之东麓", "泉出石罅甘冽異常"], ["運河繞城而过商船往来", "米市布码头皆在于此"], ["乡人重读书兴学堂"]]


def ocr(lines: list[str], x0: int = 700) -> bytes:
    """OCR JSON as ingest/steps/ocr.py writes it: columns right to left, characters top to bottom."""
    out = []
    for n, text in enumerate(lines):
        x, y = x0 - n * 60, 80
        chars = [{"text": c, "box": [x, y + i * 50, 40, 50]} for i, c in enumerate(text)]
        out.append({"text": text, "box": [x, y, 40, 50 * len(text)], "score": 0.99, "vertical": True, "chars": chars})
    return json.dumps({"width": 800, "height": 1100, "lines": out, "text": "\n".join(lines)},
                      ensure_ascii=False).encode()


def derivative(original: str, name: str, data: bytes, media_type: str, purpose: str, sequence=None, **tech):
    return NewFile(name, data, media_type, sequence, role="derivative", derived_from=original, purpose=purpose,
                   tech=tech)


def make(archive, item_id: str, kind: str, originals: list[NewFile], derivatives: list[NewFile], **fields):
    data = {"id": item_id, "kind": kind, "title": {"zh": f"测试{kind}", "en": f"Test {kind}"}, "rights": RIGHTS,
            **fields}
    record = archive.create_item(data, originals, user=SYSTEM)
    if derivatives:
        record = archive.update_item(item_id, {}, expected_version=record.version, user=SYSTEM,
                                     add_files=derivatives)
    return record.value


def photo(archive, item_id="photo1", **fields):
    return make(archive, item_id, "photo", [NewFile("scan.jpg", b"jpeg", "image/jpeg", 1)], [
        derivative("f1", "pyramid.tif", b"tif", "image/tiff", "pyramid", width=960, height=720),
        derivative("f1", "thumbnail.jpg", b"thumb", "image/jpeg", "thumbnail", width=400, height=300)],
        description={"zh": "惠山旧影。", "en": "Huishan, long ago."}, date={"edtf": "1936", "display": "民国二十五年"},
        creators=[{"name": {"zh": "佚名", "en": "Anonymous"}, "role": "photographer"}],
        places=[{"name": {"zh": "惠山", "en": "Huishan"}}], subjects=["祠堂"], language=["zh"],
        identifiers=["P-001"], holding_library="惠山图书馆", **fields)


def manuscript(archive, item_id="ms1", restricted_page: int | None = None, **fields):
    originals = [NewFile(f"page-{n}.png", f"page {n}".encode(), "image/png", n,
                         access="staff" if n == restricted_page else None) for n in (1, 2, 3)]
    derivatives = []
    for n, lines in enumerate(PAGES, 1):
        derivatives += [derivative(f"f{n}", "pyramid.tif", f"tif {n}".encode(), "image/tiff", "pyramid",
                                   width=800, height=1100),
                        derivative(f"f{n}", "thumbnail.jpg", f"thumb {n}".encode(), "image/jpeg", "thumbnail",
                                   width=291, height=400),
                        derivative(f"f{n}", "pyramid.ocr.json", ocr(lines), "application/json", "ocr"),
                        derivative(f"f{n}", "pyramid.txt", "\n".join(lines).encode(), "text/plain", "text")]
    return make(archive, item_id, "manuscript", originals, derivatives, viewing_direction="right-to-left", **fields)


def audio(archive, item_id="audio1", **fields):
    return make(archive, item_id, "audio", [NewFile("interview.wav", b"wav", "audio/wav", 1)], [
        derivative("f1", "access.webm", b"webm", "audio/webm", "access", duration=20.008),
        derivative("f1", "access.m4a", b"m4a", "audio/mp4", "access", duration=20.0),
        derivative("f1", "waveform.json", b"[]", "application/json", "waveform")], **fields)


def video(archive, item_id="video1", **fields):
    return make(archive, item_id, "video", [NewFile("fair.mp4", b"mp4", "video/mp4", 1)], [
        derivative("f1", "access.mp4", b"access", "video/mp4", "access", duration=8.0, width=640, height=360),
        derivative("f1", "poster.jpg", b"poster", "image/jpeg", "poster", width=640, height=360)], **fields)


def epub(archive, item_id="epub1", **fields):
    chapters = [{"n": 1, "title": "第一章 惠山", "href": "c1.xhtml", "text": "惠山在城西。\n\n泉出石罅，世称天下第二泉。"},
                {"n": 2, "title": "第二章 运河", "href": "c2.xhtml", "text": "運河繞城而過。"}]
    toc = [{"title": "第一章 惠山", "href": "c1.xhtml", "children": []},
           {"title": "第二章 运河", "href": "c2.xhtml#top", "children": [{"title": "码头", "href": "c2.xhtml"}]}]
    return make(archive, item_id, "ebook", [NewFile("book.epub", b"epub", "application/epub+zip", 1)], [
        derivative("f1", "chapters.json", json.dumps(chapters, ensure_ascii=False).encode(), "application/json", "text"),
        derivative("f1", "text.txt", b"text", "text/plain", "text"),
        derivative("f1", "toc.json", json.dumps(toc, ensure_ascii=False).encode(), "application/json", "toc")],
        language=["zh"], **fields)


def pdf(archive, item_id="pdf1", **fields):
    pages = [{"page": 1, "text": "锡山志 卷一\n惠山之泉"}, {"page": 2, "text": ""}]
    return make(archive, item_id, "ebook", [NewFile("book.pdf", b"%PDF", "application/pdf", 1)], [
        derivative("f1", "p0001.tif", b"p1", "image/tiff", "pyramid", 1, width=1414, height=2000),
        derivative("f1", "p0002.tif", b"p2", "image/tiff", "pyramid", 2, width=1414, height=2000),
        derivative("f1", "p0002.ocr.json", ocr(["米市布码头"]), "application/json", "ocr", 2),
        derivative("f1", "pages.json", json.dumps(pages, ensure_ascii=False).encode(), "application/json", "text"),
        derivative("f1", "thumbnail.jpg", b"thumb", "image/jpeg", "thumbnail", width=283, height=400)], **fields)


KINDS = {"photo": photo, "manuscript": manuscript, "audio": audio, "video": video, "epub": epub, "pdf": pdf}
