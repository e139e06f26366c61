"""Format identification with PRONOM, the UK National Archives' registry of file formats, through
FIDO (Open Preservation Foundation, PyPI ``opf-fido``), whose signature files ship in its package:
no network is used.

``identify(path)`` gives a file's PUID, format name and version, and how it was found
(``signature``: byte patterns; ``container``: the parts inside a ZIP or OLE2 document;
``extension``: only the name matched, the weakest basis), or ``puid`` None when nothing matched.
The signatures are loaded once per process (about 0.3 s); each file then takes about 10 ms
(25 ms for a ZIP-based office document), measured on the project's CI machine.
"""
from __future__ import annotations

import contextlib
import io
import os
import tempfile
import threading
from pathlib import PurePath

from search.documents import Contribution

SIGNATURES = "formats-v109.xml"  # the PRONOM signature file FIDO 1.6.1 ships (its default names an absent v104)
_lock = threading.Lock()  # one FIDO instance per process, which keeps per-file state


_made: tuple | None = None
_making = threading.Lock()  # threads of a process that identify at once make FIDO once (its import is not thread-safe)


def _fido():
    global _made
    with _making:
        if _made is None:
            from fido import __version__
            from fido.fido import Fido

            found: list = []
            fido = Fido(quiet=True, handle_matches=lambda name, matches, delta, kind="": found.append((matches, kind)),
                        format_files=[SIGNATURES, "format_extensions.xml"])
            _made = fido, found, f"fido {__version__} ({SIGNATURES.removesuffix('.xml')})"
    return _made


def tool() -> str:
    """The identifying tool and signature version, for preservation events."""
    return _fido()[2]


def identify(path: str | os.PathLike) -> dict:
    """{"puid", "format", "version", "basis", "tool"} of the file at ``path`` (its name's extension
    counts only when no signature matches); ``puid`` is None when PRONOM knows no match."""
    fido, found, name = _fido()
    with _lock:
        found.clear()
        with contextlib.redirect_stderr(io.StringIO()):  # FIDO reports empty and unreadable files there
            fido.identify_file(os.fspath(path))
        matches, basis = found[0] if found else ([], "")
        found.clear()
    if not matches:
        return {"puid": None, "format": None, "version": None, "basis": None, "tool": name}
    element = matches[0][0]  # FIDO drops inferior matches (PRONOM priorities); the first is kept
    return {"puid": element.findtext("puid"), "format": element.findtext("name"),
            "version": element.findtext("version") or None, "basis": basis, "tool": name}


BUFFER = 128 * 1024  # FIDO's: it matches the first and the last 128 KiB of a file
CONTAINERS = ("application/zip", "application/x-ole-storage", "application/msword", "application/vnd.ms-",
              "application/vnd.openxmlformats-", "application/vnd.oasis.opendocument.")
MAX_CONTAINER_COPY = 256 << 20


def identify_stream(stream, name: str, media_type: str) -> dict:
    """``identify`` of a seekable stream (an upload) named ``name``, through a temporary file: a
    whole copy of a ZIP or OLE2 document (up to MAX_CONTAINER_COPY: FIDO reads their parts), else
    a sparse file holding only the first and last 128 KiB, all FIDO's signatures read."""
    size = stream.seek(0, 2)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "upload" + PurePath(name).suffix[:16])
        with open(path, "wb") as out:
            stream.seek(0)
            if media_type.startswith(CONTAINERS) and size <= MAX_CONTAINER_COPY:
                while chunk := stream.read(1 << 20):
                    out.write(chunk)
            else:
                out.write(stream.read(BUFFER))
                if size > 2 * BUFFER:
                    stream.seek(size - BUFFER)
                    out.seek(size - BUFFER)
                    out.write(stream.read(BUFFER))
                elif size > BUFFER:
                    out.write(stream.read())
                out.truncate(size)
        stream.seek(0)
        return identify(path)


def format_search(archive, item) -> Contribution:
    """The search contributor of formats: the originals' PUIDs ("unidentified" for none) as the
    staff-only facet "format" (search.service.STAFF_FACETS)."""
    puids = [(f.tech.get("pronom") or {}).get("puid") or "unidentified" for f in item.originals
             if f.tech.get("pronom") is not None]
    return Contribution(facets={"format": list(dict.fromkeys(puids))} if puids else {}, level="staff")
