"""Where the neural reader's sentence vectors should be computed: at query time for each question's 12 candidates,
or ahead for every sentence of the corpus (`qa-engine ingest --reader-vectors`, kept in the reader's vector
table), leaving a question one encoder pass.

    python bench/passage_vectors_bench.py            # the bundled filings; about 3 min on 2 cores
    python bench/passage_vectors_bench.py --limit 2000 --questions 10   # sample the corpus, extrapolate

Measured in the same run on the served encoder (onnxruntime), its vector table off so the encoder itself is
timed: (1) the cost ahead: encoding every distinct candidate sentence of every chunk (as `HeuristicReader` splits
them, at least 4 characters) in batches of 64, against a fresh default ingest of the same filings in its own
process; (2) per question: the query pass alone (what precomputed vectors leave) against the query and the 12
candidates (what a question about sentences never seen runs), over ask_bench's questions; (3) how many of the
reader's candidates a table of every chunk's sentences holds (it should be all: the reader splits candidates
inside the chunks it reads); (4) the table's size in float16.
Writes bench/results/passage_vectors_bench.json.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
FILINGS = ROOT / "data" / "filings"
sys.path.insert(0, str(BENCH))

from ask_bench import load_questions

BATCH = 64


def corpus_sentences(engine, reader) -> list[str]:  # type: ignore[no-untyped-def]
    """Every distinct sentence the reader could make a candidate, chunk by chunk (what `qa-engine ingest
    --reader-vectors` encodes)."""
    return list(dict.fromkeys(reader.candidate_texts(engine._chunked_documents())))


def time_ingest_encoding(encoder, sentences: list[str]) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    for start in range(0, len(sentences), BATCH):
        encoder.encode_passages(sentences[start : start + BATCH])
    return time.perf_counter() - started


def time_default_ingest() -> float:
    """A fresh default ingest of the same filings in its own process (imports and jieba's dictionary included)."""
    script = "import sys; from pathlib import Path; from qa_engine import Settings, ingest; " \
             "ingest([Path(sys.argv[1])], Settings(index_dir=Path(sys.argv[2])))"
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", script, str(FILINGS), str(Path(folder) / "index")], check=True,
                       cwd=ROOT, capture_output=True)
        return time.perf_counter() - started


def per_question(engine, reader, questions: list[str], rounds: int, seed: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Query pass alone vs query and candidates, interleaved; and the candidates an ingest table would hold."""
    candidates = {}
    for question in questions:
        reading = engine.prepare(question)
        scored = reader._heuristic.score(reading.analysis, reading.passages)
        if scored is not None:
            candidates[question] = [scored.candidates[i].view.sentence for i in scored.top(reader.head.top_n)]
    query_only, query_and_candidates = [], []
    rng = random.Random(seed)
    encoder = reader.encoder
    for _ in range(rounds):
        order = list(candidates)
        rng.shuffle(order)
        for question in order:
            t = time.perf_counter()
            encoder.encode_queries([question])
            query_only.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            encoder.encode_passages(candidates[question]) @ encoder.encode_queries([question])[0]
            query_and_candidates.append((time.perf_counter() - t) * 1000)
    return {"candidates": candidates, "query_only_ms": query_only, "query_and_candidates_ms": query_and_candidates}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", type=Path, default=RESULTS / "index-ask")
    parser.add_argument("--limit", type=int, default=0, help="encode this many sentences (a random sample) and "
                        "extrapolate to the corpus; 0: all")
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS / "passage_vectors_bench.json")
    args = parser.parse_args(argv)
    from common import end_run, latency_summary, save_run
    from common import machine as machine_facts

    started = time.perf_counter()
    host = machine_facts()
    from qa_engine import Engine, Settings, ingest
    from qa_engine.read.neural import NeuralReader

    ingest([FILINGS], Settings(index_dir=args.index))
    settings = Settings(index_dir=args.index, reader="neural", reader_vector_cache_mb=0)  # time the encoder itself
    engine = Engine.open(args.index, settings)
    reader = NeuralReader(settings=settings)
    reader.warm_up()
    sentences = corpus_sentences(engine, reader)
    sample = random.Random(args.seed).sample(sentences, args.limit) if 0 < args.limit < len(sentences) else sentences
    encode_s = time_ingest_encoding(reader.encoder, sample) * len(sentences) / len(sample)
    ingest_s = time_default_ingest()
    questions = [q["question"] for q in load_questions(args.questions)]
    timed = per_question(engine, reader, questions, args.rounds, args.seed)
    table = set(sentences)
    held = [sentence in table for chosen in timed["candidates"].values() for sentence in chosen]  # type: ignore[attr-defined]
    dims = reader.encoder.encode_queries(["维度"]).shape[1]
    run: dict[str, object] = {
        "machine": host, "chunks": engine._snapshot.chunk_count, "documents": len(engine._snapshot.cards),
        "sentences": len(sentences), "encoded": len(sample), "encode_all_s": round(encode_s, 1),
        "sentences_per_s": round(len(sentences) / encode_s, 1), "default_ingest_s": round(ingest_s, 2),
        "ingest_ratio": round((ingest_s + encode_s) / ingest_s, 1),
        "table_mb_float16": round(len(sentences) * dims * 2 / 1e6, 1),
        "candidates_in_table": round(float(np.mean(held)), 3),
        "query_only_ms": latency_summary(timed["query_only_ms"]),  # type: ignore[arg-type]
        "query_and_candidates_ms": latency_summary(timed["query_and_candidates_ms"]),  # type: ignore[arg-type]
    }
    print(f"{run['documents']} filings, {run['chunks']} chunks, {run['sentences']} distinct candidate sentences "
          f"({run['encoded']} encoded)")
    print(f"vectors ahead: {run['encode_all_s']} s to encode them ({run['sentences_per_s']}/s) against "
          f"{run['default_ingest_s']} s for the default ingest: ingest × {run['ingest_ratio']}; "
          f"table {run['table_mb_float16']} MB (float16)")
    q, qc = run["query_only_ms"], run["query_and_candidates_ms"]
    print(f"per question: query pass alone p50 {q['p50']} ms, p95 {q['p95']} ms; query + 12 candidates "  # type: ignore[index]
          f"p50 {qc['p50']} ms, p95 {qc['p95']} ms (×{qc['p50'] / q['p50']:.1f} at p50)")  # type: ignore[index]
    print(f"candidates a table of every chunk's sentences holds: {run['candidates_in_table']:.1%}")
    print(end_run(run, host, started))
    save_run(run, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
