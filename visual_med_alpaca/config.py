"""Typed configuration: defaults < YAML file < environment (VMED_...) < command-line flags.

Every recipe in the project (assistant, training, evaluation) is a pydantic model, so the same
`load_config` reads any of them from YAML and applies dotted `key.sub=value` overrides.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from .errors import UserInputError
from .paths import read_text_file

Model = TypeVar("Model", bound=BaseModel)


class Strict(BaseModel):
    """Base for all configs: unknown keys are an error, so a typo never passes silently; a number must be finite
    (`--temperature nan` was refused as "less than or equal to 5", `--request-timeout inf` accepted)."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=(), allow_inf_nan=False)


# Seeds every backend takes: transformers' set_seed refuses anything outside 0..2**32-1 (the hf backend failed after
# loading the model; `vmed serve` answered a bad request with HTTP 502 "generation failed"), and llama.cpp reads
# 2**32-1 as "a random seed" (not reproducible).
SEED_MAX = 2**32 - 2
# The most CPU threads any --threads / *.threads setting may ask for: llama.cpp aborted (std::bad_alloc, exit 134)
# at 100,000 threads and spent minutes starting 10,000 before a word; far above any machine's cores.
MAX_THREADS = 1024
Threads = Annotated[int, Field(ge=1, le=MAX_THREADS)]


class GenerationSettings(Strict):
    max_new_tokens: int = Field(256, ge=1, le=8192)
    temperature: float = Field(0.0, ge=0.0, le=5.0, description="0 = greedy decoding")
    top_p: float = Field(0.95, gt=0.0, le=1.0)
    top_k: int = Field(40, ge=0)
    repetition_penalty: float = Field(1.1, ge=0.5, le=3.0)
    seed: int = Field(0, ge=0, le=SEED_MAX)
    stop_on_repeat: bool = Field(True, description="cut the answer where it starts repeating a sentence")
    stop: list[Annotated[str, Field(min_length=1)]] | None = Field(
        None, description="more stop sequences after the Alpaca headers, e.g. ['\\n\\n'] (end at a blank line); "
                          "None: the task's default (none for ask/serve, the benchmark's for `vmed eval`); [] none")


class LLMConfig(Strict):
    backend: Literal["auto", "gguf", "hf", "openai", "vlm"] = "auto"
    model: str = Field("default", description="'default' (embedded Gemma-3-270M), a path, a hub id or a server model name")
    adapter: str | None = Field(None, description="LoRA adapter path, 'medical' (the shipped one for the default model) or none")
    base_url: str | None = None
    api_key: SecretStr | None = None
    api_mode: Literal["chat", "completions"] = "completions"
    quantization: Literal["none", "8bit", "4bit"] = "none"
    device_map: str | None = None
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    # the most tokens of context any setting may ask for (2**20, above every model's window); 100,000,000 reached
    # llama.cpp, which failed to allocate it: exit 1 instead of a usage error
    n_ctx: int = Field(2048, ge=128, le=2**20)
    threads: Threads | None = Field(None, description="CPU threads (None: all cores, up to 8)")
    timeout_s: float = Field(60.0, gt=0)
    case_memory: bool = Field(False, description="vlm backend: a question about an image the VLM was trained on, "
                              "phrased like a training question, is answered from that remembered case (the answer "
                              "names it; vlm/memory.py). Off by default: on VQA-RAD test it lowered open recall "
                              "(docs/vlm.md); --case-memory turns it on")


class VisionConfig(Strict):
    expert: str = Field("auto", description="'auto' (router decides), 'none', or an expert name")
    router: str = Field("trained", description="trained (EfficientNet-Lite0 + logistic head) or heuristic")
    min_confidence: float = Field(0.5, ge=0.0, le=1.0,
                                  description="below this (summed over the classes an expert serves) the router picks no expert")
    expert_options: dict[str, dict[str, Any]] = Field(default_factory=dict)


# what reads MedQuAD's focus synonyms (knowledge/retrieve.py: SYNONYMS is this list)
SynonymSetting = Literal["none", "focus", "focus+rqe", "focus+rqe+dense", "focus+rqe+written"]
TypesFromSetting = Literal["whole", "asking"]  # knowledge.types_from


class KnowledgeConfig(Strict):
    """The knowledge stage: retrieve trusted passages (MedQuAD by default), answer from them, cite them."""

    enabled: bool = Field(True, description="off: answer without retrieval (--no-knowledge)")
    image_questions: bool = Field(False, description="retrieve passages (and cite them) for a question that comes "
                                                     "with an image too; off by default: on VQA-RAD train-dev they "
                                                     "did not help (docs/benchmarks.md, issue 16)")
    index: str = Field("medquad", description="an index name under the cache (vmed knowledge build --name) or a folder")
    method: str = Field("dense-question", description="retrieval method (knowledge/retrieve.py METHODS); the default "
                                                      "won on the development set (docs/knowledge.md)")
    mode: Literal["extractive", "generative"] = Field(
        "extractive", description="extractive: the best source's answer, trimmed; generative: the LLM answers "
                                  "from the retrieved passages")
    top_k: int = Field(3, ge=1, le=20, description="sources listed (and passages given to the LLM in generative mode)")
    min_relevance: float = Field(0.45, ge=0.0, description="below this the answer says no source was found (cosine "
                                                           "similarity for dense methods, topic coverage for keyword ones)")
    reranker: Literal["rules", "rqe", "rules+rqe", "learned", "none"] = Field(
        "rules+rqe", description="re-ranker of the retrieved candidates: rules (the hand-set bonuses below), rqe (the "
                                 "trained question-entailment model, knowledge/rqe.py), both (the default: best on "
                                 "the development set, docs/knowledge.md), learned (one score fitted over the same "
                                 "features: knowledge/ranker.py, round 14; needs a dense-question run), or none")
    ranker_model: str | None = Field(None, description="learned re-ranker model file (default: the one shipped in the "
                                                       "package, assets/knowledge/ranker_lr.json)")
    rqe_weight: float = Field(1.0, ge=0.0, description="RQE re-ranker: weight of P(entailment) added to the fused score "
                                                       "(1, with the model trained on the MEDIQA pairs only; "
                                                       "docs/knowledge.md says why not the MedQuAD hard pairs)")
    rqe_model: str | None = Field(None, description="RQE re-ranker model file (default: the one shipped in the package)")
    rqe_kind: Literal["lr", "cross-encoder", "auto"] = Field(
        "lr", description="RQE model: lr (logistic regression over hand features, shipped), cross-encoder (MiniLM "
                          "fine-tuned on the RQE pairs: build it with `vmed knowledge train-rqe --kind cross-encoder`), "
                          "auto (the cross-encoder once built, else lr)")
    rqe_top_k: int = Field(10, ge=1, le=50, description="cross-encoder: how many of the best candidates it reads")
    rqe_cross_encoder: str | None = Field(None, description="cross-encoder folder (default: <knowledge dir>/"
                                                            "rqe-cross-encoder)")
    focus_bonus: float = Field(0.5, ge=0.0, description="re-ranker: weight of the topic being named in the question")
    type_bonus: float = Field(0.25, ge=0.0, description="re-ranker: weight of the question-type match")
    info_bonus: float = Field(0.0, ge=0.0, description="re-ranker: weight of 'information' passages for untyped questions "
                                                      "(0 since requests for information are a cue-word type)")
    synonyms: SynonymSetting = Field(
        "focus+rqe+written", description="MedQuAD's other names of a passage's focus (\"Manic-depressive illness\" for "
                                         "bipolar disorder) count as naming its topic in the re-ranker (focus), the RQE "
                                         "model reads the passage's question with the name the user used (focus+rqe, "
                                         "round 7), and the dense search also matches the names the question writes "
                                         "(focus+rqe+written, the default since round 11: needs the index's names "
                                         "vectors, which `vmed knowledge build` adds; without them the search uses "
                                         "focus+rqe and says so); focus+rqe+dense: every name; none: the focus only "
                                         "(docs/knowledge.md)")
    clean_synonyms: bool = Field(True, description="leave out the MedQuAD synonyms that name a broader topic "
                                                   "(\"Thalassemia\" listed for alpha thalassemia: knowledge/retrieve.py "
                                                   "broader_name; round 9 option, the default since round 11)")
    types_from: TypesFromSetting = Field(
        "whole", description="re-ranker: read the question's types (treatment, symptoms, ...) in the whole message, or "
                             "only in its subject line and asking sentences, the whole message where those cue none "
                             "(asking; round 9, docs/knowledge.md)")
    topic_first: bool = Field(False, description="re-ranker: choose the top answer's topic without the question-type "
                                                 "bonus, then let the type order that topic's passages only (round 10, "
                                                 "docs/knowledge.md)")
    list_penalty: float = Field(0.0, ge=0.0, description="re-ranker: subtract this x the share of a passage that points "
                                                         "elsewhere (addresses, phone numbers, lists of resources and "
                                                         "organizations: knowledge/retrieve.py pointer_share; round 13)")
    rerank_on_focus: bool = Field(False, description="re-ranker: read question types and topic words in the question's "
                                                     "focus sentences only (not greetings, history, thanks)")
    query_full: float = Field(1.0, ge=0.0, description="dense query: weight of the whole question's embedding")
    query_focus: float = Field(0.0, ge=0.0, description="dense query: weight of the embedding of the question's focus "
                                                        "sentences (subject line, asking sentences, named topics)")
    query_sentences: float = Field(0.0, ge=0.0, description="dense query: weight of the mean of its sentences' embeddings")
    max_answer_words: int = Field(160, ge=20, description="an extractive answer is trimmed to about this many words")
    context_words: int = Field(220, ge=20, description="words of each passage put into the prompt (generative mode)")
    qdrant_url: str | None = Field(None, description="a Qdrant server instead of the embedded local store")
    qdrant_api_key: SecretStr | None = None
    encoder_threads: Threads | None = Field(2, description="CPU threads of the sentence encoder")


class AssistantConfig(Strict):
    llm: LLMConfig = LLMConfig()
    generation: GenerationSettings = GenerationSettings()
    vision: VisionConfig = VisionConfig()
    knowledge: KnowledgeConfig = KnowledgeConfig()


def set_dotted(tree: dict, dotted: str, value: Any) -> None:
    """tree["a"]["b"] = value for dotted "a.b", creating the parents."""
    *parents, leaf = dotted.split(".")
    for key in parents:
        tree = tree.setdefault(key, {})
        if not isinstance(tree, dict):
            raise UserInputError(f"cannot set '{dotted}': '{key}' is not a section")
    tree[leaf] = value


def read_yaml(text: str, where: str) -> Any:
    """YAML text -> Python. A syntax error is one line: `where`, the line and column, and the problem (PyYAML's own
    message spans several lines, with a caret drawing)."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).strip().splitlines()[0]
        raise UserInputError(f"{where} is not valid YAML{at}: {problem}") from None


def parse_override(item: str) -> tuple[str, Any]:
    """'a.b=3' -> ('a.b', 3); the value is read as YAML so numbers and booleans keep their type."""
    key, equals, raw = item.partition("=")
    if not equals or not all(part.strip() for part in key.split(".")):  # '=3', 'generation.=3': no key named
        raise UserInputError(f"override '{item}' must look like key.sub=value")
    return key.strip(), read_yaml(raw, f"the value of --set '{item}'") if raw.strip() else None


def env_overrides(prefix: str = "VMED_", sections: Iterable[str] | None = None) -> dict[str, Any]:
    """VMED_LLM__MODEL=x -> {'llm.model': 'x'} (double underscore separates sections). With `sections`, only
    variables that name one are read: VMED_CACHE, VMED_DATA_DIR and friends are paths, never parsed as YAML."""
    found = {}
    for name, raw in os.environ.items():
        if name.startswith(prefix) and name != prefix:
            key = name[len(prefix):].lower().replace("__", ".")
            if sections is None or key.split(".")[0] in sections:
                found[key] = read_yaml(raw, f"${name}") if raw else None
    return found


def load_config(
    cls: type[Model],
    path: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    env_prefix: str | None = None,
    sets: list[str] | None = None,
) -> Model:
    """Build `cls` from defaults, then a YAML file, then env vars, then `--set key=value` items, then flags.

    Flags left at None (not given on the command line) are ignored."""
    tree: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        text = read_text_file(path, "config file", hint=" (is it a YAML file?)")
        tree = read_yaml(text, f"config file {path}") or {}
        if not isinstance(tree, dict):
            raise UserInputError(f"config file {path} must hold a mapping at the top level")
    # only variables that name a config section: VMED_CACHE and friends are not config keys
    layered = env_overrides(env_prefix, cls.model_fields) if env_prefix else {}
    if isinstance(sets, str):  # one `key=value` item given as a string (the Python API), not its characters
        sets = [sets]
    layered.update(parse_override(item) for item in sets or [])  # `--set key=` sets null on purpose
    layered.update({k: v for k, v in (overrides or {}).items() if v is not None})
    for key, value in layered.items():
        set_dotted(tree, key, value)
    return validate(cls, tree)


def validate(cls: type[Model], tree: dict[str, Any]) -> Model:
    """`cls` from a plain tree; what does not fit is one UserInputError naming each key, not a ValidationError."""
    try:
        return cls.model_validate(tree)
    except ValidationError as exc:
        problems = "; ".join(  # a whole-config check (model_validator) has no key; its message needs no prefix
            (f"{'.'.join(str(p) for p in err['loc'])}: " if err["loc"] else "") + err["msg"].removeprefix("Value error, ")
            for err in exc.errors()
        )
        raise UserInputError(f"invalid configuration: {problems}") from None


def dump_config(config: BaseModel) -> str:
    """YAML of a config with secrets left out, for logs and saved runs."""
    data = config.model_dump(mode="json", exclude_none=True)
    _drop_secrets(data)
    return yaml.safe_dump(data, sort_keys=False)


def _drop_secrets(tree: Any) -> None:
    if isinstance(tree, dict):
        for key in list(tree):
            if "key" in key.lower() and "api" in key.lower():
                tree[key] = "***"
            else:
                _drop_secrets(tree[key])
