"""BagIt bags, valid and invalid, made here case by case after the Library of Congress BagIt conformance
suite (github.com/LibraryOfCongress/bagit-conformance-suite: v0.97 and v1.0, valid/ and invalid/, with
its linux-only cases), and RFC 8493. No file of the suite is used: ``make_bag`` writes each bag in
tmp_path. Every valid bag is ingested with its whole payload kept byte for byte, whatever it holds;
every invalid bag is refused with a reason naming the file at fault."""
import hashlib
from pathlib import Path

import pytest

from ingest.pipeline import plan_job
from ingest.sources import plan
from ingest.sources.common import SourceError
from repository.access import SYSTEM

TEXT = "惠山泉水，锡山之下。\n".encode()
BINARY = bytes(range(256)) + b"\r\n\r\x00\n"  # line ends and NULs inside a payload stay as they are


def make_bag(root: Path, files: dict[str, bytes], *, version="1.0", algorithms=("sha256",), eol="\n",
             tags=True, info: str | None = None, fetch: str | None = None, declaration: bytes | None = None,
             manifest_extra: dict[str, str] | None = None, listed=None, encoding="UTF-8") -> Path:
    """A bag at ``root`` holding ``files`` (path under data/ → bytes), written by hand as RFC 8493
    says: bagit.txt, one manifest per algorithm (lines ``checksum path`` ending in ``eol``; CR, LF
    and, from v1.0 on, % in a path percent-encoded), bag-info.txt with its Payload-Oxum, fetch.txt,
    and a tag manifest per algorithm. ``listed(algorithm, path)`` says whether a manifest lists a file;
    ``manifest_extra`` adds lines (path → checksum, e.g. of a file not there); ``info`` replaces bag-info.txt."""
    (root / "data").mkdir(parents=True)
    for rel, content in files.items():
        (root / "data" / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / "data" / rel).write_bytes(content)
    (root / "bagit.txt").write_bytes(declaration if declaration is not None else
                                     f"BagIt-Version: {version}\nTag-File-Character-Encoding: {encoding}\n".encode())

    def encode(path: str) -> str:  # RFC 8493 §2.1.3
        if version == "1.0":
            path = path.replace("%", "%25")
        return path.replace("\r", "%0D").replace("\n", "%0A")

    def write(name: str, lines: list[str]):
        (root / name).write_bytes("".join(line + eol for line in lines).encode(encoding))

    for alg in algorithms:
        lines = [f"{hashlib.new(alg, content).hexdigest()}  {encode('data/' + rel)}" for rel, content in files.items()
                 if listed is None or listed(alg, rel)]
        write(f"manifest-{alg}.txt", lines + [f"{digest}  {path}" for path, digest in (manifest_extra or {}).items()])
    oxum = f"Payload-Oxum: {sum(map(len, files.values()))}.{len(files)}"
    write("bag-info.txt", (info if info is not None else f"Source-Organization: 无锡档案馆\n{oxum}").split("\n"))
    if fetch is not None:
        write("fetch.txt", fetch.split("\n"))
    if tags:
        for alg in algorithms:
            names = sorted(p.name for p in root.iterdir() if p.is_file() and not p.name.startswith("tagmanifest-"))
            write(f"tagmanifest-{alg}.txt", [f"{hashlib.new(alg, (root / n).read_bytes()).hexdigest()}  {n}" for n in names])
    return root


BASIC = {"test1.txt": b"test1\n", "test2.txt": b"test2\n", "dir1/test3.txt": b"test3\n",
         "dir2/test4.txt": b"test4\n", "dir2/dir3/test5.txt": b"test5\n"}

VALID = {  # name → (files, make_bag's options); after the suite's valid bags and RFC 8493
    "v0.97 basic-bag (md5)": (BASIC, dict(version="0.97", algorithms=("md5",), eol="\r\n")),
    "v1.0 basicBag (sha512)": ({"hello.txt": b"Hello World!\n"}, dict(algorithms=("sha512",))),
    "v1.0 sha1 manifest": ({"a.txt": TEXT}, dict(algorithms=("sha1",))),
    "v1.0 md5, sha1, sha256 and sha512 manifests at once": ({"a.txt": TEXT, "b.bin": BINARY},
                                                            dict(algorithms=("md5", "sha1", "sha256", "sha512"))),
    "v0.97 uncommon algorithm (sha224)": ({"README": b"uncommon\n"}, dict(version="0.97", algorithms=("sha224",))),
    "v1.0 without tag manifest": ({"a.txt": TEXT}, dict(tags=False)),
    "v1.0 UTF-8 names (Chinese, accented)": ({"族谱/卷一.txt": TEXT, "café/naïve résumé.txt": b"cafe\n",
                                               "日记 1931.bin": BINARY}, {}),
    "v0.97 bag-with-encoded-names (literal %7E, %, ~)": ({"%7Etest1.txt": b"1\n", "%test2.txt": b"2\n",
                                                         "dir1/~test3.txt": b"3\n", "%7Edir2/test4.txt": b"4\n",
                                                         "%7Edir2/dir3/test5.txt": b"5\n"},
                                                        dict(version="0.97", algorithms=("md5",))),
    "v1.0 percent-encoded % in names": ({"100%.txt": b"percent\n", "%0A literally.txt": b"not a break\n",
                                          "%25 twice %.txt": b"twice\n"}, {}),
    "v0.97 bag-with-space / escapable characters": ({"test file with spaces.txt": b"s\n", "dir 2/a  b.txt": b"ab\n",
                                                     "quote's & (paren) [bracket] #hash.txt": b"q\n",
                                                     "trailing space .txt": b"t\n"},
                                                    dict(version="0.97", algorithms=("md5",))),
    "v1.0 hidden files": ({".hidden": b"h\n", "dir/.DS_Store": b"\x00\x00\x00\x01Bud1", ".config/set.ini": b"[a]\n",
                           "visible.txt": TEXT}, {}),
    "v1.0 deeply nested folders": ({"a/b/c/d/e/f/g.txt": TEXT, "a/b/x.txt": b"x\n", "a/top.txt": b"top\n"}, {}),
    "v1.0 CRLF manifests": (BASIC, dict(eol="\r\n")),
    "v1.0 CR manifests": (BASIC, dict(eol="\r")),
    "v1.0 LF manifests, binary files": ({"b.bin": BINARY + b"\n", "c.txt": TEXT + TEXT}, {}),
    "v0.97 ISO-8859-1 tag files": ({"café.txt": b"caf\xe9\n", "bare-filename": b"bare\n"},
                                   dict(version="0.97", algorithms=("md5",), encoding="ISO-8859-1",
                                        info="Source-Organization: Médiathèque de Lyon")),
    "v0.97 holey-bag (fetch.txt, its files present)": (
        BASIC, dict(version="0.97", algorithms=("md5",), eol="\r\n",
                    fetch="\n".join(f"http://localhost:8989/bags/holey-bag/data/{p.replace(' ', '%20')} - data/{p}"
                                    for p in BASIC))),
    "v0.97 bag-in-a-bag": ({"bag/bagit.txt": b"BagIt-Version: 0.97\nTag-File-Character-Encoding: UTF-8\n",
                            "bag/manifest-md5.txt": f"{hashlib.md5(b'in').hexdigest()}  data/in.txt\n".encode(),
                            "bag/data/in.txt": b"in"}, dict(version="0.97", algorithms=("md5",))),
    "v0.97 duplicate and uncommon metadata entries": (
        {"README": b"meta\n"}, dict(version="0.97", info="Bagging-Date: 2016-02-26\nBagging-Date: 2016-03-10\n"
                                    "Contact-Name: A\ncontact-name: B\nTest-Tag:   2\nTest-Tag : 3\nPayload-Oxum: 5.1")),
    "v1.0 no bag-info.txt fields": ({"a.txt": TEXT}, dict(info="")),
}

INVALID = {  # name → (files, make_bag's options, the file the refusal names); after the suite's invalid bags
    "missing-bagit.txt": ({"a.txt": TEXT}, dict(declaration=None), "bagit.txt"),
    "bom-in-bagit.txt (RFC 8493 §2.1.1)": ({"a.txt": TEXT}, dict(
        declaration=b"\xef\xbb\xbfBagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"), "bagit.txt"),
    "bagit-with-invalid-whitespace": ({"a.txt": TEXT}, dict(
        declaration=b"BagIt-Version : 1.0\nTag-File-Character-Encoding : UTF-8\n"), "bagit.txt"),
    "invalid-version-number": ({"a.txt": TEXT}, dict(
        declaration=b"BagIt-Version: .97\nTag-File-Character-Encoding: UTF-8\n"), "bagit.txt"),
    "baginfo-missing-encoding": ({"a.txt": TEXT}, dict(declaration=b"BagIt-Version: 0.97\n"), "bagit.txt"),
    "extra-file-in-bag (a payload file no manifest lists)": (
        {"a.txt": TEXT, "extra.txt": b"x\n"}, dict(listed=lambda alg, rel: rel != "extra.txt"), "data/extra.txt"),
    "a manifest entry with no file": ({"a.txt": TEXT}, dict(
        manifest_extra={"data/gone.txt": hashlib.sha256(b"gone").hexdigest()}), "data/gone.txt"),
    "corrupt-data-file (wrong checksum)": ({"a.txt": TEXT, "b.txt": b"b\n"}, dict(
        listed=lambda alg, rel: rel != "b.txt", manifest_extra={"data/b.txt": hashlib.sha256(b"B\n").hexdigest()}),
        "data/b.txt"),
    "notAllManifestsListAllFiles": ({"hello.txt": b"hello\n", "missingFromManifest.txt": b"m\n"}, dict(
        algorithms=("sha256", "sha512"), listed=lambda alg, rel: alg == "sha256" or rel == "hello.txt"),
        "data/missingFromManifest.txt"),
    "same-filename-listed-twice-with-different-hashes": ({"a.txt": TEXT}, dict(
        manifest_extra={"data/a.txt": hashlib.sha256(b"other").hexdigest()}), "data/a.txt"),
    "out-of-scope-file-paths-using-dot-notation (../)": ({"a.txt": TEXT}, dict(
        manifest_extra={"../../../README.md": hashlib.sha256(b"x").hexdigest()}), "../../../README.md"),
    "out-of-scope-file-paths-using-absolute-path": ({"a.txt": TEXT}, dict(
        manifest_extra={"/etc/passwd": hashlib.sha256(b"x").hexdigest()}), "/etc/passwd"),
    "out-of-scope-file-paths-using-dot-notation-for-fetch": ({"a.txt": TEXT}, dict(
        fetch="http://localhost:8989/bags/a.txt - ../../../README.md"), "../../../README.md"),
    "holey bag with its hole not filled (fetch.txt's file absent)": ({"a.txt": TEXT}, dict(
        fetch="http://localhost:8989/bags/b.txt 2 data/b.txt",
        manifest_extra={"data/b.txt": hashlib.sha256(b"b\n").hexdigest()}), "data/b.txt"),
    "Payload-Oxum mismatch": ({"a.txt": TEXT}, dict(info="Payload-Oxum: 1.1"), "bag-info.txt"),
    "corrupt-tag-file": ({"a.txt": TEXT}, dict(algorithms=("md5",)), "bag-info.txt"),
}


def ingest_bag(fangzhi, bag_dir: Path):
    ctx = fangzhi.ingest_context()
    job = plan_job(ctx, str(bag_dir), plan(bag_dir))
    fangzhi.runner.run([(job, e.n) for e in ctx.jobs.entries(job, ("pending",))])
    return ctx.jobs.entries(job)


def test_every_valid_bag_is_ingested_with_its_payload_kept(fangzhi, tmp_path):
    kept = set()
    for n, (name, (files, options)) in enumerate(VALID.items()):
        bag_dir = make_bag(tmp_path / f"bag{n}", files, **options)
        entries = ingest_bag(fangzhi, bag_dir)
        assert entries and all(e.state in ("done", "duplicate") for e in entries), \
            [(name, e.label, e.state, e.reason) for e in entries if e.state not in ("done", "duplicate")]
        for rel, content in files.items():  # in this bag's items, or (the same bytes) already in the archive
            digest = hashlib.sha256(content).hexdigest()
            found = fangzhi.archive.find_original(digest)
            assert found, f"{name}: data/{rel} was not kept"
            item = fangzhi.archive.load_item(found[0])
            assert item.file(found[1]).size == len(content)
            assert fangzhi.archive.open_file(found[0], found[1], user=SYSTEM).read() == content, f"{name}: data/{rel} changed"
            kept.add(digest)
    stored = {f.sha256 for i in fangzhi.archive.list_items(user=SYSTEM, limit=1000)[0] for f in i.originals}
    assert stored == kept  # every payload file of the bags is in the archive, and only they


def test_a_bag_with_lf_and_cr_in_names_is_verified_and_those_files_refused_by_name(fangzhi, tmp_path):
    """RFC 8493 §2.1.3: a manifest writes LF and CR in a path as %0A and %0D. The bag is valid and
    verified; the archive then refuses file names with control characters (ingest.safety) and empty
    files, as it does outside bags, naming each such file, and keeps the others."""
    files = {"line\nbreak.txt": b"lf\n", "carriage\rreturn.txt": b"cr\n", "empty.txt": b"", "plain.txt": b"plain\n"}
    bag_dir = make_bag(tmp_path / "bag", files)
    assert "data/line%0Abreak.txt" in (bag_dir / "manifest-sha256.txt").read_text()
    entries = {e.label: e for e in ingest_bag(fangzhi, bag_dir)}
    assert entries["plain"].state == "done"
    for name, why in (("line\nbreak.txt", "control characters"), ("carriage\rreturn.txt", "control characters"),
                      ("empty.txt", "empty (0 bytes)")):
        entry = next(e for e in entries.values() if name in (e.reason or ""))
        assert entry.state == "failed" and why in entry.reason
    assert fangzhi.archive.find_original(hashlib.sha256(b"plain\n").hexdigest())


def test_a_bag_with_an_empty_payload_is_valid_and_plans_nothing(tmp_path):
    """RFC 8493 §2.1.2: the payload directory may be empty (the suite's v0.97 bags made of tag files only)."""
    bag_dir = make_bag(tmp_path / "bag", {})
    assert (bag_dir / "data").is_dir() and not any((bag_dir / "data").iterdir())
    assert plan(bag_dir) == []


@pytest.mark.parametrize("name", list(INVALID))
def test_an_invalid_bag_is_refused_naming_the_file(name, tmp_path):
    files, options, culprit = INVALID[name]
    bag_dir = make_bag(tmp_path / "bag", files, **options)
    if name == "missing-bagit.txt":
        (bag_dir / "bagit.txt").unlink()
    if name == "corrupt-tag-file":  # bag-info.txt changed after its tag manifest was written
        (bag_dir / "bag-info.txt").write_bytes(b"Source-Organization: someone else\n")
    with pytest.raises(SourceError) as exc:
        plan(bag_dir)
    assert str(bag_dir) in str(exc.value) and culprit in str(exc.value), str(exc.value)


def test_a_bag_whose_manifest_lies_names_the_file(tmp_path):
    """A bag made with bagit-python: its manifest's checksum of one file is wrong (the file was changed after bagging)."""
    import bagit

    (tmp_path / "bag").mkdir()
    (tmp_path / "bag" / "信.txt").write_text("惠山泉水", encoding="utf-8")
    (tmp_path / "bag" / "表.csv").write_text("a,b\n", encoding="utf-8")
    bagit.make_bag(str(tmp_path / "bag"), checksums=["sha256"])
    (tmp_path / "bag" / "data" / "信.txt").write_text("惠山泉水？", encoding="utf-8")
    with pytest.raises(SourceError) as exc:
        plan(tmp_path / "bag")
    assert "data/信.txt" in str(exc.value) and "表.csv" not in str(exc.value)
