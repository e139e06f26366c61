"""Request context helpers shared by the blueprints."""
from __future__ import annotations

from flask import current_app

from repository.access import User
from repository.services import Archive, item_object


def archive() -> Archive:
    return current_app.extensions["fangzhi"]


def search():
    """The search service (search.service.Search)."""
    return current_app.extensions["fangzhi.search"]


def jobs():
    """The ingest job store (ingest.jobs.JobStore)."""
    return current_app.extensions["fangzhi.jobs"]


def unfinished_ingest(item_ids: list[str] | None) -> dict:
    """Item id → its unfinished ingest entry, for the items of ``item_ids`` (None: all) that were
    stored: what staff see as an incomplete item (issue 11 #2)."""
    return {i: e for i, e in jobs().unfinished(item_ids).items() if archive().objects.exists(item_object(i))}


def current_user() -> User:
    """The user making the request (token, session or anonymous): see web.auth."""
    from .auth import request_user

    return request_user()


def page_size() -> int:
    return current_app.config["FANGZHI"]["PAGE_SIZE"]
