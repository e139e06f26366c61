import pytest

from storage import LocalStorage
from storage.fixity import audit
from storage.ocfl import OcflRoot, object_path


@pytest.fixture
def root(tmp_path):
    r = OcflRoot(LocalStorage(tmp_path))
    r.init()
    r.commit("item:a", {"a.jpg": b"aaaa", "b.jpg": b"bbbb"}, user="u", message="m")
    r.commit("item:b", {"c.jpg": b"cccc"}, user="u", message="m")
    return r


@pytest.mark.parametrize("digest", ["sha256", "sha512"])
def test_clean_archive_passes(root, digest):
    sizes = []
    assert audit(root, digest=digest, progress=sizes.append) == []
    assert sorted(sizes) == [4, 4, 4]


@pytest.mark.parametrize("digest", ["sha256", "sha512"])
def test_every_mismatch_and_missing_file_is_reported(root, digest):
    base = root.storage.root / "ocfl"
    (base / object_path("item:a") / "v1/content/a.jpg").write_bytes(b"AAAA")  # bit rot
    (base / object_path("item:b") / "v1/content/c.jpg").unlink()  # lost file
    problems = {(p.object_id, p.path): p.problem for p in audit(root, digest=digest)}
    assert set(problems) == {("item:a", "v1/content/a.jpg"), ("item:b", "v1/content/c.jpg")}
    assert f"{digest} is" in problems["item:a", "v1/content/a.jpg"]
    assert "cannot be read" in problems["item:b", "v1/content/c.jpg"]
