"""``/oai``: the OAI-PMH 2.0 endpoint (alliance.oai). GET and POST (application/x-www-form-urlencoded,
§3.1.1.2); every answer, errors included, is 200 text/xml (§3.1.2.1)."""
from __future__ import annotations

import gzip

from flask import Blueprint, Response, current_app, g, request, url_for

from alliance import oai as protocol

from .context import current_user, jobs, oai

bp = Blueprint("oai", __name__)


def links() -> protocol.Links:
    return protocol.Links(
        page=lambda item_id: url_for("public.item", item_id=item_id, _external=True),
        manifest=lambda item_id: url_for("iiif_presentation.manifest", item_id=item_id, _external=True),
        file=lambda item_id, file_id: url_for("public.file", item_id=item_id, file_id=file_id, _external=True))


@bp.route("/oai", methods=["GET", "POST"])
def endpoint():
    user = current_user()  # a refused Bearer token is answered 401 before anything else
    pairs = list(request.args.items(multi=True))
    if request.method == "POST":
        pairs += list(request.form.items(multi=True))
    settings = current_app.config["FANGZHI"]
    harvest = protocol.Harvest(
        user=protocol.harvester(user, bearer=bool(g.get("fz_token"))),
        base_url=url_for("oai.endpoint", _external=True),
        # with BASE_URL set, the request's host is BASE_URL's (web.address): never a client's choice
        repository_id=settings["OAI_REPOSITORY_IDENTIFIER"] or request.host.lower(),
        secret=current_app.config["SECRET_KEY"].encode(), links=links(),
        unfinished=frozenset(jobs().unfinished()))  # ids only: items never stored are in no list anyway
    body = oai().respond(pairs, harvest)
    response = Response(content_type="text/xml; charset=utf-8")
    if "gzip" in request.accept_encodings:  # §3.1.3: the compression Identify announces
        body = gzip.compress(body, compresslevel=5)
        response.headers["Content-Encoding"] = "gzip"
    response.set_data(body)
    response.vary.add("Accept-Encoding")
    response.headers["Cache-Control"] = "no-cache"
    return response
