"""A SentencePiece `precompiled_charsmap` built from a character → replacement map.

The `tokenizers` Precompiled normalizer (the one XLM-RoBERTa tokenizers use) reads this binary and nothing else:

    u32 trie size in bytes | trie: u32 units of a darts-clone double array | replacements, each NUL-terminated

The trie is keyed by the UTF-8 bytes of the characters; a key's value is the offset of its replacement in the
blob. In a darts-clone double array a node at position p with offset o has its child for byte c at p ^ o ^ c,
and the value of a key that ends at the node at p ^ o. Lookups check only the child's label, so every node gets
its own base p ^ o and its children go to free positions: then no walk can land on another node's child.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping

HAS_LEAF = 1 << 8
IS_VALUE = 1 << 31
MAX_OFFSET = 1 << 21  # larger offsets need the extended encoding, which a map of a few thousand keys never does


def precompiled_charsmap(replacements: Mapping[str, str]) -> bytes:
    """The charsmap bytes that normalise each key of `replacements` to its value (keys of one character)."""
    blob, offsets = _replacement_blob(replacements)
    units = _double_array({key.encode("utf-8"): offsets[key] for key in replacements})
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + blob


def _replacement_blob(replacements: Mapping[str, str]) -> tuple[bytes, dict[str, int]]:
    """The NUL-terminated replacements, each written once, and the offset of every key's replacement."""
    blob = bytearray()
    written: dict[str, int] = {}
    for value in sorted(set(replacements.values())):
        written[value] = len(blob)
        blob += value.encode("utf-8") + b"\0"
    return bytes(blob), {key: written[value] for key, value in replacements.items()}


class _Node:
    __slots__ = ("children", "value")

    def __init__(self) -> None:
        self.children: dict[int, _Node] = {}
        self.value: int | None = None


def _double_array(keys: Mapping[bytes, int]) -> list[int]:
    """The darts-clone units of a trie holding `keys` (byte strings without NUL) with their values."""
    root = _Node()
    for key, value in keys.items():
        node = root
        for byte in key:
            node = node.children.setdefault(byte, _Node())
        node.value = value
    array = _UnitArray()
    pending = [(0, root)]
    while pending:
        position, node = pending.pop()
        labels = sorted(node.children) + ([0] if node.value is not None else [])
        base = array.place(labels)
        offset = position ^ base
        if offset >= MAX_OFFSET:
            raise ValueError(f"double array offset {offset} does not fit its unit")
        array.units[position] |= (offset << 10) | (HAS_LEAF if node.value is not None else 0)
        if node.value is not None:
            array.units[base] = IS_VALUE | node.value
        for label, child in node.children.items():
            array.units[base ^ label] = label
            pending.append((base ^ label, child))
    return array.units


class _UnitArray:
    """Units and which of them are taken; position 0 is the root."""

    def __init__(self) -> None:
        self.units = [0]
        self.taken = bytearray(b"\1")
        self.bases: set[int] = set()
        self.first_free = 1

    def place(self, labels: list[int]) -> int:
        """An unused base whose slots for `labels` were free (now taken): the first label goes to the lowest
        free position where the others fit too."""
        free = self.first_free
        while True:
            base = free ^ labels[0]
            if base not in self.bases and not any(self._is_taken(base ^ label) for label in labels[1:]):
                break
            free = self._next_free(free + 1)
        self._grow(base | 0xFF)  # a walk from this node may read any of its 256 slots
        self.bases.add(base)
        for label in labels:
            self.taken[base ^ label] = 1
        self.first_free = self._next_free(self.first_free)
        return base

    def _next_free(self, start: int) -> int:
        found = self.taken.find(0, start)
        return found if found >= 0 else max(start, len(self.taken))

    def _is_taken(self, position: int) -> bool:
        return position < len(self.taken) and bool(self.taken[position])

    def _grow(self, last: int) -> None:
        if last >= len(self.units):
            extra = last + 1 - len(self.units)
            self.units.extend([0] * extra)
            self.taken.extend(bytes(extra))
