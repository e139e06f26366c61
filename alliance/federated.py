"""Live federated search: one query sent to every member that runs Fangzhi, in parallel, and the
answers merged with this library's own results (its items and the records harvested from members)
by reciprocal-rank fusion.

Each member is asked ``GET {api_url}/api/search`` with the reader's words and filters, with the
token this library holds for it only when the reader may see alliance material here
(``access.visible_levels``): a member's ``alliance`` records cross only to members' readers, and an
anonymous reader of the union portal is answered from what each member shows the public. A
member's answer is untrusted input: it is read within ``timeout`` seconds and ``MAX_ANSWER_BYTES``,
must have the JSON shape of Fangzhi's search answer, and every string is capped; highlighted text
keeps only ``<mark>`` (everything else is escaped), links only http(s). A member that times out,
fails or answers nonsense is named with its reason; the others' results are shown.
"""
from __future__ import annotations

import html
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import urllib3
from markupsafe import Markup, escape

from repository import access
from repository.access import User
from repository.model import EDTF_RE, edtf_years, loads_text
from search import analysis
from search.query import build, parse
from search.service import FACETS, MAX_PER_PAGE, SORTS, Hit, Search

# Reciprocal rank fusion, score(d) = Σ 1 / (K + rank of d in each list): Cormack, Clarke and
# Büttcher, "Reciprocal Rank Fusion outperforms Condorcet and Individual Rank Learning Methods",
# SIGIR 2009, with their k = 60.
K = 60
DEPTH = MAX_PER_PAGE  # each source's top hits that are fused (one page of a member's /api/search)
MAX_ANSWER_BYTES = 4 << 20  # a member's answer larger than this is refused
MAX_TEXT = 1000  # characters kept of any string a member sends
MAX_FACET_VALUES = 50
MAX_COLLECTIONS = 500
COLLECTIONS_SECONDS = 60.0  # how long a member's list of collections is kept for the portal
SEARCHES = 8  # alliance searches a process sends out at once (each one request to every member)
# Facets counted across members (values that mean the same at every member; collection ids do not).
MERGED_FACETS = ("library", "kind", "decade", "era", "place", "person", "interviewee", "subject", "language", "rights")
_MARK = re.compile(r"(</?mark>)")


@dataclass
class RemoteHit:
    """One hit of a member's live answer, validated: plain strings, safe marked text, http(s) links."""

    member: str
    id: str
    title: dict[str, str]
    kind: str
    date: dict[str, str]
    url: str | None  # the member's item page
    thumbnail: str | None
    highlights: dict[str, Markup] = field(default_factory=dict)
    passages: list[dict] = field(default_factory=list)  # {snippet: Markup, url}


@dataclass
class Answer:
    """How one member answered: status ok, timeout or failed (with the reason), and in how long."""

    member: str
    label_zh: str
    label_en: str
    status: str
    seconds: float
    total: int = 0
    hits: list[RemoteHit] = field(default_factory=list)
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    reason: str = ""
    skipped: int = 0  # hits refused as malformed
    collections: list[dict] = field(default_factory=list)  # {id, title, description, parent, url}

    def label(self, lang: str) -> str:
        return self.label_en if lang.startswith("en") else self.label_zh


@dataclass
class Entry:
    """One place in the fused list: the local hit and/or the members' live hits that are one record
    (a member's live hit and its harvested copy here have the same member + id)."""

    keys: set
    ranks: dict[str, int] = field(default_factory=dict)  # source ("" for this library, else member) → rank
    local: Hit | None = None
    remote: RemoteHit | None = None

    @property
    def score(self) -> float:
        return sum(1.0 / (K + rank) for rank in self.ranks.values())

    @property
    def sources(self) -> list[str]:
        return sorted(self.ranks)


@dataclass
class AllianceResults:
    query: str
    page: int
    per_page: int
    sort: str
    filters: dict[str, list[str]]
    years: tuple[int, int] | None
    total: int  # the sum of the totals each source reported, less the records found in several lists
    fused: list[Entry]  # the whole fused list, best first
    facets: dict[str, list[tuple[str, int]]]
    answers: list[Answer]  # one per member asked
    local_seconds: float = 0.0
    alliance: bool = True

    @property
    def hits(self) -> list[Entry]:
        start = (self.page - 1) * self.per_page
        return self.fused[start:start + self.per_page]

    @property
    def pages(self) -> int:
        return max(1, -(-len(self.fused) // self.per_page))

    def label(self, member: str, lang: str) -> str:
        """A member's name in ``lang`` (zh or en)."""
        return next((a.label(lang) for a in self.answers if a.member == member), member)

    @property
    def failed(self) -> list[Answer]:
        return [a for a in self.answers if a.status != "ok"]


class Federation:
    """Searches this archive and, live, every member with an ``api_url``; built once by the
    composition root on the search service and the member registry."""

    def __init__(self, search: Search, members, *, timeout: float, max_bytes: int = MAX_ANSWER_BYTES):
        self.local, self.members, self.timeout, self.max_bytes = search, members, timeout, max_bytes
        self.http = urllib3.PoolManager(maxsize=4, retries=False, block=False)
        self.slots = threading.BoundedSemaphore(SEARCHES)  # readers cannot make us flood the members
        self._collections: dict[tuple, tuple[float, Answer]] = {}

    def search(self, text: str = "", *, user: User, filters: dict[str, list[str]] | None = None,
               years: tuple[int, int] | None = None, sort: str | None = None, page: int = 1,
               per_page: int = 20) -> AllianceResults:
        """The fused results of this archive and every member; QueryError as ``Search.search``.
        Pages run through the fused list of every source's top ``DEPTH`` hits."""
        parsed = parse(text)
        build(parsed, ())  # a query that cannot be understood is refused before any member is asked
        filters = {k: [v for v in vs if v] for k, vs in (filters or {}).items() if k in FACETS}
        filters = {k: vs for k, vs in filters.items() if vs}
        sort = sort if sort in SORTS else ("relevance" if not parsed.empty else "date")
        asked = [m for m in self.members.list() if m.api_url]
        shared = "alliance" in access.visible_levels(user)  # the policy: may this reader see alliance material?
        if asked and self.slots.acquire(timeout=1.0):
            pending = self._ask_all(asked, "/api/search", _params(text, filters, years, sort), shared, parse_answer)
        else:  # too many at once: this library's results, and the members named as not asked
            pending, asked = None, [_answer(m, "failed", 0.0, "busy: too many alliance searches at once, "
                                                             "try again in a moment") for m in asked]
        started = time.monotonic()
        try:
            local = self.local.search(text, user=user, filters=filters, years=years, sort=sort, page=1,
                                      per_page=DEPTH, facets=list(MERGED_FACETS))
        finally:
            local_seconds = time.monotonic() - started
            if pending is None:
                answers = asked
            else:
                try:
                    answers = pending()
                finally:
                    self.slots.release()
        page, per_page = max(1, page), max(1, min(per_page, MAX_PER_PAGE))
        counts = merge_facets([local.facets] + [a.facets for a in answers if a.status == "ok"])
        fused = fuse(local.hits, answers)
        found_twice = sum(len(e.ranks) - 1 for e in fused)  # one record in several lists is counted once
        total = local.total + sum(a.total for a in answers if a.status == "ok") - found_twice
        return AllianceResults(text, page, per_page, sort, local.filters, local.years, total,
                               ordered(fused, sort), counts, answers, round(local_seconds, 3))

    # --- asking the members -----------------------------------------------------------------------

    def collections(self, members, *, user: User) -> dict[str, Answer]:
        """Each member's collections (GET {api_url}/api/collections), as this reader may see them
        (the same token rule as searches), asked at once; kept COLLECTIONS_SECONDS."""
        shared = "alliance" in access.visible_levels(user)
        now, found, asked = time.monotonic(), {}, []
        for m in members:
            kept = self._collections.get((m.name, m.api_url, shared))
            if kept and now - kept[0] < COLLECTIONS_SECONDS:
                found[m.name] = kept[1]
            elif m.api_url:
                asked.append(m)
        for answer in self._ask_all(asked, "/api/collections", {}, shared, parse_collections)():
            found[answer.member] = answer
            member = next(m for m in asked if m.name == answer.member)
            self._collections[(member.name, member.api_url, shared)] = (now, answer)
        return found

    def _ask_all(self, asked, path: str, params: dict, shared: bool, parse):
        """Ask every member at once; returns the function that waits for their answers (until the
        timeout, no longer) while this thread searches the local index."""
        if not asked:
            return list
        pool = ThreadPoolExecutor(max_workers=min(16, len(asked)), thread_name_prefix="alliance")
        started = time.monotonic()
        deadline = started + self.timeout
        futures = {pool.submit(self.ask, m, path, params, shared, deadline, parse): m for m in asked}
        pool.shutdown(wait=False)  # the threads end with their requests (each bounded by the deadline)

        def answers() -> list[Answer]:
            wait(futures, timeout=max(0.0, deadline - time.monotonic()) + 0.2)  # a member past its time is not waited for
            return [future.result() if future.done() else
                    _answer(member, "timeout", time.monotonic() - started, f"no answer within {self.timeout:g} s")
                    for future, member in futures.items()]
        return answers

    def ask(self, member, path: str, params: dict, shared: bool, deadline: float, parse) -> Answer:
        """One member's answer to ``path``, never raising: ok (``parse(member, data)``), timeout or
        failed with the reason. The token is sent only when ``shared``."""
        started = time.monotonic()
        url = f"{member.api_url}{path}" + (f"?{urlencode(params, doseq=True)}" if params else "")
        headers = {"Accept": "application/json", "User-Agent": "Fangzhi-alliance"}
        if shared and member.token:
            headers["Authorization"] = f"Bearer {member.token}"
        try:
            body = self._get(url, headers, deadline)
            data = loads_text(body)
            answer = parse(member, data)
        except TimeoutError as exc:
            return _answer(member, "timeout", time.monotonic() - started, str(exc))
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            inner = getattr(exc, "reason", None) or exc
            timed_out = (isinstance(inner, (urllib3.exceptions.TimeoutError, TimeoutError))
                         and not isinstance(inner, urllib3.exceptions.NewConnectionError))  # refused is not slow
            return _answer(member, "timeout" if timed_out else "failed", time.monotonic() - started,
                           _reason(exc))
        except (ValueError, RecursionError) as exc:  # not JSON, or not the shape of a search answer
            return _answer(member, "failed", time.monotonic() - started, f"unusable answer: {str(exc)[:200]}")
        answer.seconds = round(time.monotonic() - started, 3)
        return answer

    def _get(self, url: str, headers: dict, deadline: float) -> bytes:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no time left")
        response = self.http.request("GET", url, headers=headers, preload_content=False, redirect=False,
                                     timeout=urllib3.Timeout(connect=remaining, read=remaining))
        try:
            if response.status != 200:
                hint = (" (redirects are not followed)" if 300 <= response.status < 400 else
                        " (the member refused this library's token)" if response.status in (401, 403) else "")
                raise ValueError(f"HTTP {response.status}{hint}")
            if "json" not in (response.headers.get("Content-Type") or ""):
                raise ValueError(f"not JSON but {response.headers.get('Content-Type')!r}")
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > self.max_bytes:
                raise ValueError(f"the answer has {declared} bytes, more than {self.max_bytes}")
            chunks, size = [], 0
            while chunk := response.read(64 << 10):  # decoded bytes: a compressed bomb stops here too
                size += len(chunk)
                if size > self.max_bytes:
                    raise ValueError(f"the answer is larger than {self.max_bytes} bytes")
                if time.monotonic() > deadline:
                    raise TimeoutError("the answer was still arriving when the time was up")
                chunks.append(chunk)
        except BaseException:
            response.close()  # what is left unread is not read, and the connection is not reused
            raise
        response.release_conn()
        return b"".join(chunks)


def _params(text: str, filters: dict, years, sort: str) -> dict:
    """The query as a member's /api/search takes it (the same q, filters, date and sort)."""
    params = {"q": text, "per_page": DEPTH, "sort": sort, "facets": ",".join(MERGED_FACETS), **filters}
    if years:
        params["date"] = f"{years[0]}..{years[1]}"
    return params


def _answer(member, status: str, seconds: float, reason: str) -> Answer:
    return Answer(member.name, member.label_zh, member.label_en, status, round(seconds, 3), reason=reason)


def _reason(exc: Exception) -> str:
    inner = getattr(exc, "reason", None) or exc
    message = str(inner).split("): ", 1)[-1]  # urllib3 puts the connection (host, port) first
    return f"{type(inner).__name__}: {message[:200]}"


# --- a member's answer is untrusted input ----------------------------------------------------------

def _text(value, limit: int = MAX_TEXT) -> str:
    if value is None:
        return ""
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise ValueError(f"a string was expected, not {type(value).__name__}")
    return str(value)[:limit]


def _langmap(value) -> dict[str, str]:
    if isinstance(value, str):
        return {"zh": value[:MAX_TEXT]}
    if not isinstance(value, dict):
        raise ValueError("a title must be text or {language: text}")
    return {_text(k, 20): _text(v) for k, v in list(value.items())[:10]}


def _url(value) -> str | None:
    value = _text(value, 2000)
    parts = urlsplit(value)
    return value if parts.scheme in ("http", "https") and parts.netloc else None


def marked(value) -> Markup:
    """A member's highlighted text made safe: its ``<mark>`` kept (balanced), every other tag and
    character escaped, as text."""
    out, open_ = [], False
    for piece in _MARK.split(_text(value)):
        if piece in ("<mark>", "</mark>"):
            if (piece == "<mark>") != open_:
                out.append(Markup(piece))
                open_ = not open_
        else:
            out.append(escape(html.unescape(piece)))
    if open_:
        out.append(Markup("</mark>"))
    return Markup("").join(out)


def _hit(member: str, data) -> RemoteHit:
    if not isinstance(data, dict) or not isinstance(data.get("id"), str) or not data["id"]:
        raise ValueError("a hit without an id")
    date = data.get("date") or {}
    links = data.get("links") or {}
    highlights = data.get("highlights") or {}
    passages = data.get("passages") or []
    if not all(isinstance(x, dict) for x in (date, links, highlights)) or not isinstance(passages, list):
        raise ValueError("a hit of the wrong shape")
    return RemoteHit(
        member, _text(data["id"], 200), _langmap(data.get("title") or {}), _text(data.get("kind"), 40),
        {k: _text(date.get(k), 100) for k in ("edtf", "display") if date.get(k)},
        _url(links.get("html")), _url(data.get("thumbnail")),
        {_text(k, 40): marked(v) for k, v in list(highlights.items())[:10]},
        [{"snippet": marked(p.get("snippet")), "url": _url(p.get("url"))} for p in passages[:5] if isinstance(p, dict)])


def parse_answer(member, data) -> Answer:
    """A member's /api/search answer as an ``Answer``; ValueError when it is not of that shape.
    Malformed hits are left out and counted."""
    if not isinstance(data, dict) or not isinstance(data.get("hits"), list):
        raise ValueError("not a search answer (an object with a list of hits)")
    total = data.get("total")
    if not isinstance(total, int) or isinstance(total, bool) or total < 0:
        raise ValueError("the total is not a whole number")
    hits, skipped = [], 0
    for raw in data["hits"][:DEPTH]:
        try:
            hits.append(_hit(member.name, raw))
        except ValueError:
            skipped += 1
    facets = {}
    raw_facets = data.get("facets") or {}
    if not isinstance(raw_facets, dict):
        raise ValueError("facets are not an object")
    for name in MERGED_FACETS:
        values = raw_facets.get(name) or []
        if isinstance(values, list):
            facets[name] = [(_text(v["value"], 200), v["count"]) for v in values[:MAX_FACET_VALUES]
                            if isinstance(v, dict) and isinstance(v.get("value"), str)
                            and isinstance(v.get("count"), int) and not isinstance(v.get("count"), bool)
                            and 0 <= v["count"] <= total]
    return Answer(member.name, member.label_zh, member.label_en, "ok", 0.0, min(total, 10**9), hits, facets,
                  skipped=skipped)


def parse_collections(member, data) -> Answer:
    """A member's /api/collections answer: its collections with titles, parents and page links."""
    if not isinstance(data, dict) or not isinstance(data.get("collections"), list):
        raise ValueError("not a list of collections")
    found, skipped = [], 0
    for c in data["collections"][:MAX_COLLECTIONS]:
        try:
            if not isinstance(c, dict) or not isinstance(c.get("id"), str) or not c["id"]:
                raise ValueError("a collection without an id")
            links = c.get("links") if isinstance(c.get("links"), dict) else {}
            found.append({"id": _text(c["id"], 200), "title": _langmap(c.get("title") or {}),
                          "description": _langmap(c.get("description") or {}),
                          "parent": _text(c.get("parent"), 200) or None, "url": _url(links.get("html"))})
        except ValueError:
            skipped += 1
    return Answer(member.name, member.label_zh, member.label_en, "ok", 0.0, len(found), skipped=skipped,
                  collections=found)


# --- fusion -----------------------------------------------------------------------------------------

def local_keys(hit: Hit) -> set:
    """The records a local hit stands for: ("", id) for this library's item; (member, item id) for
    each holding of a work of the union catalogue (a Fangzhi member's OAI identifier is
    ``oai:<repository>:<item id>``, the id its live answers give)."""
    keys = {(h["member"], h["oai_id"].rsplit(":", 1)[-1]) for h in hit.holdings if h.get("member") and h.get("oai_id")}
    return keys | {("", hit.item_id)} if not hit.remote else keys  # a local item in a group: it and its holdings


def fuse(local: list[Hit], answers: list[Answer]) -> list[Entry]:
    """Reciprocal-rank fusion of this library's ranked hits and each member's (see K). A member's
    live hit that is a record already found here (the same member + id) joins that entry; the
    entry shows the live hit."""
    lists = [("", [(local_keys(h), h) for h in local])]
    lists += [(a.member, [({(a.member, h.id)}, h) for h in a.hits]) for a in answers if a.status == "ok"]
    entries, where = [], {}
    for source, ranked in lists:
        for rank, (keys, hit) in enumerate(ranked, 1):
            entry = next((where[k] for k in keys if k in where), None)
            if entry is None:
                entry = Entry(set())
                entries.append(entry)
            entry.ranks.setdefault(source, rank)
            entry.keys |= keys
            if isinstance(hit, RemoteHit):
                entry.remote = entry.remote or hit
            else:
                entry.local = entry.local or hit
            for k in keys:
                where[k] = entry
    order = {id(e): n for n, e in enumerate(entries)}  # ties: in the order the sources were read
    return sorted(entries, key=lambda e: (-e.score, order[id(e)]))


def ordered(entries: list[Entry], sort: str) -> list[Entry]:
    """The fused list in the reader's order: relevance keeps the fusion's; a date or title sort
    orders every source's hits by the same key this archive's index uses (search.documents:
    first year oldest first, last year newest first, undated last; pinyin of the title), ties
    keeping the fusion's order."""
    if sort == "relevance":
        return entries

    def shown(e: Entry):
        return e.remote or e.local

    def key(e: Entry):
        hit = shown(e)
        if sort == "title":
            title = hit.title.get("zh") or next(iter(hit.title.values()), "") if hit.title else ""
            return ((analysis.pinyin(title) or [""])[0],)
        edtf = hit.date.get("edtf", "")
        years = edtf_years(edtf) if EDTF_RE.match(edtf) else None  # a member's date is checked first
        if not years:
            return (1, 0)
        return (0, years[0]) if sort == "date" else (0, -years[1])
    return sorted(entries, key=key)  # stable: ties keep the fusion's order


def merge_facets(counts: list[dict[str, list[tuple[str, int]]]], size: int = 20) -> dict[str, list[tuple[str, int]]]:
    """Facet counts across sources: for each value, the sum of what each source reported (a source
    reports its top values only, so a rare value may be undercounted)."""
    merged: dict[str, dict[str, int]] = {}
    for facets in counts:
        for name in MERGED_FACETS:
            for value, count in facets.get(name, []):
                merged.setdefault(name, {})
                merged[name][value] = merged[name].get(value, 0) + count
    return {name: sorted(values.items(), key=lambda vc: (-vc[1], vc[0]))[:size] for name, values in merged.items()}

