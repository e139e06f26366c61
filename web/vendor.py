"""Browser libraries installed by `npm ci` (package-lock.json), served from this site: nothing is
loaded from a CDN. Only the files listed here are served (setting VIEWER_ASSETS: their folder)."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, send_from_directory

bp = Blueprint("vendor", __name__)

# package → (its folder inside node_modules, the files pages may load)
VENDOR = {
    "leaflet": ("leaflet/dist", {"leaflet.js", "leaflet.css", "images/marker-icon.png", "images/marker-icon-2x.png",
                                 "images/marker-shadow.png", "images/layers.png", "images/layers-2x.png"}),
    "echarts": ("echarts/dist", {"echarts.min.js"}),
    "openseadragon": ("openseadragon/build/openseadragon", {"openseadragon.min.js"}),
    "swagger-ui-dist": ("swagger-ui-dist", {"swagger-ui-bundle.js", "swagger-ui.css"}),  # the /api/docs page
}


def node_modules() -> Path:
    return Path(current_app.config["FANGZHI"]["VIEWER_ASSETS"] or Path(__file__).resolve().parents[1] / "node_modules")


@bp.get("/vendor/<package>/<path:name>")
def asset(package, name):
    folder, files = VENDOR.get(package, (None, ()))
    if name not in files:
        abort(404)
    return send_from_directory(node_modules() / folder, name, max_age=86400)
