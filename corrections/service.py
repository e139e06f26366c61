"""Reviewed corrections of OCR lines and transcript cues (issue 16).

A correction is a proposal (``store.Proposal``: who, when, before, after, and the item version and
derivative digest it was made against) until a second person — an archivist or an administrator,
never the proposer — accepts or rejects it. Accepting writes a new version of the item: the OCR
page (``ocr.json`` and the page's ``text.txt``) or the interview (``oral_history.redaction.save``)
with the line or cue changed, who proposed and who accepted it, before and after, and a PREMIS
"modification" event; the archive's listeners then re-index the item.

Who may propose: staff (admin, archivist, curator) on what they may see; signed-in readers only
when the setting CORRECTIONS_VOLUNTEERS is on, on what they may see (a transcript cue a reader may
not hear is not there for them). Text is checked: one line, at most MAX_CHARS characters, no
control or bidirectional-override characters.

Stale: a proposal whose line or cue is no longer what it was when proposed (another correction of
it was accepted, the OCR was made again) is refused; one whose file changed elsewhere (another line
of the page corrected) is applied to the line, which is still as the proposer saw it.
"""
from __future__ import annotations

import json
import unicodedata
from pathlib import Path

from oral_history import redaction
from oral_history.model import overlaps, redaction_spans
from oral_history.player import readable_interview
from oral_history.service import interview_file, read_interview
from repository import access, premis
from repository.access import User
from repository.errors import RepositoryError
from repository.model import File, Item
from repository.services import NewFile

from .store import Proposal, ProposalStore

MAX_CHARS = 1000  # a line or cue's corrected text
MAX_NOTE = 500
MAX_OPEN = 500  # open proposals one user may have at a time
VOLUNTEERS = frozenset({"member", "researcher"})
REVIEWERS = access.MANAGERS
# Refused in corrected text: control characters (Unicode category Cc) and the bidirectional
# embeddings, overrides and isolates (Unicode UAX #9 §2.1–2.2), which can make text read other than it is.
BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class CorrectionRefused(RepositoryError):
    """Why a proposal or a decision was refused: ``code`` (a message in web/correction_views.py)
    and its ``values``; ``status`` the HTTP status."""

    def __init__(self, code: str, status: int = 400, **values):
        self.code, self.status, self.values = code, status, values
        super().__init__(f"{code} {values}".strip())


def clean(text: str, *, limit: int = MAX_CHARS, field: str = "after") -> str:
    """``text`` NFC-normalised and stripped; refused when too long or holding control characters."""
    text = unicodedata.normalize("NFC", text or "").strip()
    if len(text) > limit:
        raise CorrectionRefused("too_long", field=field, limit=limit)
    if any(unicodedata.category(c) == "Cc" or c in BIDI for c in text):
        raise CorrectionRefused("control", field=field)
    return text


class Corrections:
    """Proposals (``ProposalStore``) and their review on the archive; ``work`` is scratch space
    for saving interviews; ``volunteers``: readers may propose (CORRECTIONS_VOLUNTEERS)."""

    def __init__(self, archive, store: ProposalStore, *, work: Path, volunteers: bool = False, limits=None):
        self.archive, self.store, self.work, self.volunteers, self.limits = archive, store, Path(work), volunteers, limits

    # --- who ------------------------------------------------------------------------------

    def may_propose(self, user: User) -> bool:
        return user.has_role(*access.STAFF) or (self.volunteers and user.has_role(*VOLUNTEERS))

    def may_review(self, user: User) -> bool:
        return user.has_role(*REVIEWERS)

    def _proposer(self, user: User) -> None:
        if user.is_anonymous or not self.may_propose(user):
            raise CorrectionRefused("volunteers_off" if user.has_role(*VOLUNTEERS) else "not_allowed", 403)

    # --- what a user may correct -------------------------------------------------------------

    def ocr_page(self, item_id: str, file_id: str, *, user: User) -> tuple[Item, File, dict, int]:
        """(item, the OCR derivative, its content, the item's version) as ``user`` may read it."""
        record = self.archive.get_item(item_id, user=user)  # NotFound, Gone
        stored = self.archive.open_file(item_id, file_id, user=user)  # NotFound, PermissionDenied
        if stored.file.purpose != "ocr":
            raise CorrectionRefused("not_ocr", 404)
        return record.value, stored.file, json.loads(stored.read()), record.version

    def ocr_pages(self, item: Item, *, user: User) -> list[File]:
        return [f for f in self.archive.visible_files(item, user=user) if f.purpose == "ocr"]

    def transcript(self, item_id: str, *, user: User):
        """(item, [(transcript, [(place, cue)])] of the cues the user may read, the item's version,
        the interview file); PermissionDenied when the user may not hear the recording, and a cue
        in a restricted passage is left out for whoever may not read the full interview."""
        record = self.archive.get_item(item_id, user=user)
        item = record.value
        _, whole = readable_interview(self.archive, item, user=user)  # NotFound, PermissionDenied
        full = read_interview(self.archive, item)
        spans = [] if whole else redaction_spans(full)
        rows = [(t, [(f"t{i}:c{j}", cue) for j, cue in enumerate(t.cues) if whole or not overlaps(cue, spans)])
                for i, t in enumerate(full.transcripts)]
        return item, rows, record.version, interview_file(item)

    def restricted_places(self, item: Item) -> set[str]:
        """The places of the cues in restricted passages (shown as such to those who may read them)."""
        full = read_interview(self.archive, item)
        spans = redaction_spans(full) if full else []
        return {f"t{i}:c{j}" for i, t in enumerate(full.transcripts if full else []) for j, cue in enumerate(t.cues)
                if overlaps(cue, spans)}

    # --- proposing ------------------------------------------------------------------------

    def propose(self, item_id: str, target: str, file_id: str, place: str, after: str, *, user: User,
                version: int, seen: str | None = None, note: str = "") -> Proposal:
        """A proposal of ``after`` for the OCR line or transcript cue at ``place`` of the file
        ``file_id`` read at item ``version``. ``seen``: the text the proposer saw there; when it is
        still the text now, the proposal stands even if the file changed elsewhere since (another
        line corrected); otherwise (or, without ``seen``, when the item changed) it is stale."""
        self._proposer(user)
        after, note = clean(after), clean(note, limit=MAX_NOTE, field="note")
        if not after:
            raise CorrectionRefused("empty")
        if self.store.count(proposer=user.name) >= MAX_OPEN:
            raise CorrectionRefused("too_many", 429, limit=MAX_OPEN)
        if target == "ocr":
            item, file, page, current = self.ocr_page(item_id, self.current_ocr(item_id, file_id, version, user),
                                                      user=user)
            before = _ocr_line(page, place)
        elif target == "transcript":
            item, rows, current, file = self.transcript(item_id, user=user)
            cues = {p: cue for _, cues in rows for p, cue in cues}
            if file is None or place not in cues:  # no such cue, or one in a passage this user may not read
                raise CorrectionRefused("no_place", 404)
            before = cues[place].text
        else:
            raise CorrectionRefused("no_place", 404)
        if (seen.strip() != before) if seen is not None else (current != version or file.id != file_id):
            raise CorrectionRefused("stale", 409)
        if after == before:
            raise CorrectionRefused("unchanged")
        for open_ in self.store.list(item_id=item_id, proposer=user.name):  # the same proposal sent again
            if (open_.target, open_.file_id, open_.place, open_.after) == (target, file.id, place, after):
                return open_
        return self.store.add(Proposal(item_id, target, file.id, place, before, after, current, file.sha256,
                                       user.name, note=note))

    def current_ocr(self, item_id: str, file_id: str, version: int, user: User) -> str:
        """The id of the page's OCR file now: ``file_id``, or the file that replaced it since ``version``."""
        item = self.archive.get_item(item_id, user=user).value
        if item.file(file_id) is not None or not version:
            return file_id  # (or none: ocr_page says there is no such file)
        try:
            past = self.archive.get_item(item_id, user=user, version=version).value.file(file_id)
        except RepositoryError:
            past = None
        now = next((f for f in item.files if past is not None and f.purpose == "ocr"
                    and (f.derived_from, f.sequence) == (past.derived_from, past.sequence)), None)
        if now is None:
            raise CorrectionRefused("stale", 409)
        return now.id

    # --- reviewing ------------------------------------------------------------------------

    def queue(self, *, user: User, state: str = "proposed", limit: int = 200) -> list[tuple[Proposal, Item]]:
        """Proposals of items the reviewer may see, oldest first."""
        if not self.may_review(user):
            raise CorrectionRefused("not_reviewer", 403)
        out = []
        for p in self.store.list(state=state, limit=limit):
            try:
                out.append((p, self.archive.get_item(p.item_id, user=user).value))
            except RepositoryError:  # purged, withdrawn or not for this reviewer
                continue
        return out

    def _reviewable(self, proposal_id: int, user: User) -> tuple[Proposal, object]:
        if not self.may_review(user):
            raise CorrectionRefused("not_reviewer", 403)
        p = self.store.get(proposal_id)
        if p is None:
            raise CorrectionRefused("no_proposal", 404)
        record = self.archive.get_item(p.item_id, user=user)  # NotFound for a reviewer who may not see it
        if p.state != "proposed":
            raise CorrectionRefused("decided", 409, state=p.state)
        if p.proposer == user.name:
            raise CorrectionRefused("own", 403)  # a second person reviews
        return p, record

    def reject(self, proposal_id: int, *, user: User, reason: str = "") -> Proposal:
        p, _ = self._reviewable(proposal_id, user)
        if not self.store.decide(p, state="rejected", reviewer=user.name, reason=clean(reason, limit=MAX_NOTE, field="reason")):
            raise CorrectionRefused("decided", 409, state="?")
        return self.store.get(p.id)

    def accept(self, proposal_id: int, *, user: User) -> Proposal:
        """Write the correction as a new version of the item (refused when stale), then record the decision."""
        p, record = self._reviewable(proposal_id, user)
        item = record.value
        by = f"{p.proposer} (proposed {p.proposed} against version {p.version}), accepted by {user.name}"
        # an OCR line's words go with its page's event (left out for whoever may not see the page); a
        # transcript cue's stay out of it: staff who may not read a restricted passage see the events
        words = f": {p.before!r} → {p.after!r}" if p.target == "ocr" else ""
        event = premis.event("modification", f"correction #{p.id} of {p.target} {p.place}{words}",
                             user=user.name, outcome_detail=by)
        why = f"校对 #{p.id}（{p.proposer}）"
        if p.target == "ocr":
            new = self._accept_ocr(p, item, record.version, user, event, why)
        else:
            new = self._accept_transcript(p, item, record.version, user, event, why)
        self.store.decide(p, state="accepted", reviewer=user.name, result_version=new)
        return self.store.get(p.id)

    def _accept_ocr(self, p: Proposal, item: Item, version: int, user: User, event: dict, why: str) -> int:
        old = item.file(p.file_id)
        if old is None:  # replaced since: the page's OCR file now (same original and page)
            old = next((f for f in item.files if f.purpose == "ocr" and self._same_page(item, p, f, user)), None)
        if old is None:
            raise CorrectionRefused("stale", 409)
        page = json.loads(self.archive.file_reader(item.id)(old))
        if _ocr_line(page, p.place) != p.before:
            raise CorrectionRefused("stale", 409)
        line = page["lines"][int(p.place)]
        line["text"] = p.after
        line["chars"] = _chars(p.after, line)
        line["uncertain"] = 0
        line.setdefault("corrections", []).append(
            {"proposal": p.id, "by": p.proposer, "proposed": p.proposed, "accepted_by": user.name,
             "accepted": premis.now(), "before": p.before, "after": p.after, "against_version": p.version})
        page["text"] = "\n".join(line["text"] for line in page["lines"])
        tech = {**old.tech, "lines": len(page["lines"]), "characters": sum(len(x["text"]) for x in page["lines"]),
                "uncertain": sum(x.get("uncertain", 0) for x in page["lines"]),
                "corrected": sum(bool(x.get("corrections")) for x in page["lines"])}
        text = next((f for f in item.derivatives(old.derived_from) if f.purpose == "text"
                     and f.media_type == "text/plain" and f.sequence == old.sequence), None)
        add = [self._replacement(old, json.dumps(page, ensure_ascii=False).encode(), tech)]
        if text is not None:
            add.append(self._replacement(text, page["text"].encode(), tech))
        event["files"] = [old.derived_from]
        record = self.archive.update_item(item.id, {}, expected_version=version, user=user, why=why, add_files=add,
                                          remove_files=[old.id] + ([text.id] if text else []), events=[event])
        return record.version

    def _same_page(self, item: Item, p: Proposal, f: File, user: User) -> bool:
        """Whether ``f`` is the OCR of the page the proposal's file was of (from its past version)."""
        past = self.archive.get_item(item.id, user=user, version=p.version).value.file(p.file_id)
        return past is not None and (f.derived_from, f.sequence) == (past.derived_from, past.sequence)

    @staticmethod
    def _replacement(old: File, data: bytes, tech: dict) -> NewFile:
        return NewFile(old.path.rsplit("/", 1)[-1], data, old.media_type, old.sequence, role="derivative",
                       label=old.label, access=old.access, derived_from=old.derived_from, purpose=old.purpose,
                       tech=tech)

    def _accept_transcript(self, p: Proposal, item: Item, version: int, user: User, event: dict, why: str) -> int:
        full = read_interview(self.archive, item)
        t, c = _place(p.place)
        try:
            cue = full.transcripts[t].cues[c]
        except (AttributeError, IndexError, TypeError):
            raise CorrectionRefused("stale", 409) from None
        if cue.text != p.before:
            raise CorrectionRefused("stale", 409)
        cue.text = p.after
        record = redaction.save(self.archive, item.id, full, user=user, expected_version=version, why=why,
                                work=self.work / item.id, events=[event], **({"limits": self.limits} if self.limits else {}))
        return record.version

    # --- credits --------------------------------------------------------------------------

    def credits(self, item_id: str) -> list[tuple[str, int]]:
        return self.store.credits(item_id)


def _place(place: str) -> tuple[int, int]:
    try:
        t, c = place.split(":")
        return int(t.removeprefix("t")), int(c.removeprefix("c"))
    except (ValueError, AttributeError):
        raise CorrectionRefused("no_place", 404) from None


def _ocr_line(page: dict, place: str) -> str:
    try:
        n = int(place)
        if n < 0:
            raise IndexError
        return page["lines"][n]["text"]
    except (ValueError, IndexError, KeyError, TypeError):
        raise CorrectionRefused("no_place", 404) from None


def _chars(text: str, line: dict) -> list[dict]:
    """Character boxes for corrected text: the old boxes where the length is the same, else the line's
    box cut evenly along its direction (as ingest.steps.ocr does where the engine does not tell)."""
    old = line.get("chars") or []
    if len(old) == len(text):
        return [{**box, "text": ch, "uncertain": False} for box, ch in zip(old, text)]
    x, y, w, h = line["box"]
    n, out = max(len(text), 1), []
    for i, ch in enumerate(text):
        if line.get("vertical"):
            out.append({"text": ch, "box": [x, y + h * i // n, w, h // n], "uncertain": False})
        else:
            out.append({"text": ch, "box": [x + w * i // n, y, w // n, h], "uncertain": False})
    return out
