"""Request context helpers shared by the blueprints."""
from __future__ import annotations

from flask import current_app

from alliance.members import Members
from alliance.oai import Provider
from authority.service import Authorities
from fangzhi.bootstrap import Fangzhi
from ingest.jobs import JobStore
from repository.access import User
from repository.services import Archive, item_object
from search.service import Search


def fangzhi() -> Fangzhi:
    """This app's services and backends, built once by the composition root (fangzhi.bootstrap)."""
    return current_app.extensions["fangzhi"]


def archive() -> Archive:
    return fangzhi().archive


def search() -> Search:
    return fangzhi().search


def authorities() -> Authorities:
    """The authority file (authority.service)."""
    return fangzhi().authorities


def members() -> Members:
    """The alliance's member libraries (alliance.members)."""
    return fangzhi().members


def oai() -> Provider:
    return fangzhi().oai


def jobs() -> JobStore:
    return fangzhi().jobs


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
