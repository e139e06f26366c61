"""The OAI-PMH 2.0 harvester: each member's records, incrementally, into storage and the union catalogue.

Per member: ``Identify`` (granularity), then ``ListRecords`` from the last harvest's
``responseDate`` minus ALLIANCE_OVERLAP_SECONDS (the provider's clock, not ours; the first
harvest is full), following resumption tokens (OAI-PMH 2.0 §3.5). Records the member shows to
anonymous harvesters are kept as ``public``; when we hold a token, a second pass with it finds the
records the member shows only to alliance libraries (kept as ``alliance``). ``status="deleted"``
headers (§2.5.1) remove records; changed records replace theirs. Members run in parallel threads
and every request has a time limit, a byte cap and retries with backoff, so a failing, slow or
hostile member only fails itself.
"""
from __future__ import annotations

import logging
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Iterator
from urllib.parse import urlencode, urlsplit

from lxml import etree

from storage.harvested import HarvestStore

from .members import Member, Members
from .records import NS, OAI, BadResponse, HarvestError, N_, parse_xml

log = logging.getLogger("fangzhi.alliance")
USER_AGENT = "Fangzhi-harvester/1 (OAI-PMH 2.0)"
WRITERS = 8  # records of a page written to storage at once


@dataclass(frozen=True)
class Limits:
    timeout: float = 30.0  # seconds for one whole request, answer included
    attempts: int = 3  # tries of a request that failed on the network, timed out or got 5xx/429
    backoff: float = 1.0  # seconds before the second try; doubled each time
    max_response: int = 32 << 20  # bytes of one answer
    max_record: int = 1 << 20  # bytes of one record
    max_pages: int = 10_000
    overlap: int = 60  # seconds subtracted from responseDate for the next harvest
    parallel: int = 4  # members harvested at once
    metadata_prefix: str = "oai_dc"

    @classmethod
    def from_settings(cls, s: dict) -> "Limits":
        return cls(timeout=float(s["ALLIANCE_TIMEOUT"]), attempts=max(1, int(s["ALLIANCE_ATTEMPTS"])),
                   max_response=int(s["ALLIANCE_MAX_RESPONSE_MB"]) << 20, max_record=int(s["ALLIANCE_MAX_RECORD_KB"]) << 10,
                   max_pages=int(s["ALLIANCE_MAX_PAGES"]), overlap=int(s["ALLIANCE_OVERLAP_SECONDS"]),
                   parallel=max(1, int(s["ALLIANCE_PARALLEL"])))


class _Retry(Exception):
    def __init__(self, error: HarvestError):
        self.error = error


def fetch(url: str, params: dict, token: str | None, limits: Limits, *, accept: str = "text/xml") -> bytes:
    """GET ``url?params``: the answer's bytes, with retries and backoff; HarvestError says why not."""
    address = f"{url}?{urlencode(params)}" if params else url
    for attempt in range(limits.attempts):
        try:
            return _get(address, token, limits, accept)
        except _Retry as retry:
            if attempt + 1 == limits.attempts:
                raise retry.error from None
            time.sleep(limits.backoff * 2 ** attempt)
    raise AssertionError("unreachable")


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Redirects stay on http(s), and our token never follows one to another site."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new, old = urlsplit(newurl), urlsplit(req.full_url)
        if new.scheme not in ("http", "https"):
            raise HarvestError(N_("重定向到不允许的地址：%(url)s"), url=newurl[:200])
        redirected = super().redirect_request(req, fp, code, msg, headers, newurl)
        if redirected is not None and (new.scheme, new.netloc) != (old.scheme, old.netloc):
            redirected.remove_header("Authorization")
        return redirected


_OPENER = urllib.request.build_opener(_Redirects)


def _get(address: str, token: str | None, limits: Limits, accept: str) -> bytes:
    headers = {"User-Agent": USER_AGENT, "Accept": accept}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    deadline = time.monotonic() + limits.timeout
    timeout_error = HarvestError(N_("%(seconds)s 秒内没有应答：%(url)s"), seconds=limits.timeout, url=address)
    try:
        with _OPENER.open(urllib.request.Request(address, headers=headers), timeout=limits.timeout) as resp:
            declared = resp.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > limits.max_response:
                raise _too_big(limits)
            chunks, total = [], 0
            while chunk := resp.read(1 << 16):
                total += len(chunk)
                if total > limits.max_response:
                    raise _too_big(limits)
                if time.monotonic() > deadline:  # a member dripping bytes is as slow as a silent one
                    raise _Retry(timeout_error)
                chunks.append(chunk)
            return b"".join(chunks)
    except urllib.error.HTTPError as exc:
        error = HarvestError(N_("HTTP 状态 %(status)s：%(url)s"), status=exc.code, url=address)
        raise (_Retry(error) if exc.code >= 500 or exc.code == 429 else error) from None
    except (TimeoutError, OSError) as exc:  # URLError, connection refused or reset, socket timeout
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError) or "timed out" in str(reason):
            raise _Retry(timeout_error) from None
        raise _Retry(HarvestError(N_("无法连接 %(url)s：%(detail)s"), url=address, detail=str(reason))) from None


def _too_big(limits: Limits) -> HarvestError:
    return HarvestError(N_("应答超过 %(mb)s MB，已拒绝"), mb=limits.max_response >> 20)


def oai_request(member: Member, params: dict, token: str | None, limits: Limits) -> etree._Element:
    """One OAI-PMH request's answer (the OAI-PMH element); HarvestError for an error answer."""
    root = parse_xml(fetch(member.oai_url, params, token, limits))
    if root.tag != f"{{{OAI}}}OAI-PMH":
        raise BadResponse(N_("应答不是 OAI-PMH：根元素是 %(tag)s"), tag=str(root.tag)[:100])
    error = root.find(f"{{{OAI}}}error")
    if error is not None and error.get("code") != "noRecordsMatch":
        raise HarvestError(N_("OAI-PMH 错误 %(code)s：%(detail)s"), code=error.get("code") or "?",
                           detail=(error.text or "").strip()[:300])
    return root


@dataclass
class Page:
    response_date: str
    records: list[tuple[str, bool, bytes]] = field(default_factory=list)  # (identifier, deleted, XML)


def list_records(member: Member, token: str | None, since: str | None, limits: Limits,
                 skipped: list[str], prefix: str = "oai_dc") -> Iterator[Page]:
    """The pages of ListRecords in ``prefix`` (from ``since``), following resumption tokens;
    records over the size cap are left out and named in ``skipped``."""
    params = {"verb": "ListRecords", "metadataPrefix": prefix, **({"from": since} if since else {})}
    seen: set[str] = set()
    for _ in range(limits.max_pages):
        root = oai_request(member, params, token, limits)
        page = Page("".join(root.xpath("oai:responseDate/text()", namespaces=NS)).strip())
        listed = root.find(f"{{{OAI}}}ListRecords")
        if listed is None:
            if root.find(f"{{{OAI}}}error") is not None:  # noRecordsMatch: nothing new
                yield page
                return
            raise BadResponse(N_("应答不是 OAI-PMH：缺少 %(tag)s"), tag="ListRecords")
        for record in listed.iterfind(f"{{{OAI}}}record"):
            header = record.find(f"{{{OAI}}}header")
            oai_id = "".join(header.xpath("oai:identifier/text()", namespaces=NS)).strip() if header is not None else ""
            if not oai_id:
                raise BadResponse(N_("应答不是 OAI-PMH：缺少 %(tag)s"), tag="header/identifier")
            xml = etree.tostring(record, encoding="utf-8")
            if len(xml) > limits.max_record:
                skipped.append(HarvestError(N_("记录 %(id)s 有 %(kb)s KB，超过上限 %(max)s KB，已跳过"), id=oai_id[:200],
                                            kb=len(xml) >> 10, max=limits.max_record >> 10).as_json())
                continue
            page.records.append((oai_id, header.get("status") == "deleted", xml))
        yield page
        token_el = listed.find(f"{{{OAI}}}resumptionToken")
        resume = (token_el.text or "").strip() if token_el is not None else ""
        if not resume:  # an empty token ends the list (§3.5)
            return
        if resume in seen:
            raise HarvestError(N_("续传令牌循环：令牌 %(token)s 又出现了"), token=resume[:100])
        seen.add(resume)
        params = {"verb": "ListRecords", "resumptionToken": resume}
    raise HarvestError(N_("超过 %(pages)s 页，已停止"), pages=limits.max_pages)


def _from_value(response_date: str, overlap: int, granularity: str) -> str | None:
    try:
        when = datetime.fromisoformat(response_date.replace("Z", "+00:00"))
    except ValueError:
        return None
    when = (when if when.tzinfo else when.replace(tzinfo=timezone.utc)) - timedelta(seconds=overlap)
    return when.strftime("%Y-%m-%d" if granularity == "YYYY-MM-DD" else "%Y-%m-%dT%H:%M:%SZ")


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass
class Outcome:
    member: str
    ok: bool
    records: int = 0  # records kept after the harvest
    changed: int = 0
    deleted: int = 0
    error: str | None = None  # HarvestError.as_json
    seconds: float = 0.0


class Harvester:
    """Harvests members into the HarvestStore and refreshes the union catalogue."""

    def __init__(self, members: Members, store: HarvestStore, union, limits: Limits, discovery=None):
        self.members, self.store, self.union, self.limits, self.discovery = members, store, union, limits, discovery
        self._running = threading.Lock()  # one harvest at a time in a process (the admin page's button)

    def start(self, names: list[str] | tuple = ()) -> threading.Thread | None:
        """Harvest in a background thread (the admin page); None when a harvest is running already."""
        if not self._running.acquire(blocking=False):
            return None

        def work():
            try:
                self.harvest(names)
            except Exception:
                log.exception("alliance: the harvest failed")
            finally:
                self._running.release()
        thread = threading.Thread(target=work, name="alliance-harvest", daemon=True)
        thread.start()
        return thread

    @property
    def running(self) -> bool:
        return self._running.locked()

    def harvest(self, names: list[str] | tuple = ()) -> list[Outcome]:
        """Harvest ``names`` (default every member) in parallel; NotFound for an unknown name."""
        chosen = [self.members.get(n) for n in names] if names else self.members.list()
        if not chosen:
            return []
        with ThreadPoolExecutor(min(self.limits.parallel, len(chosen)), thread_name_prefix="harvest") as pool:
            outcomes = list(pool.map(self.harvest_member, chosen))
        records = list(self.union.records())
        self.union.refresh(records)
        if self.discovery is not None:
            self.discovery.label(records)
        return outcomes

    def harvest_member(self, member: Member) -> Outcome:
        started = time.monotonic()
        self.members.update_status(member.name, last_attempt=_now())
        outcome = Outcome(member.name, ok=False)
        try:
            skipped: list[str] = []
            cursor = self._records(member, outcome, skipped)
            problems = list(skipped)
            if self.discovery is not None and member.api_url:
                try:
                    self.discovery.harvest_member(member, self.limits)
                except HarvestError as exc:
                    problems.append(exc.as_json())
            outcome.ok, outcome.error = True, problems[0] if problems else None
            outcome.records = self.store.count(member.name)
            self.members.update_status(member.name, last_success=_now(), records=outcome.records,
                                       error=outcome.error, harvest_from=cursor or member.harvest_from)
        except Exception as exc:  # never let one member's surprise stop the others
            if not isinstance(exc, HarvestError):
                log.exception("alliance: harvesting %s failed", member.name)
                exc = HarvestError(N_("内部错误：%(detail)s"), detail=repr(exc)[:200])
            # the pages read before the failure are kept; the next harvest starts from the same cursor
            outcome.error, outcome.records = exc.as_json(), self.store.count(member.name)
            self.members.update_status(member.name, error=outcome.error, records=outcome.records)
        outcome.seconds = time.monotonic() - started
        return outcome

    def _records(self, member: Member, outcome: Outcome, skipped: list[str]) -> str | None:
        identify = oai_request(member, {"verb": "Identify"}, None, self.limits)
        granularity = "".join(identify.xpath("oai:Identify/oai:granularity/text()", namespaces=NS)).strip()
        formats = oai_request(member, {"verb": "ListMetadataFormats"}, None, self.limits)
        offered = {p.strip() for p in formats.xpath("//oai:metadataPrefix/text()", namespaces=NS)}
        prefix = "mods" if "mods" in offered else self.limits.metadata_prefix  # MODS says more: roles, thumbnails
        since = member.harvest_from
        response_date, public = None, set()
        with ThreadPoolExecutor(WRITERS, thread_name_prefix=f"harvest-{member.name}") as writers:
            def keep(records: list[tuple[str, bool, bytes]], visibility: str) -> None:
                """A page's records into storage, written in parallel (each write is synced)."""
                def one(record):
                    oai_id, deleted, xml = record
                    if deleted:
                        self.store.delete(member.name, oai_id)
                    else:
                        self.store.put(member.name, oai_id, visibility, xml)
                list(writers.map(one, records))
                outcome.deleted += sum(1 for r in records if r[1] and visibility == "public")
                outcome.changed += sum(1 for r in records if not r[1])

            for page in list_records(member, None, since, self.limits, skipped, prefix):  # what anyone may see
                response_date = response_date or page.response_date
                keep(page.records, "public")
                public.update(oai_id for oai_id, deleted, _ in page.records if not deleted)
            if member.token:  # what the member shows only to alliance libraries
                for page in list_records(member, member.token, since, self.limits, skipped, prefix):
                    keep([r for r in page.records if r[0] not in public], "alliance")
        return _from_value(response_date, self.limits.overlap, granularity) if response_date else None


def remove_member(members: Members, store: HarvestStore, union, name: str) -> None:
    """Take a member out of the alliance: its registration, its records and its union documents."""
    label = members.get(name).label_zh
    members.remove(name)
    store.remove_member(name)
    union.refresh(libraries=(label,))


