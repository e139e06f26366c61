"""IIIF Image API 3.0 parameters: every form parses, canonical forms (§4.8), errors and statuses."""
import pytest

from iiif.image import (ImageRequest, ImageRequestError, Limits, NotImplementedFeature, Region, Rotation, Size,
                        parse_format, parse_quality)

LIMITS = Limits(10000, 10000, 50_000_000)


def canonical(region="full", size="max", rotation="0", qf="default.jpg", w=1000, h=800, limits=LIMITS):
    return ImageRequest.parse(region, size, rotation, qf, width=w, height=h, limits=limits).canonical


@pytest.mark.parametrize("text, box", [
    ("full", (0, 0, 1000, 800)),
    ("square", (100, 0, 800, 800)),  # centred on the longer side
    ("10,20,30,40", (10, 20, 30, 40)),
    ("900,700,500,500", (900, 700, 100, 100)),  # cropped at the edges (§4.1)
    ("pct:10,25,50,50", (100, 200, 500, 400)),
    ("pct:0.5,0,10.25,100", (5, 0, 103, 800)),  # halves round up
])
def test_regions(text, box):
    assert Region.parse(text).box(1000, 800) == box


@pytest.mark.parametrize("text", ["", "ful", "1,2,3", "1,2,3,4,5", "-1,0,10,10", "1.5,0,10,10", "pct:1,2,3",
                                  "pct:-1,0,10,10", "pct:1e2,0,1,1", "Full", "square ", "0,0,10,10;"])
def test_malformed_regions(text):
    with pytest.raises(ImageRequestError) as exc:
        Region.parse(text)
    assert exc.value.status == 400 and "region" in str(exc.value)


@pytest.mark.parametrize("text", ["0,0,0,10", "0,0,10,0", "1000,0,10,10", "0,800,10,10", "pct:100,0,10,10"])
def test_empty_or_outside_regions(text):
    with pytest.raises(ImageRequestError):
        Region.parse(text).box(1000, 800)


@pytest.mark.parametrize("text, size", [
    ("max", (500, 400)), ("250,", (250, 200)), (",200", (250, 200)), ("pct:50", (250, 200)),
    ("100,100", (100, 100)), ("!100,100", (100, 80)), ("!1000,200", (250, 200)),
    ("^max", (7905, 6324)), ("^1000,", (1000, 800)), ("^,1000", (1250, 1000)), ("^pct:200", (1000, 800)),
    ("^600,600", (600, 600)), ("^!1000,1000", (1000, 800)), ("^!250,1000", (250, 200)), ("^250,", (250, 200)),
])
def test_sizes(text, size):
    assert Size.parse(text).resolve(500, 400, LIMITS) == size


@pytest.mark.parametrize("text", ["501,", ",401", "pct:101", "501,10", "10,401", "!600,600"])
def test_upscaling_needs_the_caret(text):
    with pytest.raises(ImageRequestError, match=r"\^ prefix"):
        Size.parse(text).resolve(500, 400, LIMITS)


@pytest.mark.parametrize("text", ["full", "", ",", "0,", ",0", "0,0", "pct:0", "!100,", "!,100", "pct:", "max,",
                                  "^", "^^max", "10,10,", "-10,", "1.5,", "pct:-5", "!^100,100", "w,h"])
def test_malformed_sizes(text):
    with pytest.raises(ImageRequestError) as exc:
        Size.parse(text)
    assert exc.value.status == 400


def test_limits_shrink_max_and_refuse_larger_sizes():
    small = Limits(400, 300, 100_000)
    assert Size.parse("max").resolve(1000, 800, small) == (353, 282)  # maxArea binds: 353 × 282 ≤ 100000
    assert Size.parse("max").resolve(1000, 200, Limits(400, 300, 10**9)) == (400, 80)
    assert Size.parse("^max").resolve(100, 100, small) == (300, 300)
    for text in ("401,", ",301", "400,300"):
        with pytest.raises(ImageRequestError, match="limits"):
            Size.parse(text).resolve(1000, 800, small)


@pytest.mark.parametrize("region, size, rotation", [
    ("0,0,1,1", "^max", "45"), ("full", "^max", "45"), ("full", "max", "45"), ("0,0,2,2", "^max", "33"),
    ("pct:0,0,0.1,0.1", "^max", "45"), ("square", "^max", "10"), ("0,0,1000,1", "^max", "30"),
    ("full", "max", "90"), ("full", "^max", "!270"), ("10,10,3,700", "^max", "0.5"),
])
def test_limits_bind_the_rotated_image(region, size, rotation):
    """§5.2's maxWidth/maxHeight/maxArea hold for the image as returned: a rotated max shrinks so
    its bounding box fits (a 1 × 1 region at ^max/45 made 10000 × 10000 pixels, twice maxArea)."""
    from iiif.image import rotated

    for limits in (LIMITS, Limits(4000, 3000, 5_000_000), Limits(10000, 10000, 50_000_000, 2.0)):
        req = ImageRequest.parse(region, size, rotation, "default.png", width=1000, height=800, limits=limits)
        w, h = rotated(*req.size, req.rotation)
        assert w <= limits.max_width and h <= limits.max_height and w * h <= limits.max_area, (limits, req)
    req = ImageRequest.parse("0,0,1,1", "^max", "45", "default.png", width=1000, height=800, limits=LIMITS)
    assert req.size == (4999, 4999) and rotated(*req.size, req.rotation) == (7070, 7070)  # within maxArea 50 M
    assert req.canonical == "0,0,1,1/^max/45/default.png"


def test_explicit_sizes_are_refused_when_their_rotation_passes_the_limits():
    assert Size.parse("7000,7000").resolve(8000, 8000, LIMITS) == (7000, 7000)  # 49 M pixels upright
    with pytest.raises(ImageRequestError, match="once rotated"):
        Size.parse("7000,7000").resolve(8000, 8000, LIMITS, Rotation(45))  # 9900 × 9900 turned
    assert Size.parse("7000,7000").resolve(8000, 8000, LIMITS, Rotation(90)) == (7000, 7000)


def test_upscaling_is_bounded_by_a_factor_of_the_region():
    limits = Limits(10000, 10000, 50_000_000, 2.0)
    assert Size.parse("^max").resolve(1, 1, limits) == (2, 2)
    assert Size.parse("^max").resolve(500, 400, limits) == (1000, 800)
    assert Size.parse("^200,").resolve(100, 100, limits) == (200, 200)
    for text in ("^201,", "^,300", "^pct:250", "^7000,7000", "^!7000,7000"):
        with pytest.raises(ImageRequestError, match="upscales at most 2 times"):
            Size.parse(text).resolve(100, 100, limits)
    assert canonical("0,0,1,1", "^max", limits=limits) == "0,0,1,1/^max/0/default.jpg"
    assert canonical("0,0,1,1", "^2,2", limits=limits) == "0,0,1,1/^max/0/default.jpg"


@pytest.mark.parametrize("text, degrees, mirror, canon", [
    ("0", 0, False, "0"), ("90", 90, False, "90"), ("!0", 0, True, "!0"), ("22.5", 22.5, False, "22.5"),
    ("22.50", 22.5, False, "22.5"), ("180.0", 180, False, "180"), ("360", 360, False, "360"),
    ("!345.125", 345.125, True, "!345.125"), ("0.5", 0.5, False, "0.5"), (".5", 0.5, False, "0.5"),
])
def test_rotations(text, degrees, mirror, canon):
    r = Rotation.parse(text)
    assert (r.degrees, r.mirror, r.canonical) == (degrees, mirror, canon)


@pytest.mark.parametrize("text", ["", "-90", "361", "!", "!!90", "90!", "1e2", "+90", "abc", "90deg", "360.1"])
def test_malformed_rotations(text):
    with pytest.raises(ImageRequestError, match="rotation"):
        Rotation.parse(text)


def test_quarter_turns():
    assert [Rotation.parse(t).quarter_turns for t in ("0", "90", "180", "270", "360", "45")] == [0, 1, 2, 3, 0, None]


def test_qualities_and_formats():
    assert [parse_quality(q) for q in ("default", "color", "gray", "bitonal")]
    for bad in ("grey", "Default", "native", ""):
        with pytest.raises(ImageRequestError, match="quality"):
            parse_quality(bad)
    assert [parse_format(f) for f in ("jpg", "png", "webp")] == ["jpg", "png", "webp"]
    for unsupported in ("tif", "gif", "jp2", "pdf"):  # valid IIIF, not made here: 501
        with pytest.raises(NotImplementedFeature) as exc:
            parse_format(unsupported)
        assert exc.value.status == 501
    for bad in ("jpeg", "JPG", "bmp", "x"):
        with pytest.raises(ImageRequestError) as exc:
            parse_format(bad)
        assert exc.value.status == 400


@pytest.mark.parametrize("args, canon", [
    (("full", "max"), "full/max/0/default.jpg"),
    (("square", "max"), "100,0,800,800/max/0/default.jpg"),
    (("0,0,1000,800", "1000,800"), "full/max/0/default.jpg"),  # the same image: the same canonical URI
    (("pct:0,0,100,100", "pct:100"), "full/max/0/default.jpg"),
    (("0,0,2000,2000", "max"), "full/max/0/default.jpg"),
    (("full", "500,"), "full/500,400/0/default.jpg"),
    (("full", "!500,500"), "full/500,400/0/default.jpg"),
    (("10,10,100,100", "^200,"), "10,10,100,100/^200,200/0/default.jpg"),
    (("full", "^max"), "full/^max/0/default.jpg"),
    (("full", "^pct:100"), "full/max/0/default.jpg"),
])
def test_canonical_forms(args, canon):
    assert canonical(*args) == canon


def test_canonical_rotation_quality_format():
    assert canonical(rotation="!90.0", qf="gray.png") == "full/max/!90/gray.png"
    assert canonical(rotation="22.50", qf="bitonal.webp") == "full/max/22.5/bitonal.webp"


def test_request_errors():
    with pytest.raises(ImageRequestError, match="quality.format"):
        canonical(qf="default")
    with pytest.raises(NotImplementedFeature):
        canonical(qf="default.tif")
    with pytest.raises(ImageRequestError, match="quality"):
        canonical(qf="best.jpg")
