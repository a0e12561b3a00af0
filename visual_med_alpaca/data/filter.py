"""Stage 3: drop records that would teach the model something bad, and record why for each.

Rules: empty or truncated answers, length bounds, refusals and "as an AI language model" boilerplate,
non-English text, answers that copy the question, and near-duplicates (ROUGE-L F >= 0.7 against a record
already kept, the self-instruct rule). Near-duplicate search is fast on 50k records because only records in
the same MinHash LSH bucket (word-set Jaccard above `lsh_threshold`) are compared with exact ROUGE-L, and
pairs whose lengths alone rule out the threshold are skipped. Resumable: records already in kept/dropped are
skipped and the LSH index is rebuilt from the kept file.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

from ..errors import UserInputError
from .config import FilterConfig
from .store import JsonlStore, read_jsonl, read_records

REFUSALS = re.compile(
    r"as an ai\b|as a language model|as an ai language model|i(?:'m| am) (?:just )?an ai\b|"
    r"i(?:'m| am) not a (?:doctor|medical professional)|i(?:'m| am) sorry,? but i (?:can(?:no|')t|am unable)|"
    r"i (?:cannot|can't|am unable to) (?:provide|give|answer|help with)|i do not have access to|"
    r"consult (?:a|your) (?:doctor|healthcare provider) for (?:an )?(?:accurate|proper) (?:answer|diagnosis)\.?$",
    re.IGNORECASE,
)
ENGLISH_WORDS = frozenset(
    "the of and to in is a for that with are as be or by on it this not from can may which an have at"
    " has was your you if when what how do does will should".split()
)
WORD = re.compile(r"\w+", re.UNICODE)


def words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def question_text(record: dict) -> str:
    return f"{record.get('instruction', '')}\n{record.get('input', '')}".strip()


def looks_english(text: str, min_ratio: float) -> bool:
    """Heuristic: mostly ASCII letters and, for longer texts, a share of common English function words."""
    letters = [c for c in text if c.isalpha()]
    if letters and sum(c.isascii() for c in letters) / len(letters) < min_ratio:
        return False
    tokens = words(text)
    return len(tokens) < 20 or sum(t in ENGLISH_WORDS for t in tokens) / len(tokens) >= 0.03


def token_masks(tokens: list[str]) -> dict[str, int]:
    """Bit mask of the positions of each token, the precomputed side of `lcs_length`."""
    masks: dict[str, int] = {}
    for i, token in enumerate(tokens):
        masks[token] = masks.get(token, 0) | (1 << i)
    return masks


def lcs_length(a: list[str], b_masks: dict[str, int], b_len: int) -> int:
    """Longest common subsequence length, bit-parallel (Allison–Dix / Hyyrö): one big-int step per token of
    `a` instead of rouge-score's O(n·m) Python table, which is ~600x slower on 500-token texts."""
    full = (1 << b_len) - 1
    v = full
    for token in a:
        u = v & b_masks.get(token, 0)
        v = ((v + u) | (v - u)) & full
    return b_len - bin(v).count("1")


class RougeL:
    """ROUGE-L F1 as rouge-score computes it (its tokenizer, F = 2PR/(P+R)), with a fast LCS and the length
    bound that prunes most pairs."""

    def __init__(self):
        from rouge_score import tokenize

        self._tokenize = tokenize.tokenize

    def tokens(self, text: str) -> list[str]:
        return self._tokenize(text, None)

    def score(self, a: list[str], b: list[str], threshold: float = 0.0, b_masks: dict | None = None) -> float:
        if not a or not b or 2 * min(len(a), len(b)) / (len(a) + len(b)) < threshold:
            return 0.0  # F1 <= 2·min/(n+m): the lengths alone rule the pair out
        common = lcs_length(a, b_masks if b_masks is not None else token_masks(b), len(b))
        if common == 0:
            return 0.0
        precision, recall = common / len(a), common / len(b)
        return 2 * precision * recall / (precision + recall)


class NearDuplicateIndex:
    """Kept records in MinHash LSH buckets; `find` returns (id, score) of a kept near-duplicate or None."""

    def __init__(self, config: FilterConfig, template_instructions: frozenset[str] = frozenset()):
        from datasketch import MinHash, MinHashLSH

        self.config = config
        self.template_instructions = template_instructions
        self.lsh = MinHashLSH(threshold=config.lsh_threshold, num_perm=config.num_perm)
        template = MinHash(num_perm=config.num_perm, seed=1)
        self._permutations, self._scheme = template.permutations, template.scheme  # computed once
        self.kept: dict[str, tuple[list[str], dict[str, int]]] = {}
        self.rouge = RougeL()

    def text(self, record: dict) -> str:
        """The compared text; a source's fixed instruction ("Answer this question truthfully") is left out,
        else it would make every record of that source look alike."""
        instruction = record.get("instruction", "")
        question = (record.get("input", "") if instruction in self.template_instructions
                    else question_text(record))
        if self.config.dedup_on == "question":
            return question
        return f"{question}\n{record.get('output', '')}"

    def _minhash(self, tokens: list[str]):
        from datasketch import MinHash

        minhash = MinHash(num_perm=self.config.num_perm, seed=1, permutations=self._permutations,
                           scheme=self._scheme)
        minhash.update_batch([t.encode() for t in set(tokens)])
        return minhash

    def find(self, record: dict) -> tuple[str | None, float, object]:
        tokens = self.rouge.tokens(self.text(record))
        minhash = self._minhash(tokens)
        best_id, best = None, 0.0
        for other in self.lsh.query(minhash):
            other_tokens, other_masks = self.kept[other]
            score = self.rouge.score(tokens, other_tokens, self.config.rouge_threshold, other_masks)
            if score >= self.config.rouge_threshold and score > best:
                best_id, best = other, score
        return best_id, best, (tokens, minhash)

    def add(self, record_id: str, prepared) -> None:
        tokens, minhash = prepared
        self.kept[record_id] = (tokens, token_masks(tokens))
        self.lsh.insert(record_id, minhash)

    def add_record(self, record: dict) -> None:
        tokens = self.rouge.tokens(self.text(record))
        self.add(record["id"], (tokens, self._minhash(tokens)))


def check(record: dict, config: FilterConfig, rouge: RougeL) -> tuple[str, str] | None:
    """The first rule a record breaks, as (reason, detail), or None when it passes the per-record rules."""
    output = record.get("output", "").strip()
    if not output:
        return "empty", "no answer"
    if record.get("finish_reason") == "length":
        return "truncated", "the model hit max_tokens"
    n_out = len(words(output))
    if n_out < config.min_output_words:
        return "too_short", f"{n_out} words"
    if n_out > config.max_output_words:
        return "too_long", f"answer has {n_out} words"
    n_instr = len(words(record.get("instruction", "")))
    if n_instr == 0:
        return "empty", "no instruction"
    if n_instr > config.max_instruction_words:
        return "too_long", f"instruction has {n_instr} words"
    n_in = len(words(record.get("input", "")))
    if n_in > config.max_input_words:
        return "too_long", f"input has {n_in} words"
    match = REFUSALS.search(output)
    if match:
        return "refusal", match.group(0)
    for part in ("instruction", "input", "output"):
        if record.get(part) and not looks_english(record[part], config.min_english_ratio):
            return "non_english", part
    question = question_text(record)
    normalized_out, normalized_q = " ".join(words(output)), " ".join(words(question))
    if normalized_out and normalized_out in normalized_q:
        return "copies_question", "answer is contained in the question"
    score = rouge.score(rouge.tokens(output), rouge.tokens(question), config.copy_threshold)
    if score >= config.copy_threshold:
        return "copies_question", f"ROUGE-L {score:.2f} with the question"
    return None


def merge_inputs(inputs: list[Path]) -> list[dict]:
    """Records of all inputs by id, later files winning (synthesized answers replace empty ones)."""
    merged: dict[str, dict] = {}
    for path in inputs:
        for record in read_records(path):
            merged[record["id"]] = record
    return list(merged.values())


def filter_records(inputs: list[Path], kept_path: Path, dropped_path: Path, config: FilterConfig,
                   progress: bool = True) -> dict:
    """Split the merged inputs into kept and dropped JSONL (resumable); returns counts."""
    from tqdm import tqdm

    records = merge_inputs(inputs)
    counts = Counter(r.get("instruction", "") for r in records)
    index = NearDuplicateIndex(config, frozenset(i for i, n in counts.items() if n >= config.template_min_count))
    reasons: Counter = Counter()
    with JsonlStore(kept_path, sync_every=500) as kept, JsonlStore(dropped_path, sync_every=500) as dropped:
        for record in read_jsonl(kept_path):
            index.add_record(record)
        todo = [r for r in records if r["id"] not in kept and r["id"] not in dropped]
        for record in tqdm(todo, desc="filter", unit="rec", file=sys.stderr, disable=not progress):
            verdict = check(record, config, index.rouge)
            prepared = None
            if verdict is None:
                duplicate_of, score, prepared = index.find(record)
                if duplicate_of is not None:
                    verdict = ("near_duplicate", f"ROUGE-L {score:.2f} with {duplicate_of}")
            if verdict is None:
                kept.append(record)
                index.add(record["id"], prepared)
                reasons["kept"] += 1
            else:
                dropped.append({**record, "drop_reason": verdict[0], "drop_detail": verdict[1]})
                reasons[verdict[0]] += 1
        total_kept, total_dropped = len(kept.ids), len(dropped.ids)
    if not total_kept:
        _refuse_nothing_kept(inputs, len(records), kept_path, dropped_path)
    return {"processed": len(todo), "kept_total": total_kept, "dropped_total": total_dropped,
            "this_run": dict(reasons)}


def _refuse_nothing_kept(inputs: list[Path], n_read: int, kept_path: Path, dropped_path: Path) -> None:
    """A filter that keeps no record is one error saying what was read and why nothing is left, not an empty
    kept.jsonl the next stages would turn into an empty training file (session 34). The empty files this run
    opened go; dropped.jsonl, the work a rerun resumes from, stays."""
    for path in (kept_path, dropped_path):
        if path.exists() and path.stat().st_size == 0:
            path.unlink()
    sources = ", ".join(map(str, inputs))
    if not n_read:
        raise UserInputError(f"nothing to filter: no records read from {sources}")
    raise UserInputError(f"the filter kept none of the {n_read} record{'s' * (n_read != 1)} read from {sources} "
                         f"({_dropped_note(dropped_path)[1]})")


def _dropped_note(dropped_path: Path) -> tuple[int, str]:
    """How many records dropped.jsonl holds, and the note naming it with its drop reasons and how to redo them."""
    reasons = Counter(record.get("drop_reason") or "no reason given" for record in read_jsonl(dropped_path))
    return sum(reasons.values()), (f"{dropped_path}: {', '.join(f'{reason} {n}' for reason, n in reasons.most_common())}"
                                   f"; a rerun skips those, so delete it to filter them again with another recipe")


def nothing_kept(kept_path: Path, dropped_path: Path) -> str | None:
    """Why kept.jsonl is not there when the stages after the filter look for it: a filter that keeps no record
    writes none (see _refuse_nothing_kept) and leaves the records it dropped in dropped.jsonl, which is what this
    reads. None: kept.jsonl is there, or no dropped record is (the filter has not run here)."""
    if kept_path.exists() or not dropped_path.is_file():
        return None
    n_dropped, note = _dropped_note(dropped_path)
    if not n_dropped:
        return None
    return (f"{kept_path} not found: the filter kept none of the {n_dropped} record{'s' * (n_dropped != 1)} it read "
            f"({note})")
