"""Staff editing of an interview at /admin/items/<id>/interview: upload a transcript or OHMS file,
edit speakers, summary and the segment index (restricted segments are silenced in the public
copy: every save goes through ``oral_history.redaction.save``), and, with a speech recognizer
configured, make a draft transcript."""
from __future__ import annotations


from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ingest.safety import safe_filename
from media import MediaError
from oral_history import asr, attach, formats, redaction, transcript_files
from oral_history.model import MAX_SEGMENTS, Agent, Interview, Segment
from oral_history.service import interview_file, media_duration, read_interview, recording
from oral_history.timecodes import OralHistoryError, TranscriptError, clock, parse_clock
from repository.errors import Conflict, ValidationError
from repository.model import best

from . import item_form, notices
from .admin import require
from .context import archive, current_user, fangzhi
from .uploads import upload_route

bp = Blueprint("interviews", __name__, url_prefix="/admin")


def _settings() -> dict:
    return current_app.config["FANGZHI"]


@bp.route("/items/<item_id>/interview", methods=["GET", "POST"])
@require("admin", "archivist")
@upload_route(max_bytes=formats.MAX_BYTES + 1024 * 1024)  # a transcript and the form
def edit(item_id):
    record = archive().get_item(item_id, user=current_user())
    item = record.value
    if recording(item) is None:
        abort(404, description=_("该藏品没有音频或视频录音。"))
    interview = read_interview(archive(), item) or Interview()
    problems, status = [], 200
    if request.method == "POST":
        action = request.form.get("action", "save")
        saving = dict(user=current_user(), expected_version=request.form.get("version", type=int) or 0,
                      why=request.form.get("why", ""), work=fangzhi().work_dir / item_id,
                      limits=fangzhi().limits)
        warnings: list = []  # Notices
        try:
            if action == "upload":
                transcript_files.store(archive(), item, interview, [_upload()], warnings=warnings,
                                       ohms_schema=_settings()["OHMS_SCHEMA"] or None, **saving)
            else:
                redaction.save(archive(), item_id, _change(action, item, interview, warnings), **saving)
            flash(_("已保存。"))
            for warning in warnings:  # what the reader skipped (as a browser would) or changed
                flash(_("注意：%(warning)s", warning=notices.render(warning)))
            return redirect(url_for("interviews.edit", item_id=item_id))
        except TranscriptError as exc:
            problems, status = [(f"{exc.name} line {line}" if line else exc.name, p) for line, p in exc.problems], 400
        except ValidationError as exc:
            problems, status = exc.problems, 400
        except Conflict as exc:
            problems, status = [(_("版本冲突"), str(exc))], 409
        except (MediaError, OralHistoryError) as exc:
            problems, status = [(action, str(exc))], 400
    files = [f for f in item.files if f.purpose == "transcript-source"]
    return render_template("admin/interview.html", item=item, version=record.version, interview=interview,
                           clock=clock, best=best, langs=item_form.langs, sources=files, problems=problems,
                           restricted=redaction.current_spans(item), duration=media_duration(item),
                           has_interview=interview_file(item) is not None,
                           recognizer=bool(_settings()["SPEECH_RECOGNIZER"])), status


def _upload() -> tuple[str, bytes]:
    """The uploaded transcript or OHMS file: (its name, its bytes)."""
    upload = request.files.get("transcript")
    if not upload or not upload.filename:
        raise ValidationError([("transcript", _("请选择一个转录稿或 OHMS 文件。"))])
    name = safe_filename(upload.filename)
    if attach.recording_name(name) is None:
        raise ValidationError([(name, _("不是转录稿：请上传 .vtt、.srt、.txt 或 OHMS .xml 文件。"))])
    data = upload.stream.read(formats.MAX_BYTES + 1)
    if not data or len(data) > formats.MAX_BYTES:
        raise ValidationError([(name, _("文件为空或过大。"))])
    return name, data


def _change(action: str, item, interview: Interview, warnings: list) -> Interview:
    """The interview as the form changes it (what a draft left out: ``warnings``)."""
    if action == "draft":
        return _draft(item, interview, warnings)
    return _edited(interview, request.form)


def _draft(item, interview: Interview, warnings: list) -> Interview:
    """A draft transcript from the configured speech recognizer (the archivist corrects it)."""
    recognizer = fangzhi().recognizer
    if recognizer is None:
        abort(404)
    if interview.transcripts:
        raise ValidationError([("transcripts", _("已有转录稿；草稿只为没有转录稿的访谈生成。"))])
    stored = archive().open_file(item.id, recording(item).id, user=current_user())
    language = (interview.languages or item.language or ["zh"])[0]
    changed = Interview.from_dict(interview.to_dict())
    with stored.local_path(dir=fangzhi().work_dir) as path:
        changed.transcripts.append(asr.draft_transcript(recognizer, path, language=language,
                                                        duration=media_duration(item), warnings=warnings))
    changed.languages = list(dict.fromkeys(changed.languages + [language]))
    return changed


def _lines(text: str) -> list[str]:
    """One value a line (names and keywords may hold commas: "Smith, John")."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def _agents(old: list[Agent], text: str, role: str) -> list[Agent]:
    """One speaker a line; a name already there keeps its other languages, aliases and id."""
    by_name = {best(a.name): a for a in old}
    return [by_name.get(name) or Agent(attach.name_map(name), role=role) for name in _lines(text)]


def _edited(interview: Interview, form) -> Interview:
    """Speakers, summary and segments from the edit form (segments-<i>-start/title/synopsis/
    keywords/restricted/remove; rows past the existing segments add new ones)."""
    changed = Interview.from_dict(interview.to_dict())
    changed.interviewees = _agents(interview.interviewees, form.get("interviewees", ""), "interviewee")
    changed.interviewers = _agents(interview.interviewers, form.get("interviewers", ""), "interviewer")
    changed.summary = item_form.langmap(form, "summary_", interview.summary)  # other languages stay
    segments, problems = [], []
    rows = form.get("segments", type=int) or 0
    if rows > MAX_SEGMENTS + 1:  # checked before the rows are read (the form adds one blank row)
        most = f"{MAX_SEGMENTS:,}"
        raise ValidationError([("segments", _("片段太多：一次访谈最多 %(most)s 个片段。", most=most))])
    for i in range(rows):
        field = lambda name: form.get(f"segments-{i}-{name}", "").strip()  # noqa: E731
        if field("remove") or not (field("start") or field("title")):
            continue
        start = parse_clock(field("start") or "")
        if start is None:
            problems.append((f"segments[{i}].start", _("“%(value)s”不是时间（如 00:04:30 或 270）", value=field("start"))))
            continue
        segment = changed.segments[i] if i < len(changed.segments) else Segment(start=start)
        segment.start, segment.title, segment.synopsis = start, field("title"), field("synopsis")
        segment.keywords = _lines(field("keywords").replace("；", "\n").replace(";", "\n"))  # OHMS's separator
        segment.restricted = bool(field("restricted"))
        segments.append(segment)
    if problems:
        raise ValidationError(problems)
    changed.segments = sorted(segments, key=lambda s: s.start)
    return changed
