"""Data builders: the medical instruction set (collect → synthesize → filter → review → balance → export,
`vmed data ...`) and synthetic chart sets with gold tables. Research use only: not for clinical use."""
