import pytest

from visual_med_alpaca.config import AssistantConfig, dump_config, load_config, parse_override
from visual_med_alpaca.errors import UserInputError


def test_layering_yaml_env_flags(tmp_path, monkeypatch):
    path = tmp_path / "c.yaml"
    path.write_text("generation:\n  max_new_tokens: 50\n  seed: 3\nllm:\n  model: from-yaml\n")
    monkeypatch.setenv("VMED_GENERATION__SEED", "7")
    monkeypatch.setenv("VMED_LLM__N_CTX", "1024")
    monkeypatch.setenv("VMED_CACHE", "/tmp/somewhere")  # a setting of the program, not a config key
    config = load_config(AssistantConfig, path, {"llm.model": "from-flag"}, env_prefix="VMED_")
    assert config.generation.max_new_tokens == 50  # yaml
    assert config.generation.seed == 7  # env beats yaml
    assert config.llm.n_ctx == 1024
    assert config.llm.model == "from-flag"  # flag beats all


def test_unknown_key_and_bad_value_are_clear(tmp_path):
    with pytest.raises(UserInputError, match="generation.temprature"):
        load_config(AssistantConfig, None, {"generation.temprature": 1})
    with pytest.raises(UserInputError, match="max_new_tokens"):
        load_config(AssistantConfig, None, {"generation.max_new_tokens": 0})
    bad = tmp_path / "bad.yaml"
    bad.write_text("llm: [unclosed")
    with pytest.raises(UserInputError, match="not valid YAML"):
        load_config(AssistantConfig, bad)
    with pytest.raises(UserInputError, match="not found"):
        load_config(AssistantConfig, tmp_path / "missing.yaml")


def test_yaml_errors_are_one_line_wherever_the_yaml_comes_from(tmp_path, monkeypatch):
    """A YAML syntax error used to print PyYAML's multi-line report (config file) or a traceback (--set value,
    VMED_* variable); a config file that is not text, a UnicodeDecodeError traceback."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("llm:\n  model: [unclosed\n")
    cases = [
        (dict(path=bad), r"config file .*bad.yaml is not valid YAML \(line 3, column 1\): expected ',' or ']'"),
        (dict(sets=["generation.top_k=[1"]), r"the value of --set 'generation.top_k=\[1' is not valid YAML"),
    ]
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(bytes(range(128, 256)))
    cases.append((dict(path=binary), "is not UTF-8 text"))
    for kwargs, message in cases:
        with pytest.raises(UserInputError, match=message) as caught:
            load_config(AssistantConfig, **kwargs)
        assert "\n" not in str(caught.value)
    monkeypatch.setenv("VMED_GENERATION__TOP_K", "{oops")
    with pytest.raises(UserInputError, match=r"\$VMED_GENERATION__TOP_K is not valid YAML") as caught:
        load_config(AssistantConfig, env_prefix="VMED_")
    assert "\n" not in str(caught.value)


def test_a_program_setting_that_is_not_yaml_is_no_config_error(monkeypatch):
    """VMED_DATA_DIR, VMED_CACHE and friends are paths, not config keys: a folder named like '[2024] scans' or
    '*scans' used to stop every command with "$VMED_DATA_DIR is not valid YAML" (a traceback before that)."""
    monkeypatch.setenv("VMED_DATA_DIR", "[2024] scans")
    monkeypatch.setenv("VMED_CACHE", "*scans")
    monkeypatch.setenv("VMED_GENERATION__SEED", "7")
    assert load_config(AssistantConfig, env_prefix="VMED_").generation.seed == 7


def test_override_parsing_keeps_types():
    assert parse_override("generation.top_k=20") == ("generation.top_k", 20)
    assert parse_override("vision.expert=none") == ("vision.expert", "none")
    with pytest.raises(UserInputError):
        parse_override("no-equals-sign")
    for nameless in ("=3", " =3", "generation.=3", "generation..top_k=3"):  # were "invalid configuration: : Extra
        with pytest.raises(UserInputError, match="must look like key.sub=value"):  # inputs are not permitted"
            parse_override(nameless)


def test_dump_hides_api_key():
    config = load_config(AssistantConfig, None, {"llm.api_key": "sk-secret-123"})
    assert "sk-secret-123" not in dump_config(config)
    assert "sk-secret-123" not in repr(config)


def test_shipped_assistant_config_is_valid():
    from pathlib import Path

    load_config(AssistantConfig, Path(__file__).parents[1] / "configs" / "assistant.yaml")


def test_set_items_survive_flags_left_unset():
    """`--set llm.adapter=none` must not be wiped by an `--adapter` flag that was not given (None)."""
    cfg = load_config(AssistantConfig, overrides={"llm.adapter": None, "llm.model": None},
                      sets=["llm.adapter=none", "llm.n_ctx=512"])
    assert cfg.llm.adapter == "none" and cfg.llm.n_ctx == 512
    given = load_config(AssistantConfig, overrides={"llm.adapter": "a.gguf"}, sets=["llm.adapter=none"])
    assert given.llm.adapter == "a.gguf"  # a flag that was given still wins over --set


@pytest.mark.parametrize("seed", ["-7", str(2**32 - 1), str(2**64)])
def test_a_seed_no_backend_takes_is_refused_when_the_config_loads(seed):
    """`--seed -7` (or 2**64) reached transformers' set_seed, which refuses it mid-generation (a traceback; HTTP 500
    from `vmed serve`); llama.cpp took 2**32-1 as 'pick a random seed', so the answer was not reproducible. Now
    the config refuses it, and a training recipe's seed (numpy's range) likewise."""
    from visual_med_alpaca.train.config import TrainConfig

    with pytest.raises(UserInputError, match="seed"):
        load_config(AssistantConfig, sets=[f"generation.seed={seed}"])
    if seed != str(2**32 - 1):
        with pytest.raises(UserInputError, match="seed"):
            load_config(TrainConfig, sets=[f"seed={seed}"])
    assert load_config(AssistantConfig, sets=["generation.seed=4294967294"]).generation.seed == 2**32 - 2


def test_numbers_must_be_finite():
    """`--temperature nan` was refused as "less than or equal to 5" and `--set llm.timeout_s=.inf` (or `vmed serve
    --request-timeout inf`) accepted: every config number must be finite, said so."""
    for override in ("generation.temperature=.nan", "llm.timeout_s=.inf", "knowledge.min_relevance=.inf"):
        with pytest.raises(UserInputError, match="Input should be a finite number"):
            load_config(AssistantConfig, sets=[override])
