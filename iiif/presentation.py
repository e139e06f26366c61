"""IIIF Presentation API 3.0 (https://iiif.io/api/presentation/3.0/): a manifest for every item,
a collection for every collection, built with iiif-prezi3.

Only files the user may see go in (``canvases.visible``), and nothing is fetched while building: sizes
and durations come from the files' technical metadata (prezi3's helpers that read info.json are
not used). Canvases, one per page or recording, by what an original has (``canvases.plan``):

* image pyramids (photos, manuscript and book pages, PDF pages): an Image body with an
  ImageService3 (the Image API at ``/iiif/3/{identifier}``);
* audio access copies: a Sound body (a Choice of the WebM and M4A copies), with a duration;
* a video access copy: a Video body, its poster as thumbnail and placeholder canvas;
* an EPUB's chapters (chapters.json): one text canvas per chapter, its text as a TextualBody;
* a web image without pyramid but with known size: the file itself.

Canvas ids stay the same when derivatives are regenerated: ``{manifest}/canvas/{original id}``,
with ``-p{page}`` for the pages of a multi-page original and ``-c{n}`` for EPUB chapters.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from iiif_prezi3 import (Annotation, AnnotationBody, AnnotationPage, Canvas, CanvasRef, Choice, Collection,
                         CollectionRef, Homepage, KeyValueString, Manifest, ManifestRef, PlaceholderCanvas,
                         Provider, Range, ServiceV3, TextualBody)

from repository.model import File, Item, best, edtf_years
from repository.vocab import kind_label, language_label

from oral_history.model import Interview, segment_spans

from .canvases import Links, Page, cue_id, cue_text, has_text, listening, name, plan, read_json, visible

TEXT_CANVAS = (1000, 1414)  # width, height of a chapter's text canvas (A-series portrait)
PAGED_KINDS = ("manuscript", "book", "ebook")  # §3.3.1 behavior "paged" when they have several canvases
LANGS = ("zh", "en")


@dataclass(frozen=True)
class Publisher:
    """The library publishing the archive: the provider of every manifest (§3.2 provider)."""
    name: dict  # {"zh": "…", "en": "…"}
    homepage: str


# --- manifests ---------------------------------------------------------------------------------

def lm(value: dict | str, lang: str = "zh") -> dict:
    """A language map as IIIF writes it (§4.4): every value a list of strings."""
    if isinstance(value, str):
        return {lang: [value]}
    return {k: [v] for k, v in value.items() if v}


def _values(texts: list[dict]) -> dict:
    """One metadata value from several language maps (names of creators, places …)."""
    langs = [lang for lang in LANGS if any(lang in t for t in texts)] or ["zh"]
    return {lang: [best(t, lang) for t in texts] for lang in langs}


def metadata(item: Item) -> list[KeyValueString]:
    """Descriptive metadata pairs for people to read (§3.2 metadata), in Chinese and English."""
    pairs = [(("类型", "Type"), {"zh": [kind_label(item.kind, "zh")], "en": [kind_label(item.kind, "en")]})]
    for label, agents in ((("创作者", "Creator"), item.creators), (("贡献者", "Contributor"), item.contributors)):
        if agents:
            pairs.append((label, _values([a.name for a in agents])))
    if item.date:
        pairs.append((("日期", "Date"), {"zh": [item.date.get("display") or item.date["edtf"]],
                                         **({"none": [item.date["edtf"]]} if item.date.get("edtf") else {})}))
    if item.places:
        pairs.append((("地点", "Place"), _values([p.name for p in item.places])))
    if item.subjects:
        pairs.append((("主题", "Subject"), {"zh": list(item.subjects)}))
    if item.language:
        pairs.append((("语言", "Language"), {lang: [language_label(c, lang) for c in item.language] for lang in LANGS}))
    if item.extent:
        pairs.append((("数量", "Extent"), {"zh": [item.extent]}))
    if item.identifiers:
        pairs.append((("编号", "Identifier"), {"none": list(item.identifiers)}))
    if item.holding_library:
        pairs.append((("收藏单位", "Holding library"), {"zh": [item.holding_library]}))
    return [KeyValueString(label={"zh": [zh], "en": [en]}, value=value) for (zh, en), value in pairs]


def rights_uri(uri: str | None) -> str | None:
    """§3.2 rights: Creative Commons and RightsStatements.org URIs are written with http."""
    return uri.replace("https://", "http://", 1) if uri else None


def provider(publisher: Publisher) -> list[Provider]:
    return [Provider(id=publisher.homepage, label=lm(publisher.name), homepage=[Homepage(
        id=publisher.homepage, type="Text", label=lm(publisher.name), format="text/html")])]


def _image(url: str, file: File, service: str | None = None) -> AnnotationBody:
    extra = {"service": [ServiceV3(id=service, type="ImageService3", profile="level2")]} if service else {}
    return AnnotationBody(id=url, type="Image", format="image/jpeg" if service else file.media_type,
                          width=file.tech["width"], height=file.tech["height"], **extra)


def _painting(canvas_id: str, body) -> list[AnnotationPage]:
    return [AnnotationPage(id=f"{canvas_id}/page", items=[
        Annotation(id=f"{canvas_id}/painting", motivation="painting", body=body, target=canvas_id)])]


def canvas(links: Links, item: Item, page: Page, *, interview: Interview | None = None) -> Canvas | None:
    """The canvas of one page, or None when its size or duration is unknown (§3.3 Canvas); a
    recording's canvas carries the ``interview``'s transcripts (``transcript_parts``)."""
    cid = links.canvas(item.id, page.key)
    label = lm(page.label or item.title)
    thumb = [_image(links.file(item.id, page.thumbnail.id), page.thumbnail)] \
        if page.thumbnail and page.thumbnail.tech.get("width") else None
    if page.image is not None:
        width, height = page.image.tech.get("width"), page.image.tech.get("height")
        if not (width and height):
            return None
        if page.image.purpose == "pyramid":
            service = links.image_service(item.id, page.image)
            body = _image(f"{service}/full/max/0/default.jpg", page.image, service)
        else:
            body = _image(links.file(item.id, page.image.id), page.image)
        return Canvas(id=cid, label=label, width=width, height=height, thumbnail=thumb,
                      items=_painting(cid, body))
    if page.media:
        # the longest access copy, so that no body runs past the end of the canvas
        duration = max((f.tech["duration"] for f in page.media if f.tech.get("duration")),
                       default=page.original.tech.get("duration"))
        if not duration:
            return None
        video = page.media[0].media_type.startswith("video/")
        size = {k: page.media[0].tech[k] for k in ("width", "height") if page.media[0].tech.get(k)} if video else {}
        bodies = [AnnotationBody(id=links.file(item.id, f.id), type="Video" if video else "Sound",
                                 format=f.media_type, duration=float(f.tech.get("duration") or duration), **size)
                  for f in page.media]
        extra = {}
        if page.poster is not None and page.poster.tech.get("width"):
            poster = _image(links.file(item.id, page.poster.id), page.poster)
            extra = {"thumbnail": [poster], "placeholderCanvas": PlaceholderCanvas(
                id=f"{cid}/placeholder", width=page.poster.tech["width"], height=page.poster.tech["height"],
                items=_painting(f"{cid}/placeholder", poster))}
        body = bodies[0] if len(bodies) == 1 else Choice(items=bodies)
        if interview is not None and interview.transcripts:
            extra.update(transcript_parts(links, item, cid, interview, float(duration)))
        return Canvas(id=cid, label=label, duration=float(duration), **size, items=_painting(cid, body), **extra)
    if page.text is not None:
        language = item.language[0] if item.language else None
        body = TextualBody(value=page.text, format="text/plain", language=language)
        return Canvas(id=cid, label=label, width=TEXT_CANVAS[0], height=TEXT_CANVAS[1], items=_painting(cid, body))
    return None


# --- interviews (oral_history): transcripts and index on the recording's canvas ------------------------

RESTRICTED = {"zh": ["此段仅限馆员"], "en": ["Restricted passage (library staff only)"]}


def fragment(cid: str, start: float, end: float, duration: float) -> str:
    """A temporal part of a canvas (§4.8 fragment selectors: Media Fragments ``#t=start,end``)."""
    start, end = min(start, duration), min(end, duration)
    return f"{cid}#t={start:g},{end:g}"


def transcript_parts(links: Links, item: Item, cid: str, interview: Interview, duration: float) -> dict:
    """§3.3.1 annotations: each transcript an AnnotationPage of ``supplementing`` annotations (§3.4
    values of motivation: text transcribing the recording), a TextualBody in its language on a time
    range of the canvas; §3.3.1 rendering: the WebVTT export of each transcript."""
    pages, renderings = [], []
    for n, t in enumerate(interview.transcripts, 1):
        label = lm(t.label) if t.label else {lang: [language_label(t.language, lang)] for lang in LANGS}
        base = f"{cid}/transcript/{n}"
        pages.append(AnnotationPage(id=base, label=label, items=[
            Annotation(id=cue_id(base, c.start), motivation="supplementing",
                       body=TextualBody(value=cue_text(c), format="text/plain", language=t.language),
                       target=fragment(cid, c.start, c.end, duration)) for c in t.cues]))
        if links.transcript is not None:
            renderings.append({"id": links.transcript(item.id, t.language), "type": "Text", "format": "text/vtt",
                               "label": label, "language": [t.language]})
    return {"annotations": pages, **({"rendering": renderings} if renderings else {})}


def segment_ranges(links: Links, item: Item, page: Page, interview: Interview, duration: float) -> list[Range]:
    """§3.3.3 Range: one per index segment (OHMS index point), its part of the recording's canvas;
    a restricted segment in the public view keeps only its place."""
    cid = links.canvas(item.id, page.key)
    return [Range(id=f"{links.manifest(item.id)}/range/{page.key}-s{n}",
                  label=lm(s.title) if s.title else RESTRICTED if s.restricted else {"none": [f"{start:g}"]},
                  items=[CanvasRef(id=fragment(cid, start, duration if end == float("inf") else end, duration),
                                   type="Canvas")])
            for n, (s, (start, end)) in enumerate(zip(interview.segments, segment_spans(interview)), 1)
            if start < duration]


def toc_ranges(links: Links, item: Item, pages: list[Page], toc: list[dict], original: File) -> Range | None:
    """§3.3.3 Range: the table of contents. Entries point at chapters (``href``, EPUB), pages
    (``page``, e.g. a PDF outline) or times (``start``/``end``, e.g. chapters of a recording)."""
    canvases = {p.key: links.canvas(item.id, p.key) for p in pages}
    by_href = {p.href: canvases[p.key] for p in pages if p.href and p.original.id == original.id}

    def target(entry) -> str | None:
        if entry.get("href"):
            return by_href.get(entry["href"].split("#")[0])
        if entry.get("page"):
            return canvases.get(f"{original.id}-p{entry['page']}") or canvases.get(original.id)
        if entry.get("start") is not None and original.id in canvases:
            end = f",{entry['end']}" if entry.get("end") is not None else ""
            return f"{canvases[original.id]}#t={entry['start']}{end}"
        return None

    def ranges(entries, path):
        out = []
        for n, entry in enumerate(entries, 1):
            items = [CanvasRef(id=t, type="Canvas")] if (t := target(entry)) else []
            items += ranges(entry.get("children") or [], f"{path}-{n}")
            if items:
                out.append(Range(id=f"{links.manifest(item.id)}/range/{original.id}{path}-{n}",
                                 label=lm(entry.get("title") or str(n)), items=items))
        return out

    items = ranges(toc, "")
    if not items:
        return None
    return Range(id=f"{links.manifest(item.id)}/range/{original.id}", label={"zh": ["目录"], "en": ["Contents"]},
                 items=items)


def manifest(archive, item: Item, links: Links, publisher: Publisher, *, user) -> dict:
    """The item's manifest as JSON (§3.1 Manifest), from what ``user`` may see."""
    files = visible(archive, item, user=user)
    pages = plan(archive, item, files, user=user)
    heard = listening(archive, item, pages, user=user)
    canvases = [c for c in (canvas(links, item, p, interview=heard[1] if heard and p is heard[0] else None)
                            for p in pages) if c is not None]
    structures = []
    recorded = next((c for c in canvases if heard and c.id == links.canvas(item.id, heard[0].key)), None)
    if recorded is not None and heard[1].segments:
        structures += segment_ranges(links, item, heard[0], heard[1], recorded.duration)
    for toc in (f for f in files if f.purpose == "toc" and f.media_type == "application/json"):
        original = next((o for o in files if o.id == toc.derived_from), None)
        if original is not None and (r := toc_ranges(links, item, pages, read_json(archive, item.id, toc, user=user),
                                                     original)):
            structures.append(r)
    props = {}
    if item.description:
        props["summary"] = lm(item.description)
    if item.rights:
        props["rights"] = rights_uri(item.rights)
    if len(canvases) > 1 and item.kind in PAGED_KINDS:
        props["behavior"] = ["paged"]
    if item.viewing_direction:
        props["viewingDirection"] = item.viewing_direction
    if years := (edtf_years(item.date["edtf"]) if item.date.get("edtf") else None):
        props["navDate"] = f"{years[0]:04d}-01-01T00:00:00Z"
    thumbnail = next((c.thumbnail for c in canvases if c.thumbnail), None)
    if thumbnail:
        props["thumbnail"] = thumbnail
    collections = {c.id: c for c in archive.list_collections(user=user)}
    part_of = [{"id": links.collection(c), "type": "Collection", "label": lm(collections[c].title)}
               for c in item.collections if c in collections]
    if part_of:
        props["partOf"] = part_of
    if has_text(files) or (recorded is not None and any(t.cues for t in heard[1].transcripts)):  # Content Search 2.0 §3, and 1.0 for viewers that speak only that (Mirador 4)
        props["service"] = [
            ServiceV3(id=links.search(item.id), type="SearchService2", service=[
                ServiceV3(id=links.autocomplete(item.id), type="AutoCompleteService2")]),
            ServiceV3(id=links.search1(item.id), type="SearchService1", profile="http://iiif.io/api/search/1/search",
                      service=[ServiceV3(id=links.autocomplete1(item.id), type="AutoCompleteService1",
                                         profile="http://iiif.io/api/search/1/autocomplete")])]
    downloads = [f for f in files if f.role == "original" and f.media_type in ("application/pdf", "application/epub+zip")]
    if downloads:  # §3.3.1 rendering: the book as a whole, in its own format
        props["rendering"] = [{"id": links.file(item.id, f.id), "type": "Text", "format": f.media_type,
                               "label": lm(f.label) if f.label else {"none": [name(f)]}} for f in downloads]
    built = Manifest(
        id=links.manifest(item.id), label=lm(item.title), metadata=metadata(item),
        requiredStatement=KeyValueString(label={"zh": ["收藏单位"], "en": ["Holding library"]},
                                         value=lm(item.holding_library or publisher.name)),
        provider=provider(publisher),
        homepage=[Homepage(id=links.page(item.id), type="Text", label=lm(item.title), format="text/html")],
        seeAlso=[{"id": links.record(item.id), "type": "Dataset", "format": "application/json",
                  "label": {"zh": ["藏品记录（JSON）"], "en": ["Item record (JSON)"]}}],
        items=canvases, structures=structures or None, **props)
    return json.loads(built.json())


# --- collections -------------------------------------------------------------------------------

def collection(archive, col, links: Links, publisher: Publisher, *, user) -> dict:
    """A collection (§3.1 Collection): its visible sub-collections, then its visible items."""
    children = archive.list_collections(user=user, parent=col.id)
    items = [CollectionRef(id=links.collection(c.id), type="Collection", label=lm(c.title)) for c in children]
    offset = 0
    while True:
        found, total = archive.list_items(user=user, collection=col.id, nested=False,  # sub-collections are their own items
                                           limit=500, offset=offset)
        items += [ManifestRef(id=links.manifest(i.id), label=lm(i.title)) for i in found]
        offset += len(found)
        if not found or offset >= total:
            break
    props = {"summary": lm(col.description)} if col.description else {}
    if col.parent and any(c.id == col.parent for c in archive.list_collections(user=user)):
        parent = archive.get_collection(col.parent, user=user).value
        props["partOf"] = [{"id": links.collection(parent.id), "type": "Collection", "label": lm(parent.title)}]
    if col.holding_library:
        props["requiredStatement"] = KeyValueString(label={"zh": ["收藏单位"], "en": ["Holding library"]},
                                                    value=lm(col.holding_library))
    built = Collection(id=links.collection(col.id), label=lm(col.title), provider=provider(publisher),
                       homepage=[Homepage(id=links.collection_page(col.id), type="Text", label=lm(col.title),
                                          format="text/html")],
                       items=items, **props)
    return json.loads(built.json())


def top_collection(archive, links: Links, publisher: Publisher, *, user) -> dict:
    """Every collection the user may see that is not inside another one they may see."""
    cols = archive.list_collections(user=user)
    ids = {c.id for c in cols}
    items = [CollectionRef(id=links.collection(c.id), type="Collection", label=lm(c.title))
             for c in cols if c.parent not in ids]
    built = Collection(id=links.collection("top"), label=lm(publisher.name), provider=provider(publisher),
                       items=items)
    return json.loads(built.json())


def items_collection(url: str, label: dict, items: list[Item], links: Links, publisher: Publisher, *,
                     summary: dict | None = None, homepage: str | None = None) -> dict:
    """A Collection (§5.2) of items' manifests, e.g. an exhibition's (the items its reader may see)."""
    props = {"summary": lm(summary)} if summary else {}
    if homepage:
        props["homepage"] = [Homepage(id=homepage, type="Text", label=lm(label), format="text/html")]
    built = Collection(id=url, label=lm(label), provider=provider(publisher), **props,
                       items=[ManifestRef(id=links.manifest(i.id), label=lm(i.title)) for i in items])
    return json.loads(built.json())


def alliance_collection(url: str, label: dict, members: list[tuple[dict, str | None, list[dict]]],
                        publisher: Publisher) -> dict:
    """The alliance's Collection (§5.2): the manifests its members publish (Change Discovery), each
    ``members`` entry (label, homepage, [{id, label}]); a manifest's label, when its record gave
    none, is its member's name."""
    items = [ManifestRef(id=m["id"], label=lm(m.get("label") or member_label))
             for member_label, _, manifests in members for m in manifests]
    built = Collection(id=url, label=lm(label), provider=provider(publisher), items=items)
    return json.loads(built.json())
