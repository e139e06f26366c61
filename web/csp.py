"""The Content-Security-Policy of the site's pages (set on every response by ``create_app``) and
of the item page with the viewer (``public``), and the other headers every answer carries."""

# Content-Security-Policy: only our own scripts, styles and frames; images also from IIIF servers.
CSP = ("default-src 'self'; img-src 'self' data: https:; media-src 'self'; script-src 'self'; "
       "style-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'")
# The item page's viewer (Mirador: React with Emotion) sets its styles inline; scripts stay self-hosted.
VIEWER_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")

VARY = ("Cookie", "Authorization")  # every answer may depend on who asks


def security_headers(settings: dict) -> list[tuple[str, str]]:
    """The headers every answer carries (``create_app``, the IIIF fast path), besides its
    Content-Security-Policy (CSP unless a view sets its own) and Vary (VARY, added to the view's)."""
    headers = [("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "SAMEORIGIN"),
               ("Referrer-Policy", "strict-origin-when-cross-origin")]
    if settings["HTTPS"]:
        headers.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
    return headers
