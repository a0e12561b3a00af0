"""LLaVA-Med style image instruction data from MedPix 2.0 captions: brief and detailed description
instructions straight from the captions, and multi-turn conversations written by an LLM from each caption
when an endpoint is given. Test-split images and images shared with VQA-RAD stay out by default."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

from ..errors import UserInputError
from ..paths import ASSETS
from .config import SynthesizeConfig
from .sources import medpix
from .store import JsonlStore, write_json_atomic

# The instruction lists of LLaVA-Med (Li et al. 2023, appendix), used at random per image.
BRIEF = [
    "Describe the image concisely.", "Provide a brief description of the given image.",
    "Offer a succinct explanation of the picture presented.", "Summarize the visual content of the image.",
    "Give a short and clear explanation of the subsequent image.", "Share a concise interpretation of the image provided.",
    "Present a compact description of the photo's key features.", "Relay a brief, clear account of the picture shown.",
    "Render a clear and concise summary of the photo.", "Write a terse but informative summary of the picture.",
    "Create a compact narrative representing the image presented.",
]
DETAILED = [
    "Describe the following image in detail.", "Provide a detailed description of the given image.",
    "Give an elaborate explanation of the image you see.", "Share a comprehensive rundown of the presented image.",
    "Offer a thorough analysis of the image.", "Explain the various aspects of the image before you.",
    "Clarify the contents of the displayed image with great detail.", "Characterize the image using a well-detailed description.",
    "Break down the elements of the image in a detailed manner.", "Walk through the important details of the image.",
    "Portray the image with a rich, descriptive narrative.", "Narrate the contents of the image with precision.",
    "Analyze the image in a comprehensive and detailed manner.", "Illustrate the image through a descriptive explanation.",
    "Examine the image closely and share its details.", "Write an exhaustive depiction of the given image.",
]
CONVERSATION_TEMPLATE = ASSETS / "data" / "caption_conversation.txt"
TURN = re.compile(r"^\s*(user|assistant)\s*:\s*(.+)$", re.IGNORECASE)


def read_medpix(root: Path, splits: list[str], exclude_vqa_rad: bool = True) -> list[dict]:
    """MedPix 2.0 description records of the given splits, minus images that VQA-RAD also uses."""
    excluded = medpix.vqa_rad_overlap(root) if exclude_vqa_rad else set()
    return [item for item in medpix.read_descriptions(root, splits)
            if item["image"] not in excluded and medpix.caption(item)]


def _clean(text: str) -> str:
    return " ".join(str(text or "").split())


def facts(item: dict) -> str:
    d = item["Description"]
    parts = [f"Modality: {_clean(d.get('Modality')) or item.get('Type', '')}", f"Plane: {_clean(d.get('Plane'))}",
             f"Location: {_clean(item.get('Location'))}", f"Patient: {_clean(d.get('Age'))}-year-old {_clean(d.get('Sex'))}"]
    return "; ".join(p for p in parts if not p.endswith(": ") and "None" not in p)


def description_records(items: list[dict], seed: int = 0) -> list[dict]:
    """One brief (the caption) and one detailed (caption + modality, plane, region, patient) record per image."""
    rng = random.Random(seed)
    records = []
    for item in items:
        caption = _clean(item["Description"]["Caption"])
        base = {"source": "medpix", "input": "", "topic": item.get("Type", ""),
                "image": f"images/{item['image']}.png", "split": item["split"]}
        records.append({**base, "id": f"medpix:{item['image']}:brief", "kind": "brief",
                        "instruction": rng.choice(BRIEF), "output": caption})
        records.append({**base, "id": f"medpix:{item['image']}:detailed", "kind": "detailed",
                        "instruction": rng.choice(DETAILED), "output": f"{facts(item)}. {caption}"})
    return records


def parse_conversation(text: str) -> list[dict]:
    """'User: …' / 'Assistant: …' lines into LLaVA turns; a turn continues over unprefixed lines."""
    turns: list[dict] = []
    for line in text.splitlines():
        match = TURN.match(line)
        if match:
            turns.append({"from": "human" if match.group(1).lower() == "user" else "gpt", "value": match.group(2).strip()})
        elif turns and line.strip():
            turns[-1]["value"] += " " + line.strip()
    while turns and turns[0]["from"] != "human":
        turns.pop(0)
    pairs = []
    for i in range(0, len(turns) - 1, 2):
        if turns[i]["from"] == "human" and turns[i + 1]["from"] == "gpt":
            pairs += turns[i:i + 2]
    return pairs


def caption_instruct(medpix: Path, workdir: Path, splits: list[str], synth: SynthesizeConfig | None,
                     seed: int = 0, progress: bool = True, conversation_sample: int | None = None) -> dict:
    """Write caption_instruct.jsonl (+ caption_conversations.jsonl with an endpoint) and the LLaVA JSON."""
    items = read_medpix(medpix, splits)
    records = description_records(items, seed)
    out = workdir / "caption_instruct.jsonl"
    with JsonlStore(out, sync_every=500) as store:
        for record in records:
            store.append(record)
    llava = [{"id": r["id"], "image": r["image"],
              "conversations": [{"from": "human", "value": f"<image>\n{r['instruction']}"},
                                {"from": "gpt", "value": r["output"]}]} for r in records]
    report: dict = {"images": len(items), "description_records": len(records)}
    if synth is not None:
        from .store import read_jsonl
        from .synthesize import synthesize_records

        requests = [{"id": f"medpix:{item['image']}:conversation", "source": "medpix", "topic": item.get("Type", ""),
                     "instruction": _clean(item["Description"]["Caption"]), "input": facts(item), "output": "",
                     "image": f"images/{item['image']}.png", "kind": "conversation"} for item in items]
        if conversation_sample is not None and conversation_sample < len(requests):
            requests = random.Random(seed).sample(requests, conversation_sample)
        conversations = workdir / "caption_conversations.jsonl"
        result = synthesize_records(requests, conversations, synth, progress=progress,
                                    template_text=CONVERSATION_TEMPLATE.read_text())
        report["conversations"] = result.to_dict()
        usable = 0
        for record in read_jsonl(conversations):
            turns = parse_conversation(record["output"])
            if turns:
                turns[0]["value"] = "<image>\n" + turns[0]["value"]
                llava.append({"id": record["id"], "image": record["image"], "conversations": turns})
                usable += 1
        report["conversations_usable"] = usable
    write_json_atomic(workdir / "caption_instruct_llava.json", llava, indent=1)
    report["llava_records"] = len(llava)
    return report
