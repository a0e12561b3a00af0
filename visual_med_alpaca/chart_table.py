"""DePlot's linearized chart table (`TITLE | t <0x0A> h1 | h2 <0x0A> row | value`), the one definition of the
format: the chart generator writes its gold tables with it (`data/charts.py`), the chart metrics parse both
sides with it (`eval/metrics/chart.py`), and the chart expert writes its answer with it (`experts/chart/table.py`).
It depends on nothing else in the package, so each of them can import it without depending on another."""

from __future__ import annotations

from dataclasses import dataclass

ROW_SEP = "<0x0A>"
# A chart read only in part ends its table with one row of a note saying so (`experts/chart/table.py`); the note is
# the reader's words, no name printed on the chart, so a metric of names leaves it out (`is_note`).
NOTE_START = "(partly read: "


@dataclass
class Table:
    title: str | None
    headers: list[str]
    rows: list[list[str]]

    def linearize(self) -> str:
        """Back to DePlot's one-line form: `TITLE | t <0x0A> h | s1 <0x0A> r | v`."""
        lines = [f"TITLE | {self.title}"] if self.title is not None else []
        lines += [" | ".join(self.headers)] + [" | ".join(row) for row in self.rows]
        return f" {ROW_SEP} ".join(lines)

    def transposed(self) -> Table:
        grid = [self.headers] + self.rows
        width = max(len(row) for row in grid)
        grid = [row + [""] * (width - len(row)) for row in grid]
        columns = [list(col) for col in zip(*grid)]
        return Table(self.title, columns[0], columns[1:])


def is_note(row: list[str]) -> bool:
    """A table's closing note row (`NOTE_START ...`), not a row of the chart's data."""
    return bool(row) and row[0].startswith(NOTE_START)


def parse_table(text: str) -> Table:
    """Parse DePlot's linearized table; real newlines are accepted as row separators too."""
    lines = [line.strip() for line in text.replace(ROW_SEP, "\n").split("\n") if line.strip()]
    title = None
    if lines and lines[0].upper().startswith("TITLE |"):
        title = lines.pop(0).split("|", 1)[1].strip()
    cells = [[cell.strip() for cell in line.split("|")] for line in lines]
    if not cells:
        return Table(title, [], [])
    return Table(title, cells[0], cells[1:])
