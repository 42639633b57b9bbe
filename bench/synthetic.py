"""An N× scale-up of the bundled filings as perturbed copies, for benchmarks (deterministic, seeded).

Copy 0 is the bundled corpus verbatim, so the benchmark queries keep finding their answers. Copies 1..N-1
each get, per filing: a distinct file name; a distinct company name, short name, stock code and English
name substituted in the text and in the metadata sidecar; every number multiplied by a per-copy factor
(years shifted instead, calendar days and clock times kept); and a few sentences shuffled within their
line. No two files are byte-identical, so the engine's content-hash dedup keeps them all.

    python bench/synthetic.py --scale 10 --out bench/results/corpus-10x
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT / "data" / "filings"
SIDECAR = "metadata.json"
STAMP = ".synthetic.json"
GENERATOR_VERSION = 1

# Characters for the distinctive two-character prefix of a copy's company names (北方稀土 → 瑞恒稀土).
PREFIX_CHARS = "瑞恒泰嘉盛鑫宏远达兴隆丰源昌茂裕晟弘锦德润祥云康安永海川岳峰澄朗睿启航辰"
NUMBER = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
SENTENCE = re.compile(r"[^。！？；]*[。！？；]")
SHUFFLE_RATE = 0.15  # share of multi-sentence lines whose sentences are shuffled


@dataclass(frozen=True)
class Identity:
    """The names a filing's company goes by; a copy gets a new one of each."""

    company: str
    short_name: str
    stock_code: str
    english_name: str


@dataclass(frozen=True)
class CopyPlan:
    """How copy `index` perturbs the corpus."""

    index: int
    factor: float  # numbers are multiplied by this
    year_shift: int
    names: dict[str, str]  # old string → new string, for company names, short names, codes


def make_corpus(scale: int, out: Path, source: Path = DEFAULT_SOURCE, seed: int = 0) -> dict[str, object]:
    """Writes `scale` copies of the filings in `source` (copy 0 verbatim) and a sidecar into `out`;
    returns the stamp (parameters, file count, bytes). Reuses `out` when its stamp already matches."""
    params = {"version": GENERATOR_VERSION, "scale": scale, "seed": seed, "source": str(source.resolve())}
    stamp_path = out / STAMP
    if stamp_path.is_file():
        stamp = json.loads(stamp_path.read_text(encoding="utf-8"))
        if stamp.get("params") == params:
            return stamp
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    started = time.perf_counter()
    sidecar = json.loads((source / SIDECAR).read_text(encoding="utf-8"))
    files = sorted(p for p in source.glob("*.txt"))
    identities = _identities(sidecar)
    written: dict[str, dict[str, str]] = {}
    digests: set[str] = set()
    total_bytes = 0
    shuffled = 0
    for copy in range(scale):
        plan = _copy_plan(copy, identities, seed)
        for path in files:
            name = path.name if copy == 0 else f"s{copy:03d}_{path.name}"
            text = path.read_text(encoding="utf-8")
            if copy:
                text, moved = perturb_text(text, plan, random.Random(f"{seed}:{copy}:{path.name}"))
                shuffled += moved
            data = text.encode("utf-8")
            digests.add(hashlib.sha256(data).hexdigest())
            (out / name).write_bytes(data)
            total_bytes += len(data)
            if path.name in sidecar:
                written[name] = perturb_meta(sidecar[path.name], plan)
    (out / SIDECAR).write_text(json.dumps(written, ensure_ascii=False, indent=1), encoding="utf-8")
    stamp = {
        "params": params, "files": scale * len(files), "distinct_contents": len(digests), "bytes": total_bytes,
        "shuffled_lines": shuffled, "seconds": round(time.perf_counter() - started, 2),
    }
    stamp_path.write_text(json.dumps(stamp, ensure_ascii=False, indent=1), encoding="utf-8")
    return stamp


def perturb_text(text: str, plan: CopyPlan, rng: random.Random) -> tuple[str, int]:
    """The copy's text, and how many lines had their sentences shuffled."""
    pattern = _substitution_pattern(tuple(plan.names))

    def replace(match: re.Match[str]) -> str:
        found = match.group(0)
        if found in plan.names:
            return plan.names[found]
        return _shift_number(match, plan)

    text = pattern.sub(replace, text)
    lines = text.split("\n")
    moved = 0
    for i, line in enumerate(lines):
        sentences = SENTENCE.findall(line)
        if len(sentences) >= 2 and rng.random() < SHUFFLE_RATE:
            rest = line[sum(len(s) for s in sentences):]
            order = sentences[:]
            rng.shuffle(order)
            if order != sentences:
                lines[i] = "".join(order) + rest
                moved += 1
    return "\n".join(lines), moved


def perturb_meta(entry: dict[str, str], plan: CopyPlan) -> dict[str, str]:
    """The sidecar entry for the copy: names and code substituted, year shifted."""
    if plan.index == 0:
        return dict(entry)
    pattern = _substitution_pattern(tuple(plan.names))
    result = {}
    for key, value in entry.items():
        if key == "date":
            result[key] = re.sub(r"^\d{4}", lambda m: str(int(m.group(0)) + plan.year_shift), value)
        elif key == "exchange":
            result[key] = value
        elif key == "title":
            renamed = pattern.sub(lambda m: plan.names.get(m.group(0), m.group(0)), value)
            result[key] = re.sub(r"(?<!\d)(?:199\d|20[0-3]\d)(?!\d)",
                                 lambda m: str(int(m.group(0)) + plan.year_shift), renamed)
        else:
            result[key] = pattern.sub(lambda m: plan.names.get(m.group(0), m.group(0)), value)
    return result


def _identities(sidecar: dict[str, dict[str, str]]) -> list[Identity]:
    seen: dict[str, Identity] = {}
    for entry in sidecar.values():
        ident = Identity(entry.get("company", ""), entry.get("short_name", ""), entry.get("stock_code", ""),
                         entry.get("english_name", ""))
        seen.setdefault(ident.company, ident)
    return list(seen.values())


def _copy_plan(copy: int, identities: list[Identity], seed: int) -> CopyPlan:
    rng = random.Random(f"{seed}:plan:{copy}")
    factor = round(rng.choice([rng.uniform(0.7, 0.95), rng.uniform(1.05, 1.4)]), 4)
    names: dict[str, str] = {}
    if copy:
        for n, ident in enumerate(identities):
            names.update(_renames(ident, _prefix(copy * len(identities) + n, seed), f"9{(copy * 10 + n) % 100000:05d}",
                                  copy))
    return CopyPlan(index=copy, factor=factor, year_shift=-(copy % 7) - 1 if copy else 0, names=names)


def _prefix(number: int, seed: int) -> str:
    """A distinct two-character prefix per number (three characters past the pool's pair count)."""
    pool = list(PREFIX_CHARS)
    random.Random(f"{seed}:pool").shuffle(pool)
    pairs = [a + b for a in pool for b in pool if a != b]
    if number < len(pairs):
        return pairs[number]
    return pool[number // len(pairs) % len(pool)] + pairs[number % len(pairs)]


def _renames(ident: Identity, prefix: str, code: str, copy: int) -> dict[str, str]:
    head = ident.short_name[:2]
    short = prefix + ident.short_name[2:]
    company = ident.company.replace(head, prefix, 1) if head in ident.company else prefix + ident.company
    names = {ident.company: company, ident.short_name: short, ident.stock_code: code}
    ascii_parens = ident.company.replace("（", "(").replace("）", ")")
    names[ascii_parens] = company.replace("（", "(").replace("）", ")")
    if ident.english_name:
        names[ident.english_name] = f"Synthetic {copy:03d}-{code} {ident.english_name}"
    return {old: new for old, new in names.items() if old}


_PATTERNS: dict[tuple[str, ...], re.Pattern[str]] = {}


def _substitution_pattern(names: tuple[str, ...]) -> re.Pattern[str]:
    """Names (longest first), then numbers: one left-to-right pass, so a replaced code is not scaled."""
    if names not in _PATTERNS:
        alternatives = [re.escape(n) for n in sorted(names, key=len, reverse=True)] + [NUMBER]
        _PATTERNS[names] = re.compile("|".join(alternatives))
    return _PATTERNS[names]


def _shift_number(match: re.Match[str], plan: CopyPlan) -> str:
    found = match.group(0)
    text, start, end = match.string, match.start(), match.end()
    before, after = text[start - 1 : start], text[end : end + 1]
    plain = found.replace(",", "")
    if (before and before in ".:：") or (after and after in ":：") or (
        after and after in "月日时" and "." not in found and int(plain) <= 31
    ):
        return found  # clock times, calendar days and months, fractional parts: keep dates valid
    if "," not in found and "." not in found and len(found) == 4 and 1990 <= int(found) <= 2039:
        return str(int(found) + plan.year_shift)
    if len(plain) > 1 and plain.startswith("0") and "." not in plain:
        return found  # codes with leading zeros
    decimals = len(plain.split(".")[1]) if "." in plain else 0
    value = float(plain) * plan.factor
    body = f"{value:,.{decimals}f}" if "," in found else f"{value:.{decimals}f}"
    return body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=int, required=True, help="number of copies (1 = the bundled corpus)")
    parser.add_argument("--out", type=Path, required=True, help="target folder (replaced)")
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    stamp = make_corpus(args.scale, args.out, args.source, args.seed)
    print(json.dumps(stamp, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
