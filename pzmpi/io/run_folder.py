"""A finished run's folder as later steps read it: its pieces in plan order, each with the input rows it holds.

``plan.json`` lists every piece with the input file and rows it was made
from; a piece that failed has no file. Validation reads a piece's PDFs and
the same rows of its input (their true redshifts), the federated table its
point estimates and positions: all through these few functions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pzmpi.core.errors import ConfigError


@dataclass(frozen=True)
class RunPiece:
    """One finished piece: its file, and rows ``[row_start, row_stop)`` of ``input_path`` it holds, in order."""

    index: int
    file: Path
    input_path: str
    row_start: int
    row_stop: int

    @property
    def rows(self) -> int:
        return self.row_stop - self.row_start


def finished_pieces(run_dir: Path) -> list[RunPiece]:
    """The pieces of a run that have their file, in plan order; a ConfigError names a folder with no plan."""
    plan_path = Path(run_dir) / "plan.json"
    if not plan_path.is_file():
        raise ConfigError(f"{run_dir}: no plan.json: not the folder of a pzmpi run")
    plan = json.loads(plan_path.read_text())
    pieces = [RunPiece(entry["index"], Path(run_dir) / "pieces" / entry["output_name"], entry["path"],
                       entry["row_start"], entry["row_stop"]) for entry in plan["pieces"]]
    return [piece for piece in pieces if piece.file.is_file()]
