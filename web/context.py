"""Request context helpers shared by the blueprints."""
from __future__ import annotations

from flask import current_app

from repository.access import User
from repository.services import Archive


def archive() -> Archive:
    return current_app.extensions["fangzhi"]


def search():
    """The search service (search.service.Search)."""
    return current_app.extensions["fangzhi.search"]


def current_user() -> User:
    """The user making the request (token, session or anonymous): see web.auth."""
    from .auth import request_user

    return request_user()


def page_size() -> int:
    return current_app.config["FANGZHI"]["PAGE_SIZE"]
