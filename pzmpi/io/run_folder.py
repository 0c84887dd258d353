"""A run's folder: where the run keeps its files (``RunPaths``), and its finished pieces in plan order, each with
the input rows it holds, as later steps read them.

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
class RunPaths:
    """Where a run keeps each of its files under its folder ``root`` (``output.folder``)."""

    root: Path

    @property
    def pieces(self) -> Path:
        return self.root / "pieces"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def plan(self) -> Path:
        return self.root / "plan.json"

    @property
    def profile(self) -> Path:
        return self.root / "profile.json"

    @property
    def index(self) -> Path:
        return self.root / "index.hdf5"

    @property
    def summary(self) -> Path:
        return self.root / "summary.hdf5"

    @property
    def run_record(self) -> Path:
        return self.root / "run.json"

    @property
    def config(self) -> Path:
        return self.root / "config.toml"


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
    paths = RunPaths(Path(run_dir))
    if not paths.plan.is_file():
        raise ConfigError(f"{run_dir}: no plan.json: not the folder of a pzmpi run")
    plan = json.loads(paths.plan.read_text())
    pieces = [RunPiece(entry["index"], paths.pieces / entry["output_name"], entry["path"],
                       entry["row_start"], entry["row_stop"]) for entry in plan["pieces"]]
    return [piece for piece in pieces if piece.file.is_file()]
