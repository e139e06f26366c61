"""The Content-Security-Policy of the site's pages (set on every response by ``create_app``) and
of the item page with the viewer (``public``)."""

# Content-Security-Policy: only our own scripts, styles and frames; images also from IIIF servers.
CSP = ("default-src 'self'; img-src 'self' data: https:; media-src 'self'; script-src 'self'; "
       "style-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'")
# The item page's viewer (Mirador: React with Emotion) sets its styles inline; scripts stay self-hosted.
VIEWER_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
