"""The official IIIF Image API validator (PyPI iiif-validator), version 3.0 at level 2, against
the app served over HTTP on 127.0.0.1, with the official test image ingested through the real
pipeline under its official identifier.

Every validator test of level 0–2 for 3.0 runs (one pytest case each), plus the level 3 tests of
features this server offers (arbitrary rotation, mirroring, the Link headers). Not run: level 3
tests of formats we do not make (tif, gif, jp2, pdf, whose 501 the validator counts as failure;
its webp test cannot run on Python 3: it calls urllib.urlopen) and size_up, whose ^max check
expects the image's own size where the spec says ^max scales up to maxWidth/maxArea.
"""
import threading

import pytest
from werkzeug.serving import make_server

from tests.helpers import conformance
from tests.web.test_iiif_image import ingest

validator = pytest.importorskip("iiif_validator.validator")

IDENTIFIER = "67352ccc-d1b0-11e1-89ae-279075081939"
EXTRA = ["rot_full_non90", "rot_region_non90", "rot_mirror", "rot_mirror_180", "linkheader_canonical",
         "linkheader_profile"]
TESTS = sorted(name for name, info in validator.TestSuite(validator.ValidationInfo()).list_tests("3.0").items()
               if info["level"] <= 2) + EXTRA


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from web import create_app

    image = conformance(f"iiif/{IDENTIFIER}.png")
    app = create_app({"DATA_DIR": str(tmp_path_factory.mktemp("validator")), "SECRET_KEY": "t"})
    ingest(app, [{"id": IDENTIFIER, "files": {"scan": image}}])
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{http.server_port}"
    http.shutdown()
    thread.join(5)


def test_the_level_2_tests_are_all_here():
    assert len(TESTS) >= 35 and {"info_json", "id_squares", "size_noup", "quality_bitonal", "cors",
                                 "jsonld", "baseurl_redirect", "region_square"} <= set(TESTS)


@pytest.mark.parametrize("name", TESTS)
def test_official_validator(server, name):
    result = validator.ImageAPI(IDENTIFIER, server, "iiif/3", "http", "", "3.0", debug=False)
    validator.TestSuite(validator.ValidationInfo()).run_test(name, result)
    e = result.exception
    assert e is None, f"{name}: {e} (urls {result.urls})"
