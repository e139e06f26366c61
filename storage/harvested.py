"""HarvestStore: the alliance members' records as harvested, kept raw so the union catalogue can be
rebuilt from storage alone (``fangzhi rebuild``).

Keys: ``alliance/<member>/records/<visibility>/<sha256 of the OAI identifier>.xml`` holds one
``<record>`` element exactly as the member sent it (visibility ``public``: the member also shows it
to anonymous harvesters; ``alliance``: only to our read-alliance token); ``alliance/<member>/<name>.json``
holds other harvested documents (the member's IIIF manifests seen through Change Discovery).
"""
from __future__ import annotations

import hashlib
import json
from typing import Iterator

from .base import Storage, StorageNotFound

PREFIX = "alliance/"
VISIBILITIES = ("public", "alliance")


def _digest(oai_id: str) -> str:
    return hashlib.sha256(oai_id.encode()).hexdigest()


class HarvestStore:
    def __init__(self, storage: Storage):
        self.storage = storage

    def _key(self, member: str, visibility: str, oai_id: str) -> str:
        return f"{PREFIX}{member}/records/{visibility}/{_digest(oai_id)}.xml"

    def put(self, member: str, oai_id: str, visibility: str, record: bytes) -> None:
        """Keep ``record`` as the member's only copy of ``oai_id`` (at ``visibility``)."""
        if visibility not in VISIBILITIES:
            raise ValueError(f"visibility {visibility!r} is not one of {VISIBILITIES}")
        self.storage.put(self._key(member, visibility, oai_id), record)
        for other in VISIBILITIES:
            if other != visibility:
                self._discard(self._key(member, other, oai_id))

    def has(self, member: str, oai_id: str, visibility: str) -> bool:
        return self.storage.exists(self._key(member, visibility, oai_id))

    def delete(self, member: str, oai_id: str) -> None:
        for visibility in VISIBILITIES:
            self._discard(self._key(member, visibility, oai_id))

    def records(self, member: str | None = None) -> Iterator[tuple[str, str, bytes]]:
        """(member, visibility, record XML) of every kept record (of ``member``)."""
        for key in sorted(self.storage.list(f"{PREFIX}{member}/" if member else PREFIX)):
            parts = key[len(PREFIX):].split("/")
            if len(parts) == 4 and parts[1] == "records" and parts[2] in VISIBILITIES:
                with self.storage.open(key) as f:
                    yield parts[0], parts[2], f.read()

    def count(self, member: str) -> int:
        return sum(1 for k in self.storage.list(f"{PREFIX}{member}/records/") if k.endswith(".xml"))

    def put_json(self, member: str, name: str, data) -> None:
        self.storage.put(f"{PREFIX}{member}/{name}.json", json.dumps(data, ensure_ascii=False).encode())

    def get_json(self, member: str, name: str, default=None):
        try:
            with self.storage.open(f"{PREFIX}{member}/{name}.json") as f:
                return json.loads(f.read())
        except StorageNotFound:
            return default

    def members(self) -> list[str]:
        return sorted({k[len(PREFIX):].split("/")[0] for k in self.storage.list(PREFIX)})

    def remove_member(self, member: str) -> None:
        for key in list(self.storage.list(f"{PREFIX}{member}/")):
            self._discard(key)

    def _discard(self, key: str) -> None:
        try:
            self.storage.delete(key)
        except StorageNotFound:
            pass
