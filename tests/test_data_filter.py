"""Filter rules, the fast ROUGE-L against rouge-score itself, and LSH near-duplicates against brute force."""

from __future__ import annotations

import json
import random

from rouge_score import rouge_scorer

from visual_med_alpaca.data.config import FilterConfig
from visual_med_alpaca.data.filter import RougeL, check, filter_records
from visual_med_alpaca.data.store import read_jsonl

WORDS = ("pain fever cough rash dose liver kidney heart blood sugar insulin tumor scan biopsy nerve muscle "
         "bone joint infection virus bacteria antibiotic steroid pressure stroke asthma lung skin eye ear the of and is").split()


def _record(i, instruction="What is gout?", input="", output="Gout is a form of inflammatory arthritis.", **extra):
    return {"id": f"t:{i}", "source": "t", "instruction": instruction, "input": input, "output": output,
            "topic": "", **extra}


def test_rouge_l_equals_rouge_score_library():
    reference = rouge_scorer.RougeScorer(["rougeL"])
    ours = RougeL()
    rng = random.Random(0)
    for _ in range(300):
        a = " ".join(rng.choice(WORDS[:8]) for _ in range(rng.randint(1, 40)))
        b = " ".join(rng.choice(WORDS[:8]) for _ in range(rng.randint(1, 40)))
        expected = reference.score(a, b)["rougeL"].fmeasure
        assert abs(ours.score(ours.tokens(a), ours.tokens(b)) - expected) < 1e-9


def test_each_rule_names_its_reason():
    config = FilterConfig(min_output_words=3, max_output_words=50)
    rouge = RougeL()
    cases = {
        "empty": _record(1, output="   "),
        "truncated": _record(2, finish_reason="length"),
        "too_short": _record(3, output="Yes."),
        "too_long": _record(4, output="word " * 60),
        "refusal": _record(5, output="As an AI language model, I cannot give medical advice about gout."),
        "non_english": _record(6, output="La gota es una forma de artritis inflamatoria que afecta las articulaciones "
                                         "y se produce por el depósito de cristales de urato en los tejidos del cuerpo."),
        "copies_question": _record(7, instruction="What is the usual dose of insulin for type 1 diabetes?",
                                   output="What is the usual dose of insulin for type 1 diabetes"),
    }
    for reason, record in cases.items():
        verdict = check(record, config, rouge)
        assert verdict is not None and verdict[0] == reason, (reason, verdict)
    assert check(_record(8), config, rouge) is None
    chinese = _record(9, output="痛风是一种常见的炎症性关节炎，由尿酸盐晶体沉积引起。")
    assert check(chinese, FilterConfig(min_output_words=1), rouge)[0] == "non_english"


def _corpus(n=160, seed=0):
    """Random records plus planted near-duplicates (a few words changed) of earlier ones."""
    rng = random.Random(seed)
    records = []
    for i in range(n):
        if i > 20 and rng.random() < 0.25:
            source = rng.choice(records[:i])
            words = source["output"].split()
            for _ in range(rng.randint(0, 3)):
                words[rng.randrange(len(words))] = rng.choice(WORDS)
            records.append(_record(i, instruction=source["instruction"], output=" ".join(words)))
        else:
            records.append(_record(i, instruction=" ".join(rng.choices(WORDS, k=8)) + "?",
                                   output="The " + " ".join(rng.choices(WORDS, k=rng.randint(12, 25))) + " of the day."))
    return records


def _brute_force(records, threshold):
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    kept, dropped = [], set()
    for record in records:
        text = f"{record['instruction']}\n{record['output']}"
        if any(scorer.score(other, text)["rougeL"].fmeasure >= threshold for other in kept):
            dropped.add(record["id"])
        else:
            kept.append(text)
    return dropped


def test_lsh_near_duplicates_match_brute_force_rouge_l(tmp_path):
    records = _corpus()
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    result = filter_records([tmp_path / "in.jsonl"], tmp_path / "kept.jsonl", tmp_path / "dropped.jsonl",
                            FilterConfig(), progress=False)
    dropped = {r["id"]: r for r in read_jsonl(tmp_path / "dropped.jsonl")}
    expected = _brute_force(records, 0.7)
    assert len(expected) > 20
    assert set(dropped) == expected
    assert all(r["drop_reason"] == "near_duplicate" and "ROUGE-L" in r["drop_detail"] for r in dropped.values())
    assert result["kept_total"] + result["dropped_total"] == len(records)


def test_filter_resumes_where_it_stopped(tmp_path):
    records = _corpus(200, seed=1)
    (tmp_path / "half.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records[:120]))
    (tmp_path / "all.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    config = FilterConfig()
    filter_records([tmp_path / "half.jsonl"], tmp_path / "k.jsonl", tmp_path / "d.jsonl", config, progress=False)
    second = filter_records([tmp_path / "all.jsonl"], tmp_path / "k.jsonl", tmp_path / "d.jsonl", config, progress=False)
    assert second["processed"] == 80
    filter_records([tmp_path / "all.jsonl"], tmp_path / "k1.jsonl", tmp_path / "d1.jsonl", config, progress=False)
    assert (tmp_path / "k.jsonl").read_text() == (tmp_path / "k1.jsonl").read_text()


def test_a_source_template_instruction_does_not_make_records_duplicates(tmp_path):
    template = "Does answering Question B also answer Question A, at least partly? Answer yes or no please."
    records = [_record(i, instruction=template, input=" ".join(f"w{i}x{j}" for j in range(8)) + " is the question?",
                       output="Yes. The same.") for i in range(25)]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    result = filter_records([tmp_path / "in.jsonl"], tmp_path / "k.jsonl", tmp_path / "d.jsonl", FilterConfig(),
                            progress=False)
    assert result["kept_total"] == 25
    # with the instruction counted as content, most of them would look like near-duplicates
    strict = filter_records([tmp_path / "in.jsonl"], tmp_path / "k2.jsonl", tmp_path / "d2.jsonl",
                            FilterConfig(template_min_count=1000), progress=False)
    assert strict["dropped_total"] > 10
