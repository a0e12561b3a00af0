"""The data recipe (configs/data.yaml): one pydantic model per stage, overridable with `--set`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator

from ..config import Strict
from .sources import SOURCES


class CollectConfig(Strict):
    data_root: Path | None = Field(None, description="folder with the sources (default: paths.data_dir)")
    sources: list[str] = Field(default_factory=lambda: [s for s in SOURCES if s != "medqa"],
                               description="readers to run (medqa needs a MedQA-style JSONL, absent from shared data)")
    paths: dict[str, Path] = Field(default_factory=dict, description="per-source path; default data_root/<source path>")


class SynthesizeConfig(Strict):
    base_url: str | None = Field(None, description="OpenAI-compatible endpoint; default $OPENAI_BASE_URL")
    api_key: SecretStr | None = None
    model: str = "gpt-3.5-turbo"
    api_mode: str = Field("chat", pattern="^(chat|completions)$")
    template: Path | None = Field(None, description="prompt template file; default the shipped self_instruct.txt")
    max_tokens: int = Field(512, ge=1)
    temperature: float = Field(0.7, ge=0.0, le=2.0)
    concurrency: int = Field(4, ge=1, le=256)
    requests_per_minute: float = Field(0, ge=0, description="0 = no limit")
    max_retries: int = Field(6, ge=0)
    backoff_s: float = Field(1.0, gt=0, description="first retry wait; doubles each time (with jitter)")
    max_backoff_s: float = Field(60.0, gt=0)
    timeout_s: float = Field(120.0, gt=0)
    sample: int | None = Field(None, ge=1, description="answer only a seeded random sample of N selected records")
    seed: int = 0
    regenerate: bool = Field(False, description="also answer records that already carry a reference answer")


class FilterConfig(Strict):
    min_output_words: int = Field(2, ge=0)
    max_output_words: int = Field(1200, ge=1)
    max_instruction_words: int = Field(300, ge=1)
    max_input_words: int = Field(1500, ge=0)
    rouge_threshold: float = Field(0.7, gt=0, le=1, description="near-duplicate if ROUGE-L F >= this")
    dedup_on: str = Field("question+answer", pattern="^(question|question\\+answer)$",
                          description="text compared for near-duplicates")
    template_min_count: int = Field(20, ge=2, description="an instruction shared by this many records is a "
                                    "source template and is left out of the near-duplicate text")
    lsh_threshold: float = Field(0.5, gt=0, le=1, description="MinHash Jaccard threshold for candidate buckets")
    num_perm: int = Field(64, ge=16)
    copy_threshold: float = Field(0.9, gt=0, le=1, description="answer copies the question if ROUGE-L >= this")
    min_english_ratio: float = Field(0.9, ge=0, le=1)


class BalanceConfig(Strict):
    """Caps: a record count, 0 = none of that source (`--cap a=0` and `--cap-per-source 0` alike; the default with
    per-source caps keeps only the sources named); None = no cap. A topic cap is 1 or more: 0 would choose no record
    of any topic, so it is refused (one line) rather than read as "none"."""

    seed: int = 0
    cap_per_source: dict[str, Annotated[int, Field(ge=0)]] = Field(default_factory=dict,
                                                                   description="source -> max records (0: none)")
    default_cap_per_source: int | None = Field(None, ge=0, description="max records of a source not in "
                                               "cap_per_source (0: none)")
    cap_per_topic: int | None = Field(None, description="max records per (source, topic), 1 or more")

    @field_validator("cap_per_topic")
    @classmethod
    def _topic_cap_keeps_some(cls, cap: int | None) -> int | None:
        if cap is not None and cap < 1:  # `ge=1` said only "greater than or equal to 1", not why or what to do
            why = "0 would keep no record of any topic" if cap == 0 else "it counts records"
            raise ValueError(f"a topic cap must be 1 or more, not {cap} ({why}; leave --cap-per-topic out for no "
                             "topic cap)")
        return cap


class DataConfig(Strict):
    collect: CollectConfig = CollectConfig()
    synthesize: SynthesizeConfig = SynthesizeConfig()
    filter: FilterConfig = FilterConfig()
    balance: BalanceConfig = BalanceConfig()
