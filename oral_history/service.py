"""Interviews stored with their items, read through the one access policy.

An interview's data (the ``Interview``: speakers, transcripts, segments) is the item's supplement
file ``supplements/interview.json`` (purpose "interview"), staff-only because it holds restricted
passages; the transcript files it was read from are kept byte for byte beside it (purpose
"transcript-source", staff-only too). Readers who may not see that file get ``public_view``:
restricted passages never leave this module for them.
"""
from __future__ import annotations

import hashlib
import json

from repository import access
from repository.access import User
from repository.model import File, Item, best
from repository.services import NewFile
from search.documents import LEVELS, Contribution, strictest

from .model import Interview, public_view, redaction_spans, search_passages

INTERVIEW = "interview.json"


def recording(item: Item) -> File | None:
    """The item's first audio or video original."""
    return next((f for f in item.originals if f.media_type.startswith(("audio/", "video/"))), None)


def interview_file(item: Item) -> File | None:
    return next((f for f in item.files if f.role == "supplement" and f.purpose == "interview"), None)


def media_duration(item: Item) -> float | None:
    rec = recording(item)
    return (rec.tech or {}).get("duration") if rec else None


def read_interview(archive, item: Item) -> Interview | None:
    """The whole interview, restricted passages included (for staff views and derived indexes)."""
    f = interview_file(item)
    if f is None:
        return None
    return Interview.from_dict(json.loads(archive.file_reader(item.id)(f)))


def load_interview(archive, item: Item, *, user: User) -> tuple[Interview | None, bool]:
    """(the interview as ``user`` may read it, whether that is the full one)."""
    full = read_interview(archive, item)
    if full is None:
        return None, False
    if access.can_view_file(user, item, interview_file(item), today=archive.today()):
        return full, True
    return public_view(full), False


def save_interview(archive, item_id: str, interview: Interview, *, user: User, expected_version: int,
                   why: str = "", sources: list[NewFile] = (), add_files: list[NewFile] = (),
                   remove_files: list[str] = (), events=()):
    """Store ``interview`` (checked against the recording's duration) as a new version of the item,
    with the transcript files it came from (and ``add_files``/``remove_files``, e.g. redacted
    copies, in the same version; ``events``: its PREMIS events). Nothing changes if it is invalid. Callers go through
    ``oral_history.redaction.save``, which keeps the redacted copies in step."""
    record = archive.get_item(item_id, user=user)
    item = record.value
    duration = media_duration(item)
    if interview.duration is None and duration:
        interview.duration = duration
    interview.validate(duration=duration)
    old = interview_file(item)
    data = json.dumps(interview.to_dict(), ensure_ascii=False, indent=1).encode()
    if (old is not None and old.sha256 == hashlib.sha256(data).hexdigest() and record.version == expected_version
            and not sources and not add_files and not remove_files and not events):
        return record  # the same interview (a form saved as it was): no new version
    # tech.redactions lets the access policy close the recording until its redacted copies exist
    new = [NewFile(INTERVIEW, data, "application/json", role="supplement", purpose="interview", access="staff",
                   tech={"redactions": len(redaction_spans(interview))})]
    names = {source.name for source in sources}
    replaced = [f.id for f in item.files if f.role == "supplement"
                and (f is old or (f.purpose == "transcript-source" and f.path.rsplit("/", 1)[-1] in names))]
    for source in sources:
        source.role, source.purpose, source.access = "supplement", "transcript-source", "staff"
    return archive.update_item(item_id, {}, expected_version=expected_version, user=user, why=why,
                               add_files=new + list(sources) + list(add_files),
                               remove_files=replaced + list(remove_files), events=events)


def hearing_level(item: Item) -> str | None:
    """The least restriction (beyond the item's) under which the recording or an access copy of it
    can be heard (``player.audible``): who may read its interview, as the exports and the page
    decide. None: whoever may see the item."""
    rec = recording(item)
    if rec is None:
        return "staff"  # no recording to hear: the interview is in interview.json alone
    levels = [strictest(*access.file_levels(item, f)) for f in [rec, *item.derivatives(rec.id, "access")]]
    return min(levels, key=lambda level: -1 if level is None else LEVELS.index(level))


def interview_search(archive, item: Item) -> Contribution:
    """The search contributor of oral history (``search.service.Search``): the interview's
    passages (cues and segments with their times), its facet values (interviewees, interviewers,
    place of recording, languages and dialects) and the level they are at: that of the recording
    (``hearing_level``), restricted words for staff."""
    interview = read_interview(archive, item)
    if interview is None:
        return Contribution()
    rec, level = recording(item), hearing_level(item)
    people = [best(a.name) for a in interview.interviewees]
    facets = {"interviewee": people, "person": people + [best(a.name) for a in interview.interviewers],
              "place_name": [best(interview.place.name)] if interview.place else [],
              "language": list(interview.languages)}
    return Contribution(search_passages(interview, file_id=rec.id if rec else None, access=level), facets, level)
