"""OAI-PMH providers for harvesting tests, on 127.0.0.1: an independent implementation (pyoai's
server side, with a small metadata source the test fills) and hostile ones."""
from __future__ import annotations

import time
from datetime import datetime, timezone
import urllib.parse
from urllib.parse import parse_qsl

from oaipmh import common, error, metadata, server

if not hasattr(server.cgi, "parse_qs"):  # pyoai 2.5.0 decodes its resumption tokens with cgi.parse_qs (Python < 3.8)
    server.cgi.parse_qs = urllib.parse.parse_qs

OAI_HEAD = (b'<?xml version="1.0" encoding="UTF-8"?>\n<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
            b'<responseDate>2026-01-01T00:00:00Z</responseDate><request>http://x/oai</request>')
IDENTIFY = OAI_HEAD + (b'<Identify><repositoryName>x</repositoryName><baseURL>http://x/oai</baseURL>'
                       b'<protocolVersion>2.0</protocolVersion><adminEmail>a@example.org</adminEmail>'
                       b'<earliestDatestamp>2000-01-01T00:00:00Z</earliestDatestamp><deletedRecord>persistent'
                       b'</deletedRecord><granularity>YYYY-MM-DDThh:mm:ssZ</granularity></Identify></OAI-PMH>')


def dc_record(identifier: str, *, title: str = "", deleted: bool = False, **dc) -> bytes:
    status = ' status="deleted"' if deleted else ""
    head = (f'<header{status}><identifier>{identifier}</identifier>'
            f'<datestamp>2026-01-01T00:00:00Z</datestamp></header>')
    if deleted:
        return f"<record>{head}</record>".encode()
    fields = "".join(f"<dc:{k}>{v}</dc:{k}>" for k, vs in {"title": [title], **dc}.items()
                     for v in ([vs] if isinstance(vs, str) else vs))
    return (f'<record>{head}<metadata><oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
            f'xmlns:dc="http://purl.org/dc/elements/1.1/">{fields}</oai_dc:dc></metadata></record>').encode()


def list_records(records: list[bytes], token: str | None = None) -> bytes:
    resumption = f"<resumptionToken>{token}</resumptionToken>".encode() if token else b""
    return OAI_HEAD + b"<ListRecords>" + b"".join(records) + resumption + b"</ListRecords></OAI-PMH>"


def wsgi(answer):
    """A WSGI app answering ``answer(params) → (status, bytes)``."""
    def app(environ, start_response):
        status, body = answer(dict(parse_qsl(environ.get("QUERY_STRING", ""))), environ)
        start_response(status, [("Content-Type", "text/xml; charset=utf-8"), ("Content-Length", str(len(body)))])
        return [body]
    return app


# --- an independent provider: pyoai ---------------------------------------------------------

class Source:
    """pyoai's IOAI interface over a dict the test changes: identifier → (datestamp, dc map | None)
    (None: deleted). ``private`` identifiers are shown only to requests with ``token``."""

    def __init__(self, token: str | None = None):
        self.records: dict[str, tuple[datetime, dict | None]] = {}
        self.private: set[str] = set()
        self.token = token
        self.authorized = False

    def put(self, oai_id: str, deleted: bool = False, **dc):
        self.records[oai_id] = (datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0),
                                    None if deleted else {k: v if isinstance(v, list) else [v] for k, v in dc.items()})

    def identify(self):
        return common.Identify(repositoryName="pyoai test repository", baseURL="http://127.0.0.1/oai",
                               protocolVersion="2.0", adminEmails=["admin@example.org"],
                               earliestDatestamp=datetime(2000, 1, 1), deletedRecord="persistent",
                               granularity="YYYY-MM-DDThh:mm:ssZ", compression=["identity"])

    def listMetadataFormats(self, identifier=None):
        return [("oai_dc", "http://www.openarchives.org/OAI/2.0/oai_dc.xsd", "http://www.openarchives.org/OAI/2.0/oai_dc/")]

    def listSets(self, cursor=0, batch_size=10):
        raise error.NoSetHierarchyError("no sets")

    def _visible(self, from_=None, until=None):
        for identifier, (stamp, dc) in sorted(self.records.items()):
            if identifier in self.private and not self.authorized:
                continue
            if (from_ and stamp < from_) or (until and stamp > until):
                continue
            yield identifier, stamp, dc

    def _record(self, identifier, stamp, dc):
        header = common.Header(None, identifier, stamp, [], dc is None)
        return header, (common.Metadata(None, dc) if dc is not None else None), None

    def listRecords(self, metadataPrefix=None, from_=None, until=None, set=None):
        found = [self._record(*r) for r in self._visible(from_, until)]
        if not found:
            raise error.NoRecordsMatchError("no records")
        return found

    def listIdentifiers(self, metadataPrefix=None, from_=None, until=None, set=None):
        return [h for h, _, _ in self.listRecords(metadataPrefix, from_, until, set)]

    def getRecord(self, metadataPrefix, identifier):
        for r in self._visible():
            if r[0] == identifier:
                return self._record(*r)
        raise error.IdDoesNotExistError(identifier)


def pyoai_app(source: Source, batch: int = 3):
    registry = metadata.MetadataRegistry()
    registry.registerWriter("oai_dc", server.oai_dc_writer)
    provider = server.Server(source, registry, resumption_batch_size=batch)

    def answer(params, environ):
        source.authorized = bool(source.token) and environ.get("HTTP_AUTHORIZATION") == f"Bearer {source.token}"
        return "200 OK", provider.handleRequest(params)
    return wsgi(answer)


# --- hostile providers ---------------------------------------------------------------------

BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + b"".join(b'<!ENTITY lol%d "%s">' % (n, (b"&lol%d;" % (n - 1) if n > 1 else b"&lol;") * 10)
                             for n in range(1, 10))
                  + b']><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>&lol9;</responseDate></OAI-PMH>')
EXTERNAL_ENTITY = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
                   b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>&xxe;</responseDate></OAI-PMH>')


def hostile_app(kind: str, delay: float = 5.0):
    def answer(params, environ):
        if kind == "invalid":
            return "200 OK", OAI_HEAD + b"<ListRecords><record><header>"
        if kind == "bomb":
            return "200 OK", BILLION_LAUGHS
        if kind == "xxe":
            return "200 OK", EXTERNAL_ENTITY
        if kind == "error500":
            return "500 Internal Server Error", b"oops"
        if params.get("verb") == "Identify":
            return "200 OK", IDENTIFY
        if kind == "loop":  # every page points to the same next page
            return "200 OK", list_records([dc_record("oai:loop:1", title="环")], token="again")
        if kind == "huge":  # one fine record, one of 10 MB (in 100 descriptions)
            return "200 OK", list_records([dc_record("oai:huge:ok", title="正常记录"), dc_record(
                "oai:huge:big", title="大", description=["长" * ((100 << 10) // 3)] * 100)])
        if kind == "huge-text":  # one record with a text of 10 MB: libxml2's limit refuses the answer
            return "200 OK", list_records([dc_record("oai:huge:big", title="大", description="长" * ((10 << 20) // 3))])
        if kind == "slow":
            time.sleep(delay)
            return "200 OK", list_records([dc_record("oai:slow:1", title="慢")])
        raise AssertionError(kind)
    return wsgi(answer)
