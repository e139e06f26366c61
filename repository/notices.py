"""Notices: what a reader or an ingest step skipped or changed, kept as data — the file, the line,
a message code and its values — so each user reads it in their interface language (the messages
are in ``web/notices.py``; English through the interface's catalogue). Transcript readers, the
OHMS reader and ingest make them; the job report and the interview editor show them."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Notice:
    """``code`` names the message; ``args`` hold its values: text and numbers, or a nested
    notice's dict (``{"code": …, "args": …}``) for a part of the message that is itself one."""
    file: str | None
    line: int | None
    code: str
    args: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Notice:
        return cls(data.get("file"), data.get("line"), data["code"], dict(data.get("args") or {}))


def part(code: str, **args) -> dict:
    """A nested part of a notice's message (a reason, a word such as "start")."""
    return {"code": code, "args": args}
