"""The resumable evaluation loop: items -> Assistant (the user's path) -> predictions JSONL -> metrics JSON.

Every finished item is appended and flushed at once, so an interrupted run loses at most the item in
flight; a rerun with the same --out skips the ids already in predictions.jsonl (resume.py, the mechanism
`vmed eval charts` shares). With `concurrency` N > 1,
N items are answered at a time through the batching engine (llm/engine.py); records are still written in
item order, so the files are the same as a one-at-a-time run's.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import time
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from ..config import AssistantConfig, GenerationSettings, Strict, dump_config
from ..errors import UserInputError
from ..experts import check_expert_choice
from ..llm.base import resolve_backend, strip_backend_prefix
from ..llm.engine import EngineConfig
from ..prompts import build_prompt
from .benchmarks import BENCHMARKS, Item, load_benchmark
from .benchmarks.vqa import subsets_help
from .metrics.text import choice_metrics, extract_choice, ranking_metrics
from .metrics.vqa import vqa_metrics
from .resume import read_predictions, resumable

PREDICTIONS = "predictions.jsonl"
METRICS = "metrics.json"
RUN = "run.json"
# Settings that change predictions: a resumed run must match the one that wrote the file.
RESUME_KEYS = ("benchmark", "subset", "mode", "expert", "llm", "generation", "vision", "knowledge")


EVAL_GENERATION = {"max_new_tokens": 32, "temperature": 0.0}  # short greedy answers, unless a recipe says otherwise


class EvalAssistantConfig(AssistantConfig):
    """The assistant as evaluated: greedy, short answers unless the recipe says otherwise."""

    generation: GenerationSettings = GenerationSettings(**EVAL_GENERATION)

    @field_validator("generation", mode="before")
    @classmethod
    def _short_greedy_answers(cls, value: Any) -> Any:
        """A recipe or `--set` naming some generation keys keeps the short greedy answers for the rest (without
        this, `--set assistant.generation.stop=[]` alone brought back the assistant's 256 new tokens)."""
        if isinstance(value, dict):
            return {**EVAL_GENERATION, **value}
        return value


class EvalConfig(Strict):
    """One evaluation recipe (configs/eval/*.yaml); every key can be overridden with --set."""

    benchmark: str
    data_dir: str | None = None
    subset: str | None = Field(None, description=subsets_help(brief=True))
    limit: int | None = Field(None, ge=1, description="first N items only")
    mode: Literal["auto", "loglik", "generate"] = Field(
        "auto", description="multiple choice by option log-likelihood or by generation + answer extraction; "
                            "auto = loglik where the backend can score, else generate")
    expert: str = Field("auto", description="auto (router), none, or an expert name, for image benchmarks")
    out: str | None = Field(None, description="output folder (default runs/eval/<benchmark>)")
    concurrency: int = Field(1, ge=1, le=256, description="items answered at a time through the batching engine "
                                                          "(generate mode; 1 = in-process, one by one)")
    engine: EngineConfig = EngineConfig()
    assistant: EvalAssistantConfig = EvalAssistantConfig()

    def out_dir(self) -> Path:
        return Path(self.out or Path("runs") / "eval" / self.benchmark)


def _llm_identity(llm) -> dict[str, Any]:
    """The language model's settings that shape predictions; case_memory only for a VLM (the one backend it changes,
    so other runs written before it still resume), and with it on, the bundle's own case_memory settings (vlm.json:
    thresholds, answer or prompt), which change the answers as much as the flag."""
    vlm = resolve_backend(llm) == "vlm"
    identity = llm.model_dump(mode="json", exclude={"api_key", "threads", "timeout_s"} | (set() if vlm else {"case_memory"}))
    if vlm and llm.case_memory:
        from ..vlm.bundle import case_memory_settings

        identity["case_memory_settings"] = case_memory_settings(strip_backend_prefix(llm.model))
    return identity


def _run_identity(config: EvalConfig, mode: str) -> dict[str, Any]:
    """The settings that shape predictions, as plain JSON (so it compares equal to what run.json holds)."""
    return json.loads(json.dumps({
        "benchmark": config.benchmark, "subset": config.subset, "mode": mode, "expert": config.expert,
        "llm": _llm_identity(config.assistant.llm),
        # no extra stops: left out, so runs written before `generation.stop` existed still resume
        "generation": config.assistant.generation.model_dump(mode="json", exclude={"stop"} if not
                                                             config.assistant.generation.stop else None),
        "vision": config.assistant.vision.model_dump(mode="json"),
        "knowledge": config.assistant.knowledge.model_dump(mode="json", exclude={"qdrant_api_key", "encoder_threads"}),
    }))


def with_benchmark_stop(config: EvalConfig, stop: tuple[str, ...]) -> EvalConfig:
    """`generation.stop` left unset (None) takes the benchmark's stops; the run's identity records them."""
    generation = config.assistant.generation
    if generation.stop is not None:
        return config
    assistant = config.assistant.model_copy(update={"generation": generation.model_copy(update={"stop": list(stop)})})
    return config.model_copy(update={"assistant": assistant})


class Evaluator:
    """Runs one benchmark through an `Assistant`; `run()` returns the metrics dict it also writes."""

    def __init__(self, config: EvalConfig, assistant=None, progress: bool = True, restart: bool = False):
        from ..pipeline import Assistant

        self.spec = BENCHMARKS.get(config.benchmark)
        if self.spec is None:
            raise UserInputError(f"unknown benchmark '{config.benchmark}'; choose one of: {', '.join(BENCHMARKS)}")
        check_expert_choice(config.expert)  # a text benchmark never routes: a misspelt --expert was ignored (exit 0)
        self.config = config = with_benchmark_stop(config, self.spec.stop)
        self.given_assistant = assistant is not None  # used as it is, also with concurrency (then thread-safe)
        # Many questions share an image: each image is routed and described once per run (deterministic).
        self.assistant = assistant or Assistant(config.assistant, cache_descriptions=True)
        self.progress = progress
        self.restart = restart  # delete the earlier predictions and metrics in the output folder first
        self.items = load_benchmark(config.benchmark, config.data_dir, config.subset, config.limit)

    # -- mode ---------------------------------------------------------------------------------------
    def resolved_mode(self) -> str:
        if self.spec.task == "vqa":
            return "generate"  # free-text answers, scored like LLaVA-Med
        if self.config.mode != "auto":
            return self.config.mode
        return "loglik" if self._can_score() else "generate"

    def _can_score(self) -> bool:
        from ..llm.base import resolve_backend

        return resolve_backend(self.config.assistant.llm) in ("gguf", "hf")

    # -- run ----------------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        from tqdm import tqdm

        out = self.config.out_dir()
        mode = self.resolved_mode()
        identity = _run_identity(self.config, mode)
        with resumable(out, out / PREDICTIONS, out / RUN, identity, RESUME_KEYS, {"config": dump_config(self.config)},
                       f"another evaluation is writing to {out}; wait for it or use another --out",
                       restart=self.restart) as (finished, append):
            if self.restart:
                (out / METRICS).unlink(missing_ok=True)
            done = {r["id"] for r in finished}
            todo = [item for item in self.items if item.id not in done]
            with self._engine(mode) as concurrency:
                model_name = self.assistant.llm.name  # load now: a model that cannot load must stop the run
                started = time.perf_counter()
                with tqdm(total=len(self.items), initial=len(self.items) - len(todo), desc=self.config.benchmark,
                          unit="q", disable=not self.progress, dynamic_ncols=True) as bar:
                    for record in self._predict_in_order(todo, mode, concurrency):
                        append(record)
                        bar.update(1)
                seconds = time.perf_counter() - started
            return self.write_metrics(out, mode, identity, seconds, len(todo), model_name)

    @contextlib.contextmanager
    def _engine(self, mode: str):
        """With concurrency N > 1 (generate mode): answer through the batching engine, N at a time."""
        from ..llm.base import resolve_backend
        from ..llm.engine import open_engine
        from ..pipeline import Assistant

        n = self.config.concurrency
        if n == 1 or mode != "generate":
            yield 1
            return
        if self.given_assistant:
            yield n
            return
        engine = open_engine(self.config.engine, self.config.assistant.llm, parallel=n)
        if engine is None:
            if resolve_backend(self.config.assistant.llm) != "openai":
                raise UserInputError("--concurrency above 1 needs the batching engine: build it with `vmed engine "
                                     "build` (GGUF models) or point --llm-url at a running one")
            yield n  # a remote OpenAI-compatible server: its client is thread-safe
            return
        previous = self.assistant
        self.assistant = Assistant(self.config.assistant, llm=engine.model, cache_descriptions=True)
        try:
            yield n
        finally:
            self.assistant = previous
            engine.close()

    def _predict_in_order(self, todo: list[Item], mode: str, concurrency: int):
        """Records in item order; `concurrency` items in flight, a bounded window of futures ahead."""
        if concurrency == 1:
            for item in todo:
                yield self.predict(item, mode)
            return
        items = iter(todo)
        with ThreadPoolExecutor(concurrency, thread_name_prefix="vmed-eval") as pool:
            window = deque(pool.submit(self.predict, item, mode) for item in itertools.islice(items, 2 * concurrency))
            try:
                while window:
                    record = window.popleft().result()
                    following = next(items, None)
                    if following is not None:
                        window.append(pool.submit(self.predict, following, mode))
                    yield record
            finally:
                for future in window:  # interrupted: drop what has not started
                    future.cancel()

    # -- one item -----------------------------------------------------------------------------------
    def predict(self, item: Item, mode: str) -> dict[str, Any]:
        start = time.perf_counter()
        record: dict[str, Any] = {
            "id": item.id, "kind": item.kind, "question": item.meta.get("display_question", item.question),
            "reference": item.reference,
        }
        for key in ("group", "order", "reference_rank", "reference_score"):
            if key in item.meta:
                record[key] = item.meta[key]
        try:
            if mode == "loglik" and item.options:
                record.update(self._score(item))
            else:
                if item.image is not None and not item.image.is_file():
                    raise UserInputError(f"image for {item.id} not found: {item.image}")
                answer = self.assistant.ask(item.question, item.image, self.config.expert)
                record.update(prediction=answer.answer, expert=answer.expert)
                if answer.option_logprobs:  # a yes/no question decided by option log-likelihood
                    record["option_logprobs"] = answer.option_logprobs
                if answer.remembered:  # a VLM's case memory matched: which training case, and how it was used
                    record["remembered"] = {k: answer.remembered[k] for k in
                                            ("id", "use", "image_similarity", "question_similarity")}
                if item.options:
                    record["choice"] = extract_choice(answer.answer, item.options)
        except UserInputError as exc:  # this item cannot be asked (e.g. longer than the context): scored wrong
            record.update(prediction="", choice=None, error=str(exc))
        record["seconds"] = round(time.perf_counter() - start, 3)
        return record

    def _score(self, item: Item) -> dict[str, Any]:
        from ..llm.base import ScoresContinuations

        llm = self.assistant.llm
        if not isinstance(llm, ScoresContinuations):
            raise UserInputError(f"the {type(llm).__name__} backend cannot score options; use --mode generate")
        description = self.assistant.describe(item.image, self.config.expert) if item.image else None
        prompt = build_prompt(item.question, description.text if description else None)
        scores = llm.score_continuations(prompt, list(item.options))
        best = max(range(len(scores)), key=scores.__getitem__)
        return {"choice": item.options[best], "option_logprobs": dict(zip(item.options, map(lambda s: round(s, 4), scores))),
                "expert": description.expert if description else "none"}

    # -- metrics ------------------------------------------------------------------------------------
    def write_metrics(self, out: Path, mode: str, identity: dict, seconds: float, new_items: int,
                      model_name: str) -> dict[str, Any]:
        wanted = {item.id for item in self.items}
        records = [r for r in read_predictions(out / PREDICTIONS) if r["id"] in wanted]
        metrics = compute_metrics(self.spec.task, records, self.items[0].options if self.items else ())
        result = {
            "benchmark": self.config.benchmark,
            "subset": self.config.subset,
            "limit": self.config.limit,
            "n_items": len(self.items),
            "n_scored": len(records),
            "mode": mode,
            "model": model_name,
            "llm": identity["llm"],
            "generation": identity["generation"] if mode == "generate" else None,
            "expert_requested": self.config.expert if self.spec.task == "vqa" else None,
            "experts_used": dict(Counter(r.get("expert", "none") for r in records)) if self.spec.task == "vqa" else None,
            "metrics": metrics,
            "n_errors": sum(1 for r in records if r.get("error")),
            "n_remembered": sum(1 for r in records if r.get("remembered")),  # VLM case memory matched
            "seconds_this_run": round(seconds, 1),
            "items_this_run": new_items,
            "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (out / METRICS).write_text(json.dumps(result, indent=2) + "\n")
        return result


def compute_metrics(task: str, records: list[dict], labels: tuple[str, ...] = ()) -> dict[str, Any]:
    if task == "vqa":
        return vqa_metrics(records)
    if task == "choice":
        return choice_metrics([r["reference"] for r in records], [r.get("choice") for r in records], labels)
    if task == "rank":
        ranked = []
        for r in records:
            if "option_logprobs" in r:
                score = r["option_logprobs"]["yes"] - r["option_logprobs"]["no"]
            else:
                score = {"yes": 1.0, "no": -1.0}.get(r.get("choice"), 0.0)
            ranked.append({"group": r["group"], "order": r["order"], "score": score,
                           "reference_rank": r["reference_rank"], "correct": r["reference_score"] >= 3})
        return ranking_metrics(ranked)
    raise ValueError(f"unknown task {task}")
