"""The same archive on S3 (SeaweedFS): switching storage is configuration only."""
import pytest

from repository.access import ANONYMOUS, SYSTEM
from repository.errors import Conflict
from repository.services import NewFile
from storage.fixity import audit
from search.tantivy_index import TantivyIndex
from storage.ocfl import object_path
from tests.helpers import FailingStream, build_on, photo_item


@pytest.fixture
def archive(s3_storage, tmp_path):
    return build_on(tmp_path, storage=s3_storage, index=TantivyIndex(None)).archive


def test_item_lifecycle_on_s3(archive, tmp_path):
    archive.create_collection({"id": "letters", "title": "书信"}, user=SYSTEM)
    item = archive.create_item(photo_item(collections=["letters"]), [NewFile("信.jpg", b"letter", "image/jpeg")],
                               user=SYSTEM).value
    archive.update_item(item.id, {"subjects": ["家书"]}, expected_version=1, user=SYSTEM)
    with pytest.raises(Conflict):
        archive.update_item(item.id, {"subjects": ["x"]}, expected_version=1, user=SYSTEM)
    before = sorted(archive.storage.list("ocfl/"))
    with pytest.raises(Exception, match="connection lost"):
        archive.update_item(item.id, {}, expected_version=2, user=SYSTEM,
                            add_files=[NewFile("big.tif", FailingStream(b"x" * 200_000))])
    assert sorted(archive.storage.list("ocfl/")) == before
    found = archive.open_file(item.id, "f1", user=ANONYMOUS)
    assert found.read() == b"letter" and found.read_range(1, 3) == b"ett"
    assert archive.get_item(item.id, user=ANONYMOUS, version=1).value.subjects == []
    assert audit(archive.objects) == [] and audit(archive.objects, digest="sha512") == []
    dump = archive.catalog.dump()
    archive.catalog.clear()
    assert archive.rebuild() == 2 and archive.catalog.dump() == dump


def test_a_purge_in_a_versioned_bucket_leaves_no_old_version_behind(archive):
    """With bucket versioning on (production's protection against overwrites), a purged item's
    bytes must not stay readable as non-current versions or behind delete markers."""
    storage = archive.storage
    storage.client.put_bucket_versioning(Bucket=storage.bucket, VersioningConfiguration={"Status": "Enabled"})
    secret = archive.create_item(photo_item(title="族谱 私藏"), [NewFile("私.jpg", b"private letter")],
                                 user=SYSTEM).value
    archive.update_item(secret.id, {"subjects": ["家书"]}, expected_version=1, user=SYSTEM)
    kept = archive.create_item(photo_item(), [NewFile("公.jpg", b"public")], user=SYSTEM).value
    base = f"{storage.prefix}{archive.objects.prefix}/{object_path(f'item:{secret.id}')}"
    archive.purge_item(secret.id, user=SYSTEM, reason="donor withdrew it")
    pages = storage.client.get_paginator("list_object_versions").paginate(Bucket=storage.bucket, Prefix=base)
    left = [v["Key"] for page in pages for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
    assert left == []
    assert archive.open_file(kept.id, "f1", user=ANONYMOUS).read() == b"public"  # its neighbour untouched


def test_fixity_finds_damage_on_s3(archive):
    item = archive.create_item(photo_item(), [NewFile("a.jpg", b"aaaa")], user=SYSTEM).value
    key = f"ocfl/{object_path('item:' + item.id)}/v1/content/originals/a.jpg"
    archive.storage.put(key, b"AAAA")
    (problem,) = audit(archive.objects)
    assert problem.path == "v1/content/originals/a.jpg" and "sha256 is" in problem.problem


def test_site_serves_files_from_s3(s3_server, tmp_path):
    from web import create_app

    app = create_app({"DATA_DIR": str(tmp_path), "STORAGE": "s3", "S3_ENDPOINT": s3_server.endpoint,
                      "S3_BUCKET": "site-test", "S3_ACCESS_KEY": s3_server.access_key,
                      "S3_SECRET_KEY": s3_server.secret_key})
    archive = app.extensions["fangzhi"].archive
    item = archive.create_item(photo_item(), [NewFile("p.jpg", b"x" * 3_000_000, "image/jpeg")], user=SYSTEM).value
    response = app.test_client().get(f"/items/{item.id}/files/f1")
    assert response.status_code == 200 and response.data == b"x" * 3_000_000
    assert response.headers["ETag"].strip('"') == item.files[0].sha256
    for key in list(archive.storage.list()):
        archive.storage.delete(key)
    archive.storage.client.delete_bucket(Bucket="site-test")
