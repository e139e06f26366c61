"""The OpenAPI 3.1 description of the JSON API, served at /api/openapi.json."""
from __future__ import annotations

from repository.model import KINDS

LANGMAP = {"type": "object", "additionalProperties": {"type": "string"},
           "description": "Text by language tag, e.g. {\"zh\": \"惠山\", \"en\": \"Huishan\"}"}
ERROR = {"type": "object", "required": ["error", "message"], "properties": {
    "error": {"type": "string"}, "message": {"type": "string"},
    "problems": {"type": "array", "items": {"type": "object", "required": ["field", "problem"], "properties": {
        "field": {"type": "string"}, "problem": {"type": "string"}}}}}}
LINKS = {"type": "object", "properties": {"self": {"type": "string"}, "html": {"type": "string"},
                                         "iiif_manifest": {"type": "string"}}}
FILE = {"type": "object", "required": ["id", "path", "media_type", "size", "sha256", "url"], "properties": {
    "id": {"type": "string"}, "path": {"type": "string"}, "media_type": {"type": "string"},
    "size": {"type": "integer"}, "sha256": {"type": "string"}, "role": {"type": "string"},
    "sequence": {"type": ["integer", "null"]}, "label": LANGMAP, "access": {"type": ["string", "null"]},
    "derived_from": {"type": ["string", "null"]}, "url": {"type": "string"}}}
ITEM_FIELDS = {
    "id": {"type": "string"},
    "kind": {"enum": list(KINDS)},
    "title": LANGMAP, "description": LANGMAP,
    "creators": {"type": "array", "items": {"type": "object"}},
    "contributors": {"type": "array", "items": {"type": "object"}},
    "date": {"type": "object", "properties": {"edtf": {"type": "string"}, "display": {"type": "string"}}},
    "places": {"type": "array", "items": {"type": "object"}},
    "subjects": {"type": "array", "items": {"type": "string"}},
    "language": {"type": "array", "items": {"type": "string"}},
    "extent": {"type": ["string", "null"]}, "rights": {"type": ["string", "null"]},
    "holding_library": {"type": ["string", "null"]},
    "viewing_direction": {"enum": ["left-to-right", "right-to-left", "top-to-bottom", "bottom-to-top", None],
                          "description": "Page order for viewers (IIIF viewingDirection); right-to-left for traditionally bound Chinese books"},
    "identifiers": {"type": "array", "items": {"type": "string"}},
    "collections": {"type": "array", "items": {"type": "string"}},
    "visibility": {"enum": ["public", "alliance", "staff", "embargoed", "private"]},
    "embargo_until": {"type": ["string", "null"], "format": "date"},
}
ITEM = {"type": "object", "required": ["id", "kind", "title", "version", "files", "links"], "properties": {
    **ITEM_FIELDS, "withdrawn": {"type": ["object", "null"]}, "version": {"type": "integer"},
    "created": {"type": "string"}, "updated": {"type": "string"}, "links": LINKS,
    "files": {"type": "array", "items": FILE}, "restricted_files": {"type": "integer"}}}
ITEM_SUMMARY = {"type": "object", "required": ["id", "kind", "title", "links"], "properties": {
    "id": {"type": "string"}, "kind": {"type": "string"}, "title": LANGMAP, "date": {"type": "object"},
    "collections": {"type": "array", "items": {"type": "string"}}, "links": LINKS}}
ITEM_LIST = {"type": "object", "required": ["total", "page", "per_page", "items", "next"], "properties": {
    "total": {"type": "integer"}, "page": {"type": "integer"}, "per_page": {"type": "integer"},
    "items": {"type": "array", "items": ITEM_SUMMARY}, "next": {"type": ["string", "null"]}}}
COLLECTION = {"type": "object", "required": ["id", "title", "links"], "properties": {
    "id": {"type": "string"}, "title": LANGMAP, "description": LANGMAP, "parent": {"type": ["string", "null"]},
    "visibility": {"type": "string"}, "embargo_until": {"type": ["string", "null"]},
    "holding_library": {"type": ["string", "null"]}, "position": {"type": ["integer", "null"], "minimum": 0},
    "links": LINKS}}
COLLECTION_FIELDS = {k: v for k, v in COLLECTION["properties"].items() if k != "links"}
NEW_ITEM = {"type": "object", "required": ["kind", "title"], "properties": ITEM_FIELDS}
OAI_PMH = {
    "operationId": "oaiPmh", "summary": "OAI-PMH 2.0: Identify, ListMetadataFormats, ListSets, GetRecord, "
                                        "ListIdentifiers, ListRecords (oai_dc, mods)",
    "description": "The protocol's answers, errors included, are 200 text/xml (OAI-PMH 2.0 §3.1.2.1). Anonymous "
                   "harvesters see public items; a Bearer token with read-alliance also alliance items. "
                   "Identifiers are oai:<repositoryIdentifier>:<item id>; sets are collections (parent:child) "
                   "and kind:<kind>; deleted records are persistent.",
    "parameters": [{"name": n, "in": "query", "schema": {"type": "string"}} for n in (
        "verb", "identifier", "metadataPrefix", "from", "until", "set", "resumptionToken")],
    "responses": {"200": {"description": "An OAI-PMH answer", "content": {"text/xml": {"schema": {"type": "string"}}}},
                  "401": {"description": "An unknown or revoked Bearer token",
                          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                  "413": {"description": "A request body over MAX_BODY_MB",
                          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}},
                                      "text/html": {"schema": {"type": "string"}}}}},
}
PASSAGE = {"type": "object", "required": ["snippet", "url"], "properties": {
    "snippet": {"type": "string", "description": "HTML: the text with the query's words in <mark>"},
    "file_id": {"type": ["string", "null"]}, "page": {"type": ["integer", "null"]},
    "chapter": {"type": ["string", "null"]}, "time": {"type": ["number", "null"]},
    "end": {"type": ["number", "null"]}, "url": {"type": "string"}}}
SEARCH_HIT = {"type": "object", "required": ["id", "score", "title", "kind", "highlights", "passages", "links"],
              "properties": {"id": {"type": "string"}, "score": {"type": "number"}, "title": LANGMAP,
                             "kind": {"type": "string"}, "date": {"type": "object"},
                             "thumbnail": {"type": ["string", "null"]},
                             "highlights": {"type": "object", "additionalProperties": {"type": "string"}},
                             "passages": {"type": "array", "items": PASSAGE}, "links": LINKS,
                             "remote": {"type": "boolean", "description": "a work of the alliance's union catalogue"},
                             "holdings": {"type": "array", "description": "the alliance members holding it", "items": {
                                 "type": "object", "required": ["member", "library", "title"], "properties": {
                                     "member": {"type": "string"}, "library": LANGMAP, "title": {"type": "string"},
                                     "link": {"type": ["string", "null"]}, "manifest": {"type": ["string", "null"]},
                                     "thumbnail": {"type": ["string", "null"]}, "oai_id": {"type": "string"}}}}}}
FACET_NAMES = ["kind", "collection", "decade", "era", "place", "person", "interviewee", "subject", "language", "library", "rights"]
SEARCH_RESULTS = {"type": "object", "required": ["query", "total", "page", "per_page", "sort", "hits", "facets", "next"],
                  "properties": {
                      "query": {"type": "string"}, "total": {"type": "integer"}, "page": {"type": "integer"},
                      "per_page": {"type": "integer"}, "sort": {"type": "string"},
                      "filters": {"type": "object"}, "next": {"type": ["string", "null"]},
                      "hits": {"type": "array", "items": SEARCH_HIT},
                      "facets": {"type": "object", "additionalProperties": {"type": "array", "items": {
                          "type": "object", "required": ["value", "count"],
                          "properties": {"value": {"type": "string"}, "count": {"type": "integer"}}}}}}}

ALLIANCE_HIT = {"type": "object", "required": ["id", "member", "score", "sources", "title", "links"], "properties": {
    **SEARCH_HIT["properties"],
    "member": {"type": ["string", "null"], "description": "the member library holding it (null: this library)"},
    "score": {"type": "number", "description": "reciprocal-rank fusion score (Cormack et al. 2009, k = 60)"},
    "sources": {"type": "array", "items": {"type": "string"},
                "description": "where it was found: local (this library's index) and/or member names"},
    "links": {"type": "object", "properties": {"html": {"type": ["string", "null"]}, "self": {"type": "string"}}}}}
MEMBER_ANSWER = {"type": "object", "required": ["name", "label", "status", "seconds", "total", "reason"],
                 "properties": {"name": {"type": "string"}, "label": LANGMAP,
                                "status": {"enum": ["ok", "timeout", "failed"]}, "seconds": {"type": "number"},
                                "total": {"type": "integer"}, "reason": {"type": ["string", "null"]},
                                "skipped": {"type": "integer", "description": "malformed hits left out"}}}
ALLIANCE_RESULTS = {"type": "object", "required": ["scope", "query", "total", "page", "per_page", "hits", "facets",
                                                   "members", "next"],
                    "properties": {**SEARCH_RESULTS["properties"], "scope": {"const": "alliance"},
                                   "total": {"type": "integer", "description": "the sum of each source's total, less the records "
                                                                            "found in more than one list"},
                                   "hits": {"type": "array", "items": ALLIANCE_HIT},
                                   "local": {"type": "object", "properties": {"seconds": {"type": "number"}}},
                                   "members": {"type": "array", "items": MEMBER_ANSWER}}}


def _json(schema, description="OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes) -> dict:
    words = {400: "invalid input", 401: "unknown or revoked token", 403: "not allowed", 404: "unknown or not visible",
             409: "stale version", 410: "withdrawn", 413: "request too large", 503: "storage unavailable"}
    return {str(c): _json({"$ref": "#/components/schemas/Error"}, words[c]) for c in codes}


PAGING = [
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1_000_000}},
    {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
]
ITEM_ID = {"name": "item_id", "in": "path", "required": True, "schema": {"type": "string"}}
WHY = {"name": "X-Fangzhi-Why", "in": "header", "schema": {"type": "string"},
       "description": "Why the change is made (kept in the item's version history)"}
READ_ERRORS = (400, 401, 404, 410, 503)
WRITE_ERRORS = (400, 401, 403, 404, 409, 410, 413, 503)
COLLECTION_ID = {"name": "collection_id", "in": "path", "required": True, "schema": {"type": "string"}}


AUTHORITY_KINDS = ["person", "family", "organization", "place"]
RID = {"name": "rid", "in": "path", "required": True, "schema": {"type": "string"},
       "description": "an authority id: person-<n>, family-<n>, org-<n>, place-<n>"}
AUTHORITY_BRIEF = {"type": "object", "required": ["id", "kind", "name", "names", "links"], "properties": {
    "id": {"type": "string"}, "kind": {"enum": AUTHORITY_KINDS}, "name": {"type": "string"},
    "names": {"type": "array", "items": {"type": "string"}}, "birth": {"type": "object"}, "death": {"type": "object"},
    "type": {"type": ["string", "null"]}, "coordinates": {"type": ["array", "null"], "items": {"type": "number"}},
    "links": {"type": "object"}}}
AUTHORITY = {"type": "object", "required": ["id", "kind", "name", "version", "links"], "properties": {
    "id": {"type": "string"}, "kind": {"enum": AUTHORITY_KINDS}, "name": {"type": "string"},
    "names": {"type": "array", "items": {"type": "object", "required": ["name", "type"], "properties": {
        "name": {"type": "string"}, "type": {"type": "string"}, "start": {"type": "string"}, "end": {"type": "string"}}}},
    "identifiers": {"type": "object", "additionalProperties": {"type": "string"}},
    "version": {"type": "integer"}, "created": {"type": "string"}, "updated": {"type": "string"},
    "merged_ids": {"type": "array", "items": {"type": "string"}}, "links": {"type": "object"}},
    "description": "Also the kind's own fields: a person's birth, death, native_place, occupations, relations; a "
                   "family's surname, hall (堂号), choronym (郡望), ancestral_place, founder, generation_names (字辈), "
                   "members; a place's type, parents (with start/end), coordinates; an organisation's type, place."}
MOVED = {"301": {"description": "a record merged into another: Location is the survivor's"}}
KIND_PARAM = {"name": "kind", "in": "query", "schema": {"enum": AUTHORITY_KINDS}}


def document() -> dict:
    item_ref, list_ref = {"$ref": "#/components/schemas/Item"}, {"$ref": "#/components/schemas/ItemList"}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Fangzhi (方志) archive API", "version": "1",
                 "description": "Items and collections of the archive, and its authority file. Reads show what the caller may see; "
                                "writes need a token with the write scope (Authorization: Bearer …), and change only "
                                "items the token's read scopes let it see."},
        "servers": [{"url": "/"}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": ERROR, "Item": ITEM, "ItemList": ITEM_LIST, "Collection": COLLECTION,
                        "NewItem": NEW_ITEM},
        },
        "security": [{}, {"bearer": []}],
        "paths": {
            "/api/items": {
                "get": {"operationId": "listItems", "summary": "Items the caller may see, newest first",
                        "parameters": PAGING + [{"name": "collection", "in": "query", "schema": {"type": "string"}}],
                        "responses": {"200": _json(list_ref), **_errors(*READ_ERRORS)}},
                "post": {"operationId": "createItem", "summary": "Create an item (JSON, or multipart with files)",
                         "parameters": [WHY],
                         "requestBody": {"required": True, "content": {
                             "application/json": {"schema": {"$ref": "#/components/schemas/NewItem"}},
                             "multipart/form-data": {"schema": {"type": "object", "properties": {
                                 "metadata": {"type": "string", "description": "the NewItem as JSON"},
                                 "files": {"type": "array", "items": {"type": "string", "format": "binary"}}}}}}},
                         "responses": {"201": _json(item_ref, "Created"), **_errors(*WRITE_ERRORS)}},
            },
            "/api/items/{item_id}": {
                "get": {"operationId": "getItem", "summary": "An item (the latest or a given version)",
                        "parameters": [ITEM_ID, {"name": "version", "in": "query",
                                                 "schema": {"type": "integer", "minimum": 1}}],
                        "responses": {"200": _json(item_ref), **_errors(*READ_ERRORS)}},
                "patch": {"operationId": "updateItem", "summary": "Change fields; If-Match names the version edited",
                          "parameters": [ITEM_ID, WHY, {"name": "If-Match", "in": "header", "required": True,
                                                        "schema": {"type": "string"}}],
                          "requestBody": {"required": True, "content": {"application/json": {
                              "schema": {"type": "object", "properties": ITEM_FIELDS}}}},
                          "responses": {"200": _json(item_ref), **_errors(*WRITE_ERRORS)}},
            },
            "/api/items/{item_id}/withdraw": {
                "post": {"operationId": "withdrawItem", "summary": "Withdraw an item (a tombstone version)",
                         "parameters": [ITEM_ID],
                         "requestBody": {"required": True, "content": {"application/json": {"schema": {
                             "type": "object", "required": ["reason"], "properties": {"reason": {"type": "string"}}}}}},
                         "responses": {"200": _json(item_ref), **_errors(*WRITE_ERRORS)}},
            },
            "/api/items/{item_id}/versions": {
                "get": {"operationId": "itemVersions", "summary": "The item's versions and their dates; "
                                                                  "who changed it and why only for staff roles",
                        "parameters": [ITEM_ID],
                        "responses": {"200": _json({"type": "object", "required": ["item", "versions"], "properties": {
                            "item": {"type": "string"}, "versions": {"type": "array", "items": {
                                "type": "object", "required": ["version", "created"],
                                "properties": {"version": {"type": "integer"}, "created": {"type": "string"},
                                               "user": {"type": "string"}, "message": {"type": "string"}}}}}}),
                            **_errors(*READ_ERRORS)}},
            },
            "/api/search": {
                "get": {"operationId": "search", "summary": "Search what the caller may see: hits with highlighted "
                                                             "snippets (page or time of each passage), facets, paging",
                        "description": "q: words (AND), OR, \"phrases\", -exclusions, title:/creator:/place:/subject:, "
                                       "date:光绪 or date:1930..1939; simplified, traditional and pinyin all work. "
                                       "An empty q lists everything with facets.",
                        "parameters": PAGING + [
                            {"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 500}},
                            {"name": "sort", "in": "query", "schema": {"enum": ["relevance", "date", "-date", "title"]}},
                            {"name": "date", "in": "query", "schema": {"type": "string"}},
                            {"name": "facets", "in": "query", "schema": {"type": "string"},
                             "description": "comma-separated facet names to count (default: all)"},
                            {"name": "scope", "in": "query", "schema": {"enum": ["local", "alliance"]},
                             "description": "alliance: also every member library running Fangzhi, asked live in "
                                            "parallel (each within ALLIANCE_SEARCH_SECONDS) and merged by "
                                            "reciprocal-rank fusion; the answer names each member's status and "
                                            "time. Facets (library, kind, decade …) are sums of what each source "
                                            "reported; pages run through the fused list of each source's top 100."},
                        ] + [{"name": n, "in": "query", "schema": {"type": "array", "items": {"type": "string"}},
                              "explode": True} for n in FACET_NAMES],
                        "responses": {"200": _json({"anyOf": [SEARCH_RESULTS, ALLIANCE_RESULTS]}),
                                      **_errors(*READ_ERRORS)}},
            },
            "/api/suggest": {
                "get": {"operationId": "suggest", "summary": "Titles, names, places and subjects starting with q",
                        "parameters": [{"name": "q", "in": "query", "schema": {"type": "string"}}],
                        "responses": {"200": _json({"type": "object", "required": ["q", "suggestions"], "properties": {
                            "q": {"type": "string"}, "suggestions": {"type": "array", "items": {"type": "string"}}}}),
                            **_errors(401, 503)}},
            },
            "/api/collections": {
                "get": {"operationId": "listCollections", "summary": "Collections the caller may see",
                        "responses": {"200": _json({"type": "object", "required": ["collections"], "properties": {
                            "collections": {"type": "array", "items": {"$ref": "#/components/schemas/Collection"}}}}),
                            **_errors(401, 503)}},
                "post": {"operationId": "createCollection", "summary": "Create a collection (write scope); "
                                                                       "parent nests it, position orders its siblings",
                         "parameters": [WHY],
                         "requestBody": {"required": True, "content": {"application/json": {"schema": {
                             "type": "object", "required": ["id", "title"], "properties": COLLECTION_FIELDS}}}},
                         "responses": {"201": _json({"$ref": "#/components/schemas/Collection"}, "Created"),
                                       **_errors(*WRITE_ERRORS)}},
            },
            "/api/collections/{collection_id}/move": {
                "post": {"operationId": "moveCollection", "summary": "Nest a collection (parent null: the top level) "
                                                                     "at a position among its siblings; loops refused",
                         "parameters": [COLLECTION_ID, WHY],
                         "requestBody": {"required": True, "content": {"application/json": {"schema": {
                             "type": "object", "properties": {"parent": {"type": ["string", "null"]},
                                                              "position": {"type": ["integer", "null"], "minimum": 0}}}}}},
                         "responses": {"200": _json({"$ref": "#/components/schemas/Collection"}),
                                       **_errors(*WRITE_ERRORS)}},
            },
            "/oai": {
                "get": OAI_PMH,
                "post": {**OAI_PMH, "operationId": "oaiPmhPost", "parameters": [],
                         "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {
                             "schema": {"type": "object", "properties": {
                                 p["name"]: p["schema"] for p in OAI_PMH["parameters"]}}}}}},
            },
            "/api/collections/{collection_id}": {
                "get": {"operationId": "getCollection", "summary": "A collection with its sub-collections and items",
                        "parameters": [{"name": "collection_id", "in": "path", "required": True,
                                        "schema": {"type": "string"}}] + PAGING,
                        "responses": {"200": _json({"allOf": [{"$ref": "#/components/schemas/Collection"}, {
                            "type": "object", "required": ["items", "subcollections"], "properties": {
                                "version": {"type": "integer"}, "items": list_ref,
                                "subcollections": {"type": "array",
                                                   "items": {"$ref": "#/components/schemas/Collection"}}}}]}),
                            **_errors(*READ_ERRORS)}},
                "patch": {"operationId": "updateCollection", "summary": "Change fields (write scope); If-Match "
                                                                      "names the version edited; loops refused",
                          "parameters": [COLLECTION_ID, WHY, {"name": "If-Match", "in": "header", "required": True,
                                                              "schema": {"type": "string"}}],
                          "requestBody": {"required": True, "content": {"application/json": {
                              "schema": {"type": "object", "properties": COLLECTION_FIELDS}}}},
                          "responses": {"200": _json({"$ref": "#/components/schemas/Collection"}),
                                        **_errors(*WRITE_ERRORS)}},
                "delete": {"operationId": "deleteCollection", "summary": "Delete an empty collection (409 when it "
                                                                         "holds items or sub-collections)",
                           "parameters": [COLLECTION_ID, WHY],
                           "responses": {"204": {"description": "Deleted"}, **_errors(*WRITE_ERRORS)}},
            },
            "/api/authorities": {
                "get": {"operationId": "listAuthorities", "summary": "Authority records (people, families, "
                                                                     "organisations, places), or those with a name, alias "
                                                                     "or pinyin containing q",
                        "parameters": PAGING + [KIND_PARAM, {"name": "q", "in": "query", "schema": {"type": "string"}}],
                        "responses": {"200": _json({"type": "object", "required": ["total", "records", "next"],
                                                    "properties": {"total": {"type": "integer"},
                                                                   "page": {"type": "integer"},
                                                                   "per_page": {"type": "integer"},
                                                                   "records": {"type": "array", "items": AUTHORITY_BRIEF},
                                                                   "next": {"type": ["string", "null"]}}}),
                                      **_errors(400, 401, 503)}},
            },
            "/api/authorities/suggest": {
                "get": {"operationId": "suggestAuthorities", "summary": "Records whose name, alias or pinyin (full or "
                                                                        "initials) starts with q: the pickers' source",
                        "parameters": [KIND_PARAM, {"name": "q", "in": "query", "schema": {"type": "string"}},
                                       {"name": "limit", "in": "query",
                                        "schema": {"type": "integer", "minimum": 1, "maximum": 50}}],
                        "responses": {"200": _json({"type": "object", "required": ["q", "records"], "properties": {
                            "q": {"type": "string"}, "records": {"type": "array", "items": AUTHORITY_BRIEF}}}),
                            **_errors(400, 401, 503)}},
            },
            "/api/authorities/{rid}": {
                "get": {"operationId": "getAuthority", "summary": "An authority record",
                        "parameters": [RID],
                        "responses": {"200": _json(AUTHORITY), **MOVED, **_errors(*READ_ERRORS)}},
            },
            "/api/authorities/{rid}/items": {
                "get": {"operationId": "authorityItems", "summary": "The items the caller may see that are linked to "
                                                                    "the record (as subject, creator, contributor, place "
                                                                    "or mention) or to a record merged into it",
                        "parameters": [RID] + PAGING,
                        "responses": {"200": _json({"type": "object", "required": ["total", "items"], "properties": {
                            "total": {"type": "integer"}, "page": {"type": "integer"}, "per_page": {"type": "integer"},
                            "items": {"type": "array", "items": {"allOf": [ITEM_SUMMARY, {"type": "object", "properties": {
                                "how": {"type": "array", "items": {"type": "string"}}}}]}}}}),
                            **_errors(*READ_ERRORS)}},
            },
        },
    }
