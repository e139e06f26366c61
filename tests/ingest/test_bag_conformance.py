"""The Library of Congress BagIt conformance suite (github.com/LibraryOfCongress/bagit-conformance-suite,
read from ../shared/conformance/bagit-conformance-suite): every valid bag is ingested with its whole
payload kept byte for byte, whatever it holds; every invalid bag is refused with its reason."""
import hashlib
from pathlib import Path

import bagit
import pytest

from ingest.pipeline import plan_job
from ingest.sources import plan
from ingest.sources.common import SourceError
from repository.access import SYSTEM
from tests.helpers import conformance


def bags(kind: str) -> list[Path]:
    suite = conformance("bagit-conformance-suite")
    return sorted(p for p in suite.glob(f"v*/{kind}/*") if p.is_dir())


def test_every_valid_bag_is_ingested_with_its_payload_kept(fangzhi):
    valid = bags("valid")
    assert len(valid) >= 20
    ctx = fangzhi.ingest_context()
    for bag_dir in valid:
        bag = bagit.Bag(str(bag_dir))
        payload = {hashlib.sha256((bag_dir / rel).read_bytes()).hexdigest(): rel for rel in bag.payload_files()}
        job = plan_job(ctx, str(bag_dir), plan(bag_dir))
        fangzhi.runner.run([(job, e.n) for e in ctx.jobs.entries(job, ("pending",))])
        entries = ctx.jobs.entries(job)
        assert all(e.state in ("done", "duplicate") for e in entries), \
            [(bag_dir.name, e.label, e.state, e.reason) for e in entries if e.state not in ("done", "duplicate")]
        for digest, rel in payload.items():  # in this bag's items, or (the same bytes) already in the archive
            found = fangzhi.archive.find_original(digest)
            assert found, f"{bag_dir.relative_to(bag_dir.parents[2])}: {rel} was not kept"
            item = fangzhi.archive.load_item(found[0])
            assert item.file(found[1]).size == (bag_dir / rel).stat().st_size
    stored = {f.sha256 for i in fangzhi.archive.list_items(user=SYSTEM, limit=1000)[0] for f in i.originals}
    assert stored  # the suite's payloads are in the archive, and only they
    assert stored <= {hashlib.sha256(p.read_bytes()).hexdigest() for b in valid for p in (b / "data").rglob("*")
                      if p.is_file()}


@pytest.mark.parametrize("name", ["corrupt-data-file", "extra-file-in-bag", "missing-bagit.txt", "bom-in-bagit.txt",
                                  "invalid-version-number", "out-of-scope-file-paths-using-dot-notation",
                                  "same-filename-listed-twice-with-different-hashes", "bagit-with-invalid-whitespace",
                                  "notAllManifestsListAllFiles", "baginfo-missing-encoding"])
def test_an_invalid_bag_is_refused_with_its_reason(name):
    found = [b for b in bags("invalid") if b.name == name]
    assert found, name
    for bag_dir in found:
        with pytest.raises(SourceError, match="not a valid bag|is unsafe|multiple times") as exc:
            plan(bag_dir)
        assert str(bag_dir) in str(exc.value)


def test_every_invalid_bag_of_the_suite_is_refused():
    for bag_dir in bags("invalid"):
        with pytest.raises(SourceError):
            plan(bag_dir)


def test_a_bag_whose_manifest_lies_names_the_file(tmp_path):
    """A hand-made bag: its manifest's checksum of one file is wrong (the file was changed after bagging)."""
    (tmp_path / "bag").mkdir()
    (tmp_path / "bag" / "信.txt").write_text("惠山泉水", encoding="utf-8")
    (tmp_path / "bag" / "表.csv").write_text("a,b\n", encoding="utf-8")
    bagit.make_bag(str(tmp_path / "bag"), checksums=["sha256"])
    (tmp_path / "bag" / "data" / "信.txt").write_text("惠山泉水？", encoding="utf-8")
    with pytest.raises(SourceError) as exc:
        plan(tmp_path / "bag")
    assert "data/信.txt" in str(exc.value) and "表.csv" not in str(exc.value)
