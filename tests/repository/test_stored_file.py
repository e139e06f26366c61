"""A stored file, as ``Archive.open_file`` gives it (the access decision made): its bytes through
``open``, ``read``, ``read_range`` and ``local_path`` on every storage backend, with no storage key
in sight; ``local_path``'s temporary copy (S3, memory) is removed after use, even after a failure."""
import tempfile
from pathlib import Path

import pytest

from repository.access import ANONYMOUS
from repository.services import NewFile
from storage import LocalStorage, MemoryStorage
from search.tantivy_index import TantivyIndex
from tests.helpers import build_on, photo_item
from tests.repository.conftest import ARCHIVIST

DATA = bytes(range(256)) * 64  # 16 KiB, every byte value


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3), "memory"])
def archive(request, tmp_path):
    storage = {"local": lambda: LocalStorage(tmp_path / "storage"), "memory": MemoryStorage,
               "s3": lambda: request.getfixturevalue("s3_storage")}[request.param]()
    return build_on(tmp_path, storage=storage, index=TantivyIndex(None)).archive


def stored(archive):
    item = archive.create_item(photo_item(), [NewFile("惠山.tif", DATA, "image/tiff", 1)], user=ARCHIVIST).value
    return archive.open_file(item.id, item.files[0].id, user=ANONYMOUS)


def test_open_read_and_ranges(archive):
    found = stored(archive)
    assert found.public and found.file.size == len(DATA) and not hasattr(found, "key")
    with found.open() as f:
        assert f.read(10) == DATA[:10] and f.read() == DATA[10:]
    assert found.read() == DATA
    assert found.read_range(250, 12) == DATA[250:262]
    assert found.read_range(len(DATA) - 2, 10) == DATA[-2:]
    assert found.read_range(len(DATA) + 5, 10) == b""


def test_local_path_is_the_stored_file_on_disk_else_a_copy_removed_after_use(archive, tmp_path):
    found = stored(archive)
    on_disk = found.on_disk()
    assert (on_disk is not None) == isinstance(archive.storage, LocalStorage)
    work = tmp_path / "work" / "item"  # made when a copy is needed
    with found.local_path(dir=work) as path:
        assert path.read_bytes() == DATA and path.suffix == ".tif"
        assert path == on_disk if on_disk else path.parent == work
    if on_disk:
        assert path.read_bytes() == DATA  # the stored file itself stays
    else:
        assert not path.exists() and list(work.iterdir()) == []
    with found.local_path() as path:  # by default in the system's temporary folder
        assert path.read_bytes() == DATA
        assert path == on_disk if on_disk else path.parent == Path(tempfile.gettempdir())
    assert path.exists() == bool(on_disk)


def test_the_temporary_copy_is_removed_when_its_user_fails(archive, tmp_path):
    found = stored(archive)
    with pytest.raises(RuntimeError, match="ffmpeg failed"):
        with found.local_path(dir=tmp_path / "work") as path:
            raise RuntimeError("ffmpeg failed")
    assert path.exists() == isinstance(archive.storage, LocalStorage)
    assert not (tmp_path / "work").exists() or list((tmp_path / "work").iterdir()) == []
