"""Reading an item: its scans for the phone viewer and the no-script fallback (IIIF Image API
``srcset``), the OCR text beside each page, and the e-book reader. Thin: the canvases and their
text come from iiif/ (the files the user may see)."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint

from iiif import canvases

from .context import archive, current_user

bp = Blueprint("reader", __name__)
WIDTHS = (400, 800, 1200, 1600, 2400)  # srcset candidates (never wider than the image)


@dataclass(frozen=True)
class Scan:
    """A page image through the IIIF Image API (3.0 §4.2 size ``w,``)."""
    n: int
    key: str
    label: dict
    service: str  # the image's base URI; + /info.json for OpenSeadragon
    width: int
    height: int

    def url(self, width: int | None = None) -> str:
        return f"{self.service}/full/{f'{width},' if width else 'max'}/0/default.jpg"

    @property
    def srcset(self) -> str:
        if not self.width:  # size unknown: only the image as it is (no upscaling, §4.2)
            return f"{self.url()} 1000w"
        widths = [w for w in WIDTHS if w < self.width] + [self.width]
        return ", ".join(f"{self.url(w)} {w}w" for w in widths)


@bp.app_template_global()
def scans(item) -> list[Scan]:
    """The item's page images (pyramids) this user may see, in canvas order."""
    from .iiif_presentation import links

    files = canvases.visible(archive(), item, user=current_user())
    pages = [p for p in canvases.plan(archive(), item, files, user=current_user())
             if p.image is not None and p.image.purpose == "pyramid"]
    out = []
    for n, page in enumerate(pages, 1):
        width, height = page.image.tech.get("width") or 0, page.image.tech.get("height") or 0
        out.append(Scan(n, page.key, page.label, links().image_service(item.id, page.image), width, height))
    return out
