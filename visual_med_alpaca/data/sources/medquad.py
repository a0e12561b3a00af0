"""MedQuAD: NIH consumer-health question–answer pairs, one XML document per topic."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from . import make_record, xml_root


@dataclass(frozen=True)
class MedQuADPair:
    """One answered QA pair with what identifies and cites it."""

    collection: str  # folder's collection name, lower case: ghr, gard, cancergov, ...
    source: str      # the Document's source attribute: GHR, GARD, CancerGov, MPlusHealthTopics, ...
    doc_id: str      # the Document's id attribute
    file_stem: str   # the XML file's name without .xml
    pid: str         # QAPair number inside the document ("Sec" number in LiveQA qrels ids)
    qtype: str       # information, symptoms, treatment, ...
    focus: str       # the topic the document is about ("Noonan syndrome")
    url: str
    question: str
    answer: str
    synonyms: tuple[str, ...] = ()  # other names of the focus (<FocusAnnotations><Synonyms>): "Manic-depressive illness"

    @property
    def qrels_id(self) -> str:
        """The id TREC LiveQA'17 judgements use: SOURCE_docid_SecN."""
        return f"{self.source}_{self.doc_id}_Sec{self.pid}"


def focus_synonyms(root, focus: str) -> tuple[str, ...]:
    """The document's other names for its focus, in document order, once each, the focus itself left out."""
    seen = {focus.lower()}
    names = []
    for element in root.iter("Synonym"):
        name = " ".join((element.text or "").split())
        if name and name.lower() not in seen:
            seen.add(name.lower())
            names.append(name)
    return tuple(names)


class MedQuAD:
    name = "medquad"
    default_path = "medquad"

    def pairs(self, path: Path) -> Iterator[MedQuADPair]:
        """Every QA pair that has an answer (three MedlinePlus folders ship questions only, for copyright)."""
        for xml_file in sorted(Path(path).glob("*/*.xml")):
            root = xml_root(xml_file)
            focus = " ".join((root.findtext("Focus") or "").split())
            synonyms = focus_synonyms(root, focus)
            collection = xml_file.parent.name.split("_")[1].lower()
            for pair in root.iter("QAPair"):
                question, answer = pair.find("Question"), pair.find("Answer")
                if question is None or answer is None or not (answer.text or "").strip():
                    continue
                text = "\n".join(line.strip() for line in answer.text.strip().splitlines() if line.strip())
                yield MedQuADPair(collection, root.get("source", collection), root.get("id", xml_file.stem),
                                  xml_file.stem, pair.get("pid", ""), question.get("qtype", ""), focus, root.get("url", ""),
                                  " ".join((question.text or "").split()), text, synonyms)

    def read(self, path: Path) -> Iterator[dict]:
        for pair in self.pairs(path):
            # qids repeat across collections and files, so the id is collection / file / pair number
            yield make_record(self.name, f"{pair.collection}-{pair.file_stem}-{pair.pid}", pair.question, output=pair.answer,
                              topic=pair.qtype)
