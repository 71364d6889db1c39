"""What is wrong with a content file, worded for the marketer who wrote it.

A :class:`Problem` names the file (as :func:`display_path` shows it), the key and what is
expected; a value parser raises :class:`ContentError` and the contract turns it into a Problem.
:func:`show` and :func:`did_you_mean` word the value and a likely fix the same way everywhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ContentError(ValueError):
    """A front-matter value that does not fit the contract; each message says what is expected.

    A parser that finds several problems in one value (three bad items under ``fields:``)
    raises one ContentError with every message: each becomes a :class:`Problem` of its own.
    """

    def __init__(self, *messages: str) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


@dataclass(frozen=True)
class Problem:
    """One finding about one file: ``level`` is ``error`` (not published) or ``warning``."""

    path: str
    key: str | None
    message: str
    level: str = "error"

    def __str__(self) -> str:
        where = f"{self.path}: {self.key}: " if self.key else f"{self.path}: "
        tag = "" if self.level == "error" else "warning: "
        return f"{where}{tag}{self.message}"


def below(text: str, root: str) -> str | None:
    """What follows ``root`` and a separator in ``text``, or None if ``text`` is not below it:
    pathlib's ``relative_to`` on strings, for paths in pathlib's normal form (a prefix is a parent)."""
    if text.startswith(root) and text[len(root) : len(root) + 1] == os.sep:
        return text[len(root) + 1 :]
    return None


def display_path(path: Path, content_dir: Path) -> str:
    """``path`` as problems name it: from the content folder's own name (``content/ebook.md``)."""
    # On strings first: pathlib's relative_to cost a tenth of reading an offer file, and a
    # build reads a thousand.
    text, name = str(path), content_dir.name
    rest = below(text, str(content_dir))
    if name and rest is not None:
        return name + os.sep + rest
    try:
        return str(Path(name) / path.relative_to(content_dir))
    except ValueError:
        return text


def did_you_mean(word: str, known: Any, *, ignore_case: bool = False) -> str:
    """`` (did you mean 'title'?)`` when ``word`` is close to one of ``known``, else ``""``.

    With ``ignore_case``, letter case does not count (``europe/paris`` is ``Europe/Paris``).
    """
    import difflib  # only for a misspelt key: not a cost of every start

    if ignore_case:
        by_lower = {str(name).lower(): name for name in known}
        close = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.7)
        return f" (did you mean {by_lower[close[0]]!r}?)" if close else ""
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.7)
    return f" (did you mean {close[0]!r}?)" if close else ""


def show(value: Any) -> str:
    """``value`` as a message quotes it: its repr, cut to 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
