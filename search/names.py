"""What search knows of the authority file: groups of names that mean one person, family,
organisation, place or era.

The authority feature (``authority/``) owns the records; search sees them only through a
``NameSource`` registered in the composition root, so search never imports the feature.
An item is linked to a group when one of its creators/contributors/places has the group's id
(``Agent.id``, ``Place.id``) or the id is in ``Item.about`` (what the item is about) or in
``Item.mentions`` (confirmed mentions in its text).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Protocol

KINDS = ("person", "family", "organization", "place")


@dataclass(frozen=True)
class NameGroup:
    id: str  # the authority record's id (after merges: the surviving id)
    kind: str  # one of KINDS
    preferred: str  # the preferred name, as stored
    names: tuple[str, ...]  # every name and alias, preferred included, as stored (繁/简/variants as written)
    merged_ids: tuple[str, ...] = field(default=())  # ids merged into this record (items may still point at them)


class NameSource(Protocol):
    def name_groups(self) -> Iterable[NameGroup]:
        """Every current authority record's names (merged records appear only through the survivor)."""

    def stamp(self) -> str:
        """Changes whenever any record changes, so search can tell when its view is stale."""


class NoNames:
    """The source when no authority file is configured."""

    def name_groups(self) -> Iterable[NameGroup]:
        return ()

    def stamp(self) -> str:
        return ""
