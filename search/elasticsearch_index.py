"""The search index on an Elasticsearch 8.x/9.x cluster, with the official client.

Searches and writes go through the alias ``name``; behind it is one concrete index
``{name}-{timestamp}`` made from the index template ``{name}-template``: ``shards`` primary
shards (default one) and ``replicas``; with more than one, searches are ``dfs_query_then_fetch``
(the term statistics of every shard, so BM25 scores stay exact and equal to the embedded
index's) and each shard counts up to FACET_SHARD_SIZE values of a facet (exact while no shard
holds more). Text fields analyzed by a custom analyzer made of
the ``whitespace`` tokenizer only (the text arrives segmented by search/analysis.py, so stock
Elasticsearch needs no Chinese plugin), ``keyword`` and ``long`` fields, and ``source`` kept in
``_source`` but not indexed. ``rebuild`` fills a new index and swaps the alias to it in one
``_aliases`` call, then deletes the old one, so searches never see a half-built index. Only
documented Elasticsearch APIs are used.
"""
from __future__ import annotations

import itertools
import time
from contextlib import contextmanager
from typing import Iterable
from urllib.parse import urlsplit

from elasticsearch import ApiError, Elasticsearch, TransportError, helpers

from search.index import (
    INTEGER_FIELDS, KEYWORD_FIELDS, TEXT_FIELDS, Bool, Boost, Facet, Hit, Hits, MatchAll, Node,
    Phrase, Prefix, Range, SearchIndexError, Sort, Term, Terms, document_fields, field_kind,
)

CHUNK = 1000  # documents per bulk request
FACET_SHARD_SIZE = 2000  # values of a facet each shard returns when there are several
ANALYZER = "fangzhi_whitespace"
SETTINGS = {
    "max_result_window": 100_000,
    "analysis": {"analyzer": {ANALYZER: {"type": "custom", "tokenizer": "whitespace"}}},
}
MAPPINGS = {"dynamic": "strict", "properties": {
    **{name: {"type": "text", "analyzer": ANALYZER} for name in TEXT_FIELDS},
    **{name: {"type": "keyword"} for name in (*KEYWORD_FIELDS, "title_sort")},
    **{name: {"type": "long"} for name in INTEGER_FIELDS},
    "source": {"type": "object", "enabled": False},
}}


class ElasticsearchIndex:
    """A ``SearchIndex`` behind the alias ``name`` on the cluster at ``url``; ``options`` go to
    the ``Elasticsearch`` client (api_key, basic_auth, ca_certs, request_timeout…)."""

    def __init__(self, url: str, *, name: str = "fangzhi", shards: int = 1, replicas: int = 0, **options):
        self.name = name
        self.shards = shards
        settings = {**SETTINGS, "number_of_shards": shards, "number_of_replicas": replicas}
        parts = urlsplit(url)
        self.where = url.replace(parts.netloc, parts.netloc.rpartition("@")[2])  # no password in messages
        self.client = Elasticsearch(url, **{"request_timeout": 30, **options})
        with self._errors("connecting"):
            self.client.info()
            self.client.indices.put_index_template(
                name=f"{name}-template", index_patterns=[f"{name}-*"], priority=200,
                template={"settings": settings, "mappings": MAPPINGS},
                meta={"description": "Fangzhi search index (search/elasticsearch_index.py)"})
            if not self.client.indices.exists_alias(name=name):
                self.client.indices.create(index=self._new_name(), aliases={name: {}})
            # an index made before an upgrade that added fields: the composition root rebuilds it
            mapped = self.client.indices.get_mapping(index=name).body.values()
            self.outdated = any(set(MAPPINGS["properties"]) - set(m["mappings"].get("properties", {})) for m in mapped)

    @contextmanager
    def _errors(self, doing: str):
        try:
            yield
        except (ApiError, TransportError, helpers.BulkIndexError) as exc:
            raise SearchIndexError(f"Elasticsearch at {self.where} (index {self.name}): {doing} failed: "
                                   f"{str(exc)[:500]}") from exc

    def _new_name(self) -> str:
        return f"{self.name}-{time.strftime('%Y%m%d%H%M%S', time.gmtime())}{time.time_ns() % 10**9:09d}"

    # --- writing ---------------------------------------------------------------------------

    def replace(self, item_id: str, documents: list[dict]) -> None:
        """One bulk request: index the new documents, delete the item's other ones, refresh."""
        docs = [document_fields(d) for d in documents]
        if any(d["item_id"] != [item_id] for d in docs):
            raise ValueError(f"every document given for item {item_id!r} must have that item_id")
        with self._errors(f"indexing item {item_id}"):
            stale = set(self._ids(item_id)).difference(d["id"][0] for d in docs)
            deletes = ({"_op_type": "delete", "_index": self.name, "_id": id} for id in sorted(stale))
            helpers.bulk(self.client, itertools.chain(self._actions(self.name, docs), deletes),
                         chunk_size=CHUNK, refresh=True, ignore_status=(404,))

    def delete(self, item_id: str) -> None:
        self.replace(item_id, [])

    def _ids(self, item_id: str) -> list[str]:
        """The ids of the item's documents, page by page (search_after on id)."""
        ids, after = [], None
        while True:
            found = self.client.search(index=self.name, query={"term": {"item_id": item_id}}, size=CHUNK,
                                       sort=[{"id": "asc"}], source=False, search_after=after,
                                       track_total_hits=False)["hits"]["hits"]
            ids += [hit["_id"] for hit in found]
            if len(found) < CHUNK:
                return ids
            after = found[-1]["sort"]

    def rebuild(self, documents: Iterable[dict]) -> int:
        """Fill a new index, point the alias at it atomically, delete the old index."""
        new, count = self._new_name(), 0
        with self._errors("rebuilding the index"):
            self.client.indices.create(index=new, settings={"refresh_interval": "-1"})
            try:
                for ok, _ in helpers.streaming_bulk(self.client, self._actions(new, map(document_fields, documents)),
                                                    chunk_size=CHUNK):
                    count += ok
                self.client.indices.put_settings(index=new, settings={"refresh_interval": None})
                self.client.indices.refresh(index=new)
                old = list(self.client.indices.get_alias(name=self.name))
                self.client.indices.update_aliases(actions=[
                    *({"remove": {"index": index, "alias": self.name}} for index in old),
                    {"add": {"index": new, "alias": self.name}}])
            except BaseException:
                self.client.options(ignore_status=404).indices.delete(index=new)
                raise
            if old:
                self.client.indices.delete(index=",".join(old))
        return count

    @staticmethod
    def _actions(index: str, docs: Iterable[dict]):
        for doc in docs:
            yield {"_index": index, "_id": doc["id"][0], "_source": doc}

    # --- reading ---------------------------------------------------------------------------

    def search(self, query: Node, *, facets: dict[str, Facet] | None = None, sort: Sort = Sort(),
               offset: int = 0, limit: int = 10) -> Hits:
        if sort.field is None:
            order = [{"_score": "desc"}, {"id": "asc"}]
        else:
            field_kind(sort.field, "sort", "integer")
            order = [{sort.field: "desc" if sort.descending else "asc"}, {"id": "asc"}]
        names = list(facets or {})
        aggs = {f"f{i}": self._terms(facets[name].field, facets[name].size) for i, name in enumerate(names)}
        with self._errors("searching"):
            found = self.client.search(index=self.name, query=self._query(query), from_=offset, size=limit,
                                       sort=order, track_total_hits=True, source_includes=["source"],
                                       aggs=aggs or None, search_type=self._search_type)
        hits = [Hit(h["_id"], h["_score"] or 0.0, h["_source"].get("source", {})) for h in found["hits"]["hits"]]
        counted = {name: _buckets(found, f"f{i}")[:facets[name].size] for i, name in enumerate(names)}
        return Hits(found["hits"]["total"]["value"], hits, counted)

    def suggest(self, field: str, prefix: str, *, query: Node, limit: int = 10) -> list[tuple[str, int]]:
        # ``include`` (a Lucene regular expression: a backslash makes any character literal) keeps
        # only values with the prefix; the prefix filter and the final check keep the answer right
        # on servers that ignore ``include`` (noida-db 0.2.3 does).
        include = "".join(c if c.isalnum() else "\\" + c for c in prefix) + ".*"
        query = Bool(must=(query,), filter=(Prefix(field, prefix),))
        with self._errors("suggesting"):
            found = self.client.search(index=self.name, query=self._query(query), size=0,
                                       aggs={"s": self._terms(field, max(100, 10 * limit), include=include)},
                                       search_type=self._search_type)
        return [(value, n) for value, n in _buckets(found, "s") if value.startswith(prefix)][:limit]

    @property
    def _search_type(self) -> str | None:
        return "dfs_query_then_fetch" if self.shards > 1 else None

    def _terms(self, field: str, size: int, **more) -> dict:
        field_kind(field, "keyword")
        shard_size = {"shard_size": max(size, FACET_SHARD_SIZE)} if self.shards > 1 else {}
        return {"terms": {"field": field, "size": max(size, 1), "order": [{"_count": "desc"}, {"_key": "asc"}],
                          **shard_size, **more}}

    def count(self) -> int:
        with self._errors("counting"):
            return self.client.count(index=self.name)["count"]

    def close(self) -> None:
        self.client.close()

    # --- the query tree --------------------------------------------------------------------

    def _query(self, node: Node) -> dict:
        if isinstance(node, MatchAll):
            return {"match_all": {}}
        if isinstance(node, Term):
            term = {"term": {node.field: node.value}}
            return term if field_kind(node.field) == "text" else _constant(term)
        if isinstance(node, Terms):
            field_kind(node.field, "keyword", "text", "sort")
            return _constant({"terms": {node.field: list(node.values)}})
        if isinstance(node, Phrase):
            field_kind(node.field, "text")
            if not node.tokens:
                return {"match_none": {}}
            return {"match_phrase": {node.field: {"query": " ".join(node.tokens), "analyzer": ANALYZER}}}
        if isinstance(node, Range):
            field_kind(node.field, "integer")
            bounds = {k: v for k, v in (("gte", node.lo), ("lte", node.hi)) if v is not None}
            return _constant({"range": {node.field: bounds}})
        if isinstance(node, Prefix):
            field_kind(node.field, "keyword", "text", "sort")
            return _constant({"prefix": {node.field: {"value": node.value}}})
        if isinstance(node, Boost):
            return {"bool": {"must": [self._query(node.query)], "boost": node.factor}}
        if isinstance(node, Bool):
            if not (node.must or node.should or node.must_not or node.filter):
                return {"match_all": {}}
            clauses = {occur: [self._query(n) for n in nodes] for occur, nodes in
                       (("must", node.must), ("should", node.should), ("must_not", node.must_not),
                        ("filter", node.filter)) if nodes}
            if not (node.must or node.should or node.filter):  # only must_not: all others, score 0
                clauses["filter"] = [{"match_all": {}}]
            if node.should and not node.must:
                clauses["minimum_should_match"] = 1
            return {"bool": clauses}
        raise TypeError(f"not a query node: {node!r}")


def _constant(query: dict) -> dict:
    return {"constant_score": {"filter": query, "boost": 1.0}}


def _buckets(found: dict, name: str) -> list[tuple[str, int]]:
    return [(b["key"], b["doc_count"]) for b in found["aggregations"][name]["buckets"]]
