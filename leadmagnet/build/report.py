"""What a build tells its caller: a :class:`BuildReport`, or a :class:`BuildError` that stops it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from leadmagnet.content.problems import Problem


class BuildError(ValueError):
    """The export cannot be written (the message names the folder and what to do)."""


@dataclass
class BuildReport:
    """What a build did: files written (with their twins) and kept, files removed, problems."""

    out_dir: Path
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    problems: tuple[Problem, ...] = ()
    warnings: list[str] = field(default_factory=list)
    parsed: int = 0
    rendered: int = 0  # offer pages rendered (the others were kept as they were)
    listings: int = 0  # index and tag pages rendered (0: kept as they were, or no index)

    @property
    def total(self) -> int:
        return len(self.written) + len(self.unchanged)
