"""The medical instruction set: source readers and the resumable collect → synthesize → filter → review →
balance → export pipeline (`vmed data ...`). Research use only: not for clinical use."""
