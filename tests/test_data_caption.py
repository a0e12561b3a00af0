"""caption-instruct on a tiny MedPix-shaped folder, conversation parsing, and the endpoint path."""

from __future__ import annotations

import json

from test_data_synthesize import ScriptedServer

from visual_med_alpaca.data.caption import caption_instruct, parse_conversation
from visual_med_alpaca.data.config import SynthesizeConfig


def _medpix(root):
    (root / "splitted_dataset").mkdir(parents=True)
    items = [{"Type": "CT", "U_id": f"MPX{i}", "image": f"MPX{i}_synpic{i}",
              "Description": {"Caption": f"Finding number {i}.", "Modality": "CT - noncontrast", "Plane": "Axial",
                              "Age": "40", "Sex": "female"}, "Location": "Chest"} for i in range(3)]
    (root / "splitted_dataset" / "descriptions_dev.jsonl").write_text("".join(json.dumps(i) + "\n" for i in items))
    (root / "overlap_with_vqa_rad.tsv").write_text("medpix_image\tmedpix_split\tvqa_rad_usage\nMPX2_synpic2\tdev\tvqa_rad_test\n")


def test_brief_and_detailed_from_captions_without_vqa_rad_overlap(tmp_path):
    _medpix(tmp_path / "medpix")
    report = caption_instruct(tmp_path / "medpix", tmp_path / "out", ["dev"], None, progress=False)
    assert report == {"images": 2, "description_records": 4, "llava_records": 4}
    llava = json.loads((tmp_path / "out" / "caption_instruct_llava.json").read_text())
    assert {r["image"] for r in llava} == {"images/MPX0_synpic0.png", "images/MPX1_synpic1.png"}
    detailed = next(r for r in llava if r["id"] == "medpix:MPX0_synpic0:detailed")
    assert detailed["conversations"][0]["value"].startswith("<image>\n")
    assert detailed["conversations"][1]["value"] == ("Modality: CT - noncontrast; Plane: Axial; Location: Chest; "
                                                     "Patient: 40-year-old female. Finding number 0.")


def test_parse_conversation_keeps_whole_question_answer_pairs():
    text = "Sure!\nUser: What is shown?\nAssistant: A CT of the chest\nwith a mass.\nUser: Which plane?\n"
    assert parse_conversation(text) == [{"from": "human", "value": "What is shown?"},
                                        {"from": "gpt", "value": "A CT of the chest with a mass."}]


def test_conversations_through_an_endpoint(tmp_path):
    _medpix(tmp_path / "medpix")
    server = ScriptedServer([])
    try:
        config = SynthesizeConfig(base_url=server.base_url, model="m", backoff_s=0.01)
        report = caption_instruct(tmp_path / "medpix", tmp_path / "out", ["dev"], config, progress=False)
    finally:
        server.close()
    assert report["conversations"]["generated"] == 2
    # the scripted server does not answer in User:/Assistant: turns, so no conversation is usable
    assert report["conversations_usable"] == 0 and report["llava_records"] == 4
