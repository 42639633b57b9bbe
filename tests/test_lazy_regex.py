"""Patterns compiled on first use (qa_engine/lazy_regex.py): the same answers as `re`, nothing compiled until then,
and the package's costly patterns no longer compiled by an import."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from qa_engine.lazy_regex import lazy

TEXT = "公司2024年实现营业收入1,234.56万元，2023年为987.6万元。Revenue fell 12.3%."


def test_it_compiles_nothing_until_first_used() -> None:
    pattern = lazy(r"(\d{4})年", re.IGNORECASE)
    assert pattern._compiled is None and pattern.pattern == r"(\d{4})年"  # .pattern needs no compiling
    assert pattern.search(TEXT) is not None
    assert pattern._compiled is not None and pattern.compiled is pattern._compiled


@pytest.mark.parametrize("source", [r"(\d{4})年", r"[\u4e00-\u9fff]{2,4}", r"(?P<n>[\d,.]+)万元", r"revenue", r"\s+"])
def test_every_method_answers_as_re_does(source: str) -> None:
    lazily, eagerly = lazy(source, re.IGNORECASE), re.compile(source, re.IGNORECASE)
    for method in ("search", "match", "fullmatch"):
        got, expected = getattr(lazily, method)(TEXT, 2), getattr(eagerly, method)(TEXT, 2)
        assert (got and got.span()) == (expected and expected.span())
    assert [m.span() for m in lazily.finditer(TEXT)] == [m.span() for m in eagerly.finditer(TEXT)]
    assert lazily.findall(TEXT) == eagerly.findall(TEXT)
    assert lazily.sub("#", TEXT, 1) == eagerly.sub("#", TEXT, 1)
    assert lazily.split(TEXT) == eagerly.split(TEXT)


def test_an_invalid_pattern_fails_when_first_used() -> None:
    broken = lazy("受[^，影响")
    with pytest.raises(re.error):
        broken.search(TEXT)


def test_importing_the_cli_leaves_the_costly_patterns_uncompiled() -> None:
    script = ("import sys, qa_engine.cli; s, t = sys.modules['qa_engine.read.spans'], sys.modules['qa_engine.ingest.text_rules']; "
              "print(s.PERSON._compiled is None, t.SPACE_TOUCHING_CJK._compiled is None)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["True", "True"]
