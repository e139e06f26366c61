"""The embedded search index: tantivy in one folder (or in memory), no server.

Text fields are split on whitespace only (tantivy's ``whitespace`` tokenizer, positions kept);
keyword fields are raw, fast (columnar) terms; integers are indexed and fast; ``source`` is
stored JSON. Scores are tantivy's BM25, equal to Elasticsearch's for the same tokens.

tantivy allows one writer per folder at a time, and web workers, the CLI and ingest workers all
write; a commit costs more as segments accumulate (~250 ms at 2k items, docs/capacity.md).
``replace`` and ``delete`` therefore wait in a batch, committed by one writer when it holds
``batch_size`` changes or ``flush_after`` seconds after its first change, before this object's
next read (read-your-write in one process) and at exit; other processes see a change after that
flush. Each waiting item's id is first appended to a journal (``pending-<pid>``) removed after
the commit: the ids in the journals of processes that died are what ``recover`` re-indexes (the
index is derived; the catalog holds the items). ``rebuild`` commits at once.

tantivy breaks score or field ties by its internal document address; the protocol wants them
by id. ``search`` therefore orders by id each tie group that touches the requested page: field
ties by one more query per group (restricted to the value, ordered by the ``id`` fast field),
score ties by fetching past the group and sorting it by stored id.

Reading: one searcher serves until a commit (of any process) rewrites the folder's meta.json; a
query leaves out the terms that searcher holds in no document (``_compile``: a query naming seven
fields for one word reads only the posting lists that exist); facet counts of a hit set larger
than half its filters' documents are the filters' counts, kept per searcher, less those of the
filters without the hits (``_facets``): a common word at 200k items 30.6 → 16.2 ms, a rare one
5.3 → 1.8 ms (bench/search.py).
"""
from __future__ import annotations

import atexit
import contextlib
import hashlib
import itertools
import json
import logging
import os
import shutil
import threading
import time
import weakref
from pathlib import Path
from typing import Callable, Iterable

import tantivy

from search.index import (
    INTEGER_FIELDS, KEYWORD_FIELDS, TEXT_FIELDS, Bool, Boost, Facet, Hit, Hits, MatchAll, Node,
    Phrase, Prefix, Range, SearchIndexError, Sort, Term, Terms, document_fields, field_kind,
)

Q, Occur, Order = tantivy.Query, tantivy.Occur, tantivy.Order
SCHEMA_VERSION = 1  # bump when _schema changes without the field lists changing
HEAP_BYTES = 512_000_000  # a writer's indexing budget (used only while documents are buffered)
FACET_BUCKETS = 2000  # values per facet taken from the aggregation; more: counted from the terms
REGEX_META = set("\\.+*?()|[]{}^$#&-~")
BASELINES = 64  # whole filters' facet counts kept per searcher
COMPLEMENT_FROM = 10_000  # hits from which facets may be counted as the complement (fewer: counted directly,
# cheaper than the filters' own counts that a new searcher would first need)
STATISTICS_FOR = 64  # values of a Terms looked up in the term dictionary (those in no document are left out)
BATCH_SIZE = 200  # changes committed together at most
FLUSH_AFTER = 1.0  # seconds a change waits at most before its commit
log = logging.getLogger(__name__)
_open: weakref.WeakSet = weakref.WeakSet()  # flushed at exit
atexit.register(lambda: [index.flush() for index in list(_open)])


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    for name in TEXT_FIELDS:
        builder.add_text_field(name, tokenizer_name="whitespace", index_option="position")
    for name in (*KEYWORD_FIELDS, "title_sort"):
        builder.add_text_field(name, stored=name == "id", fast=True, tokenizer_name="raw", index_option="basic")
    for name in INTEGER_FIELDS:
        builder.add_integer_field(name, indexed=True, fast=True)
    builder.add_bytes_field("source", stored=True)
    return builder.build()


class TantivyIndex:
    """A ``SearchIndex`` in the folder ``path`` (created if needed), or in memory when None."""

    def __init__(self, path: Path | None = None, *, heap_bytes: int = HEAP_BYTES, lock_wait: float = 30.0,
                 batch_size: int = BATCH_SIZE, flush_after: float = FLUSH_AFTER):
        self.path = Path(path) if path is not None else None
        self.heap_bytes, self.lock_wait = heap_bytes, lock_wait
        self.batch_size, self.flush_after = batch_size, flush_after
        self.schema = _schema()
        self._lock = threading.RLock()
        self._pending: list[tuple[str, list | None]] = []  # (item id, its documents or None: deleted)
        self._timer: threading.Timer | None = None
        self._state: tuple | None = None  # (stamp, searcher, baselines): _reader
        self._commits = 0  # an in-memory index's stamp
        self.journal = self.path / f"pending-{os.getpid()}" if self.path else None
        # One subfolder per field layout: after an upgrade that changes the fields the index
        # opens empty instead of failing, ``outdated`` (the composition root then rebuilds it from
        # storage); a rebuild removes older layouts.
        layout = repr((SCHEMA_VERSION, TEXT_FIELDS, KEYWORD_FIELDS, INTEGER_FIELDS)).encode()
        self.folder = self.path / f"fields-{hashlib.sha256(layout).hexdigest()[:12]}" if self.path else None
        self.outdated = bool(self.folder and not self.folder.exists() and any(self.path.glob("fields-*")))
        try:
            if self.folder is None:
                self._index = tantivy.Index(self.schema)
            else:
                self.folder.mkdir(parents=True, exist_ok=True)
                self._index = tantivy.Index(self.schema, str(self.folder))
            self._index.searcher()
        except (OSError, ValueError) as exc:
            raise SearchIndexError(f"the tantivy search index in {self.folder} cannot be opened ({exc}); "
                                   "remove that folder and rebuild the index") from exc
        _open.add(self)

    # --- writing ---------------------------------------------------------------------------

    def replace(self, item_id: str, documents: list[dict]) -> None:
        docs = [self._document(d) for d in documents]
        if any(d.get_first("item_id") != item_id for d in docs):
            raise ValueError(f"every document given for item {item_id!r} must have that item_id")
        self._add(item_id, docs)

    def delete(self, item_id: str) -> None:
        self._add(item_id, None)

    def _add(self, item_id: str, docs: list | None) -> None:
        for index in list(_open):  # one folder's changes are committed in the order they were made
            if index is not self and index.folder is not None and index.folder == self.folder and index._pending:
                index.flush()
        with self._lock:
            if self.journal is not None:
                with self.journal.open("a", encoding="utf-8") as journal:
                    journal.write(item_id + "\n")
            self._pending.append((item_id, docs))
            if len(self._pending) >= self.batch_size:
                self.flush()
            elif self._timer is None:
                self._timer = threading.Timer(self.flush_after, self._flush_later)
                self._timer.daemon = True
                self._timer.start()

    def _flush_later(self) -> None:
        try:
            self.flush()
        except SearchIndexError as exc:  # the journal keeps the ids: the next flush or `recover`
            log.error("%s", exc)

    def flush(self) -> None:
        """Commit the waiting changes (one writer, one commit) and empty the journal."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if not self._pending:
                return
            pending = self._pending

            def apply(writer):
                for item_id, docs in pending:
                    writer.delete_documents_by_term("item_id", item_id)
                    for d in docs or ():
                        writer.add_document(d)
            self._write(apply)
            self._pending = []
            if self.journal is not None:
                self.journal.unlink(missing_ok=True)

    def recover(self, reindex: Callable[[str], None]) -> set[str]:
        """Call ``reindex`` for each item whose change was waiting in a process that died before
        its commit (its journal is left), commit, and remove those journals; returns the ids."""
        dead = [j for j in self.path.glob("pending-*") if not _alive(int(j.name.split("-", 1)[1]))] if self.path else []
        ids = {line for j in dead for line in j.read_text(encoding="utf-8").splitlines() if line}
        for item_id in sorted(ids):
            reindex(item_id)
        self.flush()
        for journal in dead:
            journal.unlink(missing_ok=True)
        return ids

    def rebuild(self, documents: Iterable[dict]) -> int:
        """Clear and add everything in one commit: searches see the old index until it lands."""
        count = 0

        def fill(writer):
            nonlocal count
            writer.delete_all_documents()
            for document in documents:
                writer.add_document(self._document(document))
                count += 1
        with self._lock:
            self.flush()
            self._write(fill)
        for stale in self.path.glob("fields-*") if self.path else ():
            if stale != self.folder:
                shutil.rmtree(stale, ignore_errors=True)
        return count

    def _write(self, change) -> None:
        """Run ``change`` with a new writer and commit; the writer (and the folder's lock) goes
        after its merges. Another process's writer is waited for up to ``lock_wait`` seconds."""
        with self._lock:
            deadline = time.monotonic() + self.lock_wait
            while True:
                try:
                    writer = self._index.writer(heap_size=self.heap_bytes)
                    break
                except ValueError as exc:
                    if "LockBusy" not in str(exc) or time.monotonic() > deadline:
                        raise SearchIndexError(f"the tantivy search index in {self.folder} cannot be "
                                               f"written ({exc})") from exc
                    time.sleep(0.05)
            try:
                change(writer)
                try:
                    writer.commit()
                except (OSError, ValueError) as exc:  # disk full, folder removed…
                    raise SearchIndexError(f"the tantivy search index in {self.folder}: saving failed ({exc})") from exc
            except BaseException:
                with contextlib.suppress(Exception):
                    writer.rollback()
                raise
            finally:
                writer.wait_merging_threads()
            self._commits += 1

    def _document(self, document: dict) -> tantivy.Document:
        fields = document_fields(document)
        fields["source"] = json.dumps(fields["source"], ensure_ascii=False).encode()
        return tantivy.Document.from_dict(fields, self.schema)

    # --- reading ---------------------------------------------------------------------------

    def search(self, query: Node, *, facets: dict[str, Facet] | None = None, sort: Sort = Sort(),
               offset: int = 0, limit: int = 10) -> Hits:
        searcher, baselines = self._reader()
        q = self._query(query, searcher)
        if limit <= 0:
            total, page = searcher.search(q, limit=1).count, []
        elif sort.field is not None:
            field_kind(sort.field, "sort", "integer")
            total, page = self._by_field(searcher, q, sort.field, sort.descending, offset, limit)
        elif (score := _uniform_score(query)) is not None:  # every hit scores the same: by id
            found = searcher.search(q, limit=limit, offset=offset, order_by_field="id", order=Order.Asc)
            total, page = found.count, [(score, address) for _, address in found.hits]
        else:
            total, page = self._by_score(searcher, q, offset, limit)
        stored = [(score, searcher.doc(address)) for score, address in page]
        hits = [Hit(doc.get_first("id"), score, json.loads(doc.get_first("source"))) for score, doc in stored]
        return Hits(total, hits, self._facets(searcher, baselines, query, q, facets or {}, total))

    def suggest(self, field: str, prefix: str, *, query: Node, limit: int = 10) -> list[tuple[str, int]]:
        searcher, _ = self._reader()
        return _terms(searcher, field, prefix, self._query(query, searcher), limit)

    def count(self) -> int:
        return self._reader()[0].num_docs

    def close(self) -> None:
        """Commit the waiting changes (writers live only during a commit)."""
        self.flush()

    def _reader(self) -> tuple[tantivy.Searcher, dict]:
        """A searcher of the index as last committed by any process, and the facet counts of
        whole filters (``_facets``) computed on that searcher. One searcher serves until the
        folder's meta.json (rewritten by every commit) changes: read before the reload, so a
        searcher is never labelled newer than it is."""
        for index in list(_open):  # this process's changes are seen at once, by every object on the folder
            if index is self or (index.folder is not None and index.folder == self.folder):
                index.flush()
        try:
            meta = (self.folder / "meta.json").stat() if self.folder else None
            stamp = (meta.st_ino, meta.st_mtime_ns, meta.st_size) if meta else self._commits
        except FileNotFoundError:  # the folder was removed under us: read it anew each time
            stamp = object()
        state = self._state
        if state is None or state[0] != stamp:
            self._index.reload()
            state = self._state = (stamp, self._index.searcher(), {})
        return state[1], state[2]

    def _facets(self, searcher, baselines: dict, query: Node, q, facets: dict[str, Facet],
                total: int) -> dict[str, list[tuple[str, int]]]:
        """Exact counts from terms aggregations over the fast fields. When the hits are more than
        half of what the query's filters alone match, the counts are those of the filters alone
        (computed once per searcher) less those of the filters without the hits: fewer documents
        to count (Lucene's complement counting). A facet with more values than an aggregation
        returns, or one tantivy refuses, is counted from the term dictionary, per value, within
        ``q`` (3× slower for 11 facets over 190k of 600k documents, 7× over 10k)."""
        fields = list(dict.fromkeys(f.field for f in facets.values() if field_kind(f.field, "keyword")))
        counts: dict[str, dict | None] = {}
        if fields and total >= COMPLEMENT_FROM and (parts := _complement(query)) is not None:
            whole, rest = parts
            key = (repr(whole), tuple(fields))
            if key not in baselines:
                if len(baselines) >= BASELINES:
                    baselines.clear()
                whole_q = self._query(whole, searcher)
                baselines[key] = searcher.search(whole_q, limit=1).count, _aggregate(searcher, whole_q, fields)
            whole_total, whole_counts = baselines[key]
            if 2 * total > whole_total:
                less = _aggregate(searcher, self._query(rest, searcher), fields)
                counts = {f: {v: n - less[f].get(v, 0) for v, n in whole_counts[f].items() if n > less[f].get(v, 0)}
                          for f in fields if whole_counts[f] is not None and less[f] is not None}
        if total and (missing := [f for f in fields if counts.get(f) is None]):
            counts.update(_aggregate(searcher, q, missing))
        return {name: sorted(found.items(), key=lambda b: (-b[1], b[0]))[:facet.size]
                if (found := counts.get(facet.field)) is not None else _terms(searcher, facet.field, "", q, facet.size)
                for name, facet in facets.items()}

    @staticmethod
    def _by_score(searcher, q, offset: int, limit: int) -> tuple[int, list]:
        """The total and the page by score, ties by id: fetch past the last score group the page
        touches, and order the tied groups on the page by their stored ids."""
        end = offset + limit
        fetch = end + 1  # one past the page: does its last score group go on?
        result = searcher.search(q, limit=fetch)
        total, found = result.count, result.hits
        while len(found) == fetch and found[-1][0] == found[end - 1][0]:
            fetch *= 4
            found = searcher.search(q, limit=fetch, count=False).hits
        page, position = [], 0
        for _, group in itertools.groupby(found, key=lambda hit: hit[0]):
            group = list(group)
            if position + len(group) > offset:
                if len(group) > 1:
                    group.sort(key=lambda hit: searcher.doc(hit[1]).get_first("id"))
                page += group[max(0, offset - position):end - position]
            position += len(group)
            if position >= end:
                break
        return total, page

    def _by_field(self, searcher, q, field: str, descending: bool, offset: int, limit: int) -> tuple[int, list]:
        """The total and the page by a fast field, ties by id: each value group on the page is
        searched again, restricted to that value and ordered by the ``id`` fast field."""
        end = offset + limit
        result = searcher.search(q, limit=end + 1, order_by_field=field,  # one past the page, as _by_score
                                 order=Order.Desc if descending else Order.Asc)
        total, found = result.count, result.hits
        page, position = [], 0
        for value, group in itertools.groupby(found, key=lambda hit: hit[0]):
            if position >= end:
                break
            group = list(group)
            if position + len(group) > offset:
                if len(group) == 1 and (position + 1 < len(found) or len(found) <= end):  # complete
                    page.append((0.0, group[0][1]))
                else:
                    skip = max(0, offset - position)
                    same = (Q.range_query(self.schema, field, tantivy.FieldType.Integer, value, value)
                            if isinstance(value, int) else Q.term_query(self.schema, field, value))
                    page += [(0.0, a) for _, a in searcher.search(
                        Q.boolean_query([(Occur.Must, q), (Occur.Must, same)]), count=False, offset=skip,
                        limit=min(len(group), end - position) - skip, order_by_field="id", order=Order.Asc).hits]
            position += len(group)
        return total, page

    # --- the query tree --------------------------------------------------------------------

    def _query(self, node: Node, searcher: tantivy.Searcher | None = None) -> tantivy.Query:
        """``node`` as a tantivy query. With a ``searcher``, terms in no document of it are left
        out first (exact: such a clause matches nothing and adds nothing to any score), which
        spares tantivy the posting lists of the fields a query names in vain."""
        q = self._compile(node, searcher.doc_freq if searcher is not None else None)
        return Q.empty_query() if q is None else q

    def _compile(self, node: Node, df) -> tantivy.Query | None:
        """None: ``node`` matches no document (known from ``df``, the searcher's document frequency)."""
        schema, absent = self.schema, (lambda field, value: df is not None and not df(field, value))
        if isinstance(node, MatchAll):
            return Q.all_query()
        if isinstance(node, Term):
            kind = field_kind(node.field)
            if kind == "integer":
                return Q.const_score_query(Q.term_query(schema, node.field, int(node.value)), 1.0)
            if absent(node.field, node.value):
                return None
            term = Q.term_query(schema, node.field, node.value)
            return term if kind == "text" else Q.const_score_query(term, 1.0)
        if isinstance(node, Terms):
            field_kind(node.field, "keyword", "text", "sort")
            values = list(node.values)
            if len(values) <= STATISTICS_FOR:
                values = [v for v in values if not absent(node.field, v)]
                if not values:
                    return None
            one = len(values) == 1  # a posting list, read as far as needed; a set fills a bit set of every document
            return Q.const_score_query(Q.term_query(schema, node.field, values[0]) if one
                                       else Q.term_set_query(schema, node.field, values), 1.0)
        if isinstance(node, Phrase):
            field_kind(node.field, "text")
            if any(absent(node.field, token) for token in node.tokens):
                return None
            if len(node.tokens) < 2:
                return Q.term_query(schema, node.field, node.tokens[0]) if node.tokens else Q.empty_query()
            return Q.phrase_query(schema, node.field, list(node.tokens))
        if isinstance(node, Range):
            field_kind(node.field, "integer")
            if node.lo is None and node.hi is None:  # every document has every integer field
                return Q.all_query()
            return Q.const_score_query(Q.range_query(schema, node.field, tantivy.FieldType.Integer,
                                                     node.lo, node.hi), 1.0)
        if isinstance(node, Prefix):
            field_kind(node.field, "keyword", "text", "sort")
            pattern = "".join("\\" + c if c in REGEX_META else c for c in node.value)
            return Q.const_score_query(Q.regex_query(schema, node.field, f"(?s:{pattern}.*)"), 1.0)
        if isinstance(node, Boost):
            inner = self._compile(node.query, df)
            return None if inner is None else Q.boost_query(inner, node.factor)
        if isinstance(node, Bool):
            must, filters = ([self._compile(n, df) for n in part] for part in (node.must, node.filter))
            should = [q for q in (self._compile(n, df) for n in node.should) if q is not None]
            if None in must or None in filters or (node.should and not node.must and not should):
                return None
            clauses = ([(Occur.Must, q) for q in must] + [(Occur.Should, q) for q in should]
                       + [(Occur.MustNot, q) for n in node.must_not if (q := self._compile(n, df)) is not None]
                       + [(Occur.Must, Q.const_score_query(q, 0.0)) for q in filters])
            if not (must or should or filters):
                if not node.must_not:
                    return Q.all_query()
                clauses.append((Occur.Must, Q.const_score_query(Q.all_query(), 0.0)))  # all others, score 0
            return Q.boolean_query(clauses, 1 if should and not must else None)
        raise TypeError(f"not a query node: {node!r}")


def _complement(query: Node) -> tuple[Node, Node] | None:
    """For a query of one scored part within filters: the filters alone, and the filters without
    the scored part's matches."""
    if isinstance(query, Bool) and len(query.must) == 1 and not query.should:
        return (Bool(filter=query.filter, must_not=query.must_not),
                Bool(filter=query.filter, must_not=(*query.must_not, query.must[0])))
    return None


def _aggregate(searcher, q, fields: list[str]) -> dict[str, dict[str, int] | None]:
    """Each keyword field's value counts within ``q``; None for a field whose values are more than
    the aggregation returns (or when tantivy refuses the aggregation)."""
    aggregations = {f"f{i}": {"terms": {"field": f, "size": FACET_BUCKETS, "segment_size": FACET_BUCKETS}}
                    for i, f in enumerate(fields)}
    try:
        found = searcher.aggregate(q, aggregations)
    except ValueError:  # too many buckets
        return dict.fromkeys(fields)
    return {f: {b["key"]: b["doc_count"] for b in r["buckets"]}
            if (r := found.get(f"f{i}")) and not r["sum_other_doc_count"] and not r["doc_count_error_upper_bound"]
            else None for i, f in enumerate(fields)}


def _terms(searcher, field: str, prefix: str, q, size: int) -> list[tuple[str, int]]:
    """Keyword values starting with ``prefix`` in documents matching ``q``: count desc, value asc."""
    field_kind(field, "keyword")
    return [tuple(pair) for pair in searcher.terms_with_prefix(field, prefix, filter_query=q, limit=size)] if size > 0 else []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _uniform_score(node: Node) -> float | None:
    """The score every match of ``node`` gets, when it is the same for all; else None."""
    if isinstance(node, (MatchAll, Terms, Range, Prefix)):
        return 1.0
    if isinstance(node, Term):
        return None if field_kind(node.field) == "text" else 1.0
    if isinstance(node, Boost):
        inner = _uniform_score(node.query)
        return None if inner is None else inner * node.factor
    if isinstance(node, Bool) and not (node.should and (node.must or len(node.should) > 1)):
        scores = [_uniform_score(n) for n in (*node.must, *node.should)]
        if not (node.must or node.should or node.must_not or node.filter):
            return 1.0  # an empty Bool is MatchAll
        return None if None in scores else float(sum(scores))
    return None
