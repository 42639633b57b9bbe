"""Agreement with jieba and speed of faster segmenters (jieba_fast, rjieba) on the sentences of a corpus, set up
as the engine sets up jieba (finance dictionary, company names at frequency 10000, HMM off).

    python bench/segmenter_bench.py                      # data/filings
    python bench/segmenter_bench.py --corpus bench/results/corpus-10x --limit 20000

A segmenter can replace jieba in the engine only where it cuts every sentence exactly as jieba does: chunk ids
(chunk boundaries come from word counts) and BM25 terms must not change. Agreement is the share of sentences
cut identically (`lcut`, and `lcut_for_search` on the lower-cased text), and the share of characters in them.
Segmenters that are not installed are reported as such. Writes bench/results/segmenter_bench.json.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from common import end_run, machine, save_run

Cut = Callable[[str], list[str]]


def corpus_sentences(corpus: Path, limit: int) -> tuple[list[str], tuple[str, ...]]:
    """Sentences of the corpus's documents as the engine reads them, and the company words it adds to jieba."""
    from qa_engine.chunk.tokenizer import company_words
    from qa_engine.engine import read_documents
    from qa_engine.ingest.pipeline import IngestReport, collect_files
    from qa_engine.ingest.sentences import split_sentences
    from qa_engine.settings import Settings

    files, _ = collect_files([corpus])
    documents = read_documents(files, Settings(), IngestReport())
    sentences = [d.text[s.start : s.end] for d in documents for s in split_sentences(d.text)]
    return sentences[:limit], company_words(documents)


def finance_words() -> list[tuple[str, int | None]]:
    from qa_engine.chunk.tokenizer import _resource_text

    rows = [line.split() for line in _resource_text("finance_dict.txt").splitlines()]
    return [(r[0], int(r[1]) if len(r) > 1 else None) for r in rows if r]


def jieba_like(module: object, extra: tuple[str, ...]) -> tuple[Cut, Cut]:
    """(lcut, lcut_for_search) of a jieba-API tokenizer (jieba or jieba_fast) set up like FinanceTokenizer."""
    tokenizer = module.Tokenizer()  # type: ignore[attr-defined]
    tokenizer.initialize()
    for word, freq in finance_words():
        tokenizer.add_word(word, freq)
    for word in extra:
        tokenizer.add_word(word, 10000)
    return (lambda t: list(tokenizer.lcut(t, HMM=False)), lambda t: list(tokenizer.lcut_for_search(t, HMM=False)))


def rjieba_cuts(extra: tuple[str, ...]) -> tuple[Cut, Cut]:
    import rjieba

    tokenizer = rjieba.Jieba()
    for word, freq in finance_words():
        tokenizer.add_word(word, freq, None)
    for word in extra:
        tokenizer.add_word(word, 10000, None)
    return (lambda t: tokenizer.cut(t, False), lambda t: tokenizer.cut_for_search(t, False))


def compare(reference: list[list[str]], cut: Cut, sentences: list[str]) -> dict[str, object]:
    t = time.perf_counter()
    cuts = [cut(s) for s in sentences]
    seconds = time.perf_counter() - t
    same = [a == b for a, b in zip(reference, cuts, strict=True)]
    chars = sum(len(s) for s in sentences)
    return {"seconds": round(seconds, 3), "chars_per_s": round(chars / seconds), "sentences_same": round(sum(same) / len(same), 5),
            "chars_same": round(sum(len(s) for s, ok in zip(sentences, same, strict=True) if ok) / chars, 5),
            "first_differences": [(s, r, c) for s, r, c, ok in zip(sentences, reference, cuts, same, strict=True)
                                  if not ok][:3]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "data" / "filings")
    parser.add_argument("--limit", type=int, default=50_000)
    parser.add_argument("--out", type=Path, default=BENCH / "results" / "segmenter_bench.json")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    run: dict[str, object] = {"machine": machine(), "corpus": str(args.corpus)}
    sentences, extra = corpus_sentences(args.corpus, args.limit)
    lowered = [s.lower() for s in sentences]
    import jieba

    setups: dict[str, Callable[[], tuple[Cut, Cut]]] = {
        "jieba": lambda: jieba_like(jieba, extra),
        "jieba_fast": lambda: jieba_like(__import__("jieba_fast"), extra),
        "rjieba": lambda: rjieba_cuts(extra),
    }
    cut, search = setups["jieba"]()
    t = time.perf_counter()
    reference = ([cut(s) for s in sentences], [search(s) for s in lowered])
    jieba_s = time.perf_counter() - t
    run["sentences"], run["chars"] = len(sentences), sum(map(len, sentences))
    run["segmenters"] = {"jieba": {"seconds_both": round(jieba_s, 3)}}
    for name in ("jieba_fast", "rjieba"):
        try:
            cut, search = setups[name]()
        except ImportError as exc:
            run["segmenters"][name] = {"error": f"not installed ({exc})"}  # type: ignore[index]
            continue
        run["segmenters"][name] = {"lcut": compare(reference[0], cut, sentences),  # type: ignore[index]
                                   "lcut_for_search": compare(reference[1], search, lowered)}
    totals = end_run(run, run["machine"], started)  # type: ignore[arg-type]
    print(f"{run['sentences']} sentences, {run['chars']} chars; jieba (both cuts): {jieba_s:.2f} s")
    for name, row in run["segmenters"].items():  # type: ignore[union-attr]
        if name == "jieba":
            continue
        if "error" in row:
            print(f"{name}: {row['error']}")
            continue
        for mode in ("lcut", "lcut_for_search"):
            r = row[mode]
            print(f"{name:>10} {mode:>15}: {r['seconds']:.2f} s ({r['chars_per_s']:,} chars/s), "
                  f"sentences identical {r['sentences_same']:.2%}, chars in them {r['chars_same']:.2%}")
    print(totals)
    save_run(run, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
