"""Which read files add, replace or leave documents: a pure function of those files and of what is indexed.

A document is identified by its origin (the resolved path it was read from). A file whose origin is indexed
with the same content is unchanged; with other content it replaces that document only when asked
(`replace=True`), otherwise it is a conflict and the indexed document stays. Documents of a store migrated
from file-name identity are matched by file name once, and then take the file's origin.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath

from qa_engine.index.writer import Change
from qa_engine.models import Document
from qa_engine.store.sqlite_store import KnownDocument

REPLACE_HINT = "replace it explicitly: `qa-engine ingest --replace`, or `replace=true` when uploading"


@dataclass
class ChangePlan:
    """What to write, and what the report says about each file."""

    change: Change
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    conflicts: list[tuple[str, str]] = field(default_factory=list)  # (source, message)
    adopt: dict[str, str] = field(default_factory=dict)  # doc_id of a migrated document -> its file's origin

    @property
    def writes(self) -> bool:
        """Return True when applying the plan changes the store."""
        return bool(self.change.add or self.change.remove or self.adopt)


def plan_change(documents: Sequence[Document], known: Mapping[str, KnownDocument], replace: bool) -> ChangePlan:
    """Return the plan that brings `documents` (read files) into an index holding `known` ({origin: ...})."""
    plan = ChangePlan(Change(add=[], remove=set()))
    known_ids = {entry.doc_id for entry in known.values()}
    seen: set[str] = set()
    claimed: set[str] = set()
    for doc in documents:
        key = _identity(doc, known, claimed)
        previous = known.get(key) if key else None
        if previous is not None and previous.content_hash == doc.content_hash:
            plan.unchanged.append(doc.source)
            if key != doc.origin:
                plan.adopt[previous.doc_id] = doc.origin
            continue
        if previous is not None and not replace:
            name = PurePath(doc.source).name
            message = f"{name} is already indexed with other content (doc_id {previous.doc_id}): {REPLACE_HINT}"
            plan.conflicts.append((doc.source, message))
            continue
        if doc.doc_id in seen or doc.doc_id in known_ids:  # this content is already indexed from another file
            _record(plan, previous, doc, unchanged=previous is None)
            continue
        _record(plan, previous, doc, unchanged=False)
        seen.add(doc.doc_id)
        plan.change.add.append(doc)
    return plan


def _identity(doc: Document, known: Mapping[str, KnownDocument], claimed: set[str]) -> str | None:
    """Return the key of the indexed document `doc` is a version of: its origin, or a migrated file name."""
    if doc.origin in known:
        return doc.origin
    name = PurePath(doc.origin).name
    if name in known and name not in claimed:  # migrated stores key documents by bare file name
        claimed.add(name)
        return name
    return None


def _record(plan: ChangePlan, previous: KnownDocument | None, doc: Document, unchanged: bool) -> None:
    """Note `doc` as unchanged, replacing `previous`, or added."""
    if unchanged:
        plan.unchanged.append(doc.source)
    elif previous is not None:
        plan.change.remove.add(previous.doc_id)
        plan.replaced.append(doc.source)
    else:
        plan.added.append(doc.source)
