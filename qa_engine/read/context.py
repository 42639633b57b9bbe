"""What the neural reader's encoder reads of a candidate sentence: the sentence alone, or after its section
heading. A reply's sentence often leaves its topic implicit ("该情况主要系…"); the heading it sits under
("问题2 关于业务及经营情况 › （三）公司部分产品毛利率为负的原因") names it."""

from __future__ import annotations

from functools import lru_cache

from qa_engine.ingest.sections import SEPARATOR, SectionMap, build_section_map

PASSAGE_CONTEXTS = ("none", "section")
MAX_HEADING_CHARS = 48  # the encoder reads 128 tokens; the sentence must not be the part cut off


def passage_text(sentence: str, document_text: str, offset: int, context: str) -> str:
    """The text the encoder reads for `sentence`, which starts at `offset` in `document_text`."""
    if context == "none":
        return sentence
    if context != "section":
        raise ValueError(f"unknown passage context {context!r}: one of {', '.join(PASSAGE_CONTEXTS)}")
    heading = short_heading(_section_map(document_text).path_at(offset))
    return f"{heading}：{sentence}" if heading else sentence


def short_heading(path: str) -> str:
    """The outermost and innermost headings of a section path (the middle ones rarely add to them), capped."""
    parts = [part.strip() for part in path.split(SEPARATOR) if part.strip()]
    if not parts:
        return ""
    heading = parts[0] if len(parts) == 1 else f"{parts[0]}{SEPARATOR}{parts[-1]}"
    return heading[:MAX_HEADING_CHARS]


@lru_cache(maxsize=64)
def _section_map(document_text: str) -> SectionMap:
    return build_section_map(document_text)
