"""Front matter: the YAML between ``---`` lines at the top of an offer file.

:func:`split_front_matter` cuts it from the Markdown body; :func:`load_front_matter` parses it
with PyYAML's safe loader, dates left as text so the contract (``content/contract.py``) parses
them with clear messages. libyaml's parser is used when PyYAML was built with it.
"""

from __future__ import annotations

from typing import Any

import yaml

# Dates stay text, so the contract parses them with clear messages.
RESOLVERS = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


_STR_TAG = "tag:yaml.org,2002:str"


class _TextAsIs:
    """Text scalars (most of front matter: keys, titles, paths) built without PyYAML's dispatch.

    SafeConstructor makes a ``!!str`` scalar node into its ``value`` through four calls and a
    table lookup; returning the value directly is the same object, and a fifth of a front
    matter's parse (tests/test_content.py compares both loaders with stock PyYAML's).
    """

    # The tag each short plain scalar resolved to: the same words recur across offer files (ebook,
    # a file path, field names, tags), and resolving runs the implicit resolvers' regexes.
    _resolved: dict[tuple[str, tuple[bool, bool]], str] = {}

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        if node.__class__ is yaml.ScalarNode and node.tag == _STR_TAG:
            return node.value
        return super().construct_object(node, deep)  # type: ignore[misc]

    def resolve(self, kind: type, value: Any, implicit: Any) -> str:
        if kind is not yaml.ScalarNode or len(value) > 64:
            return super().resolve(kind, value, implicit)  # type: ignore[misc]
        key = (value, tuple(implicit))
        tag = self._resolved.get(key)
        if tag is None:
            tag = super().resolve(kind, value, implicit)  # type: ignore[misc]
            if len(self._resolved) < 4096:
                self._resolved[key] = tag
        return tag


class PureLoader(_TextAsIs, yaml.SafeLoader):
    """PyYAML's pure-Python SafeLoader without the timestamp resolver: the reference parser."""

    yaml_implicit_resolvers = RESOLVERS


try:  # PyYAML's documented test for libyaml: CSafeLoader exists only when PyYAML was built with it
    from yaml import CSafeLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    LibyamlLoader = None
else:

    class LibyamlLoader(_TextAsIs, CSafeLoader):  # type: ignore[no-redef]
        """The same loader on libyaml's parser: 0.2 ms per front matter instead of 1.4 ms."""

        yaml_implicit_resolvers = RESOLVERS


# Characters PyYAML's pure reader refuses; such text goes to the pure loader, which words the error.
_NON_PRINTABLE = yaml.reader.Reader.NON_PRINTABLE


def load_front_matter(text: str) -> Any:
    """The front matter parsed by libyaml when available, else by the pure-Python loader.

    Both build the same values with the same resolvers; they only word errors differently, so
    text that libyaml refuses (rare: a broken file) is parsed again by the pure loader, whose
    message and line number ``leadmagnet check`` reports as before.
    """
    if LibyamlLoader is not None and not _NON_PRINTABLE.search(text):
        try:
            return yaml.load(text, Loader=LibyamlLoader)  # noqa: S506 - CSafeLoader subclass
        except yaml.YAMLError:
            pass  # reported below, in the pure loader's words
    return yaml.load(text, Loader=PureLoader)  # noqa: S506 - SafeLoader subclass


def split_front_matter(text: str) -> tuple[str | None, str]:
    """Split ``---``-fenced YAML front matter from the Markdown body; (None, text) if absent."""
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.startswith("---"):
        return None, text
    lines = text.splitlines(keepends=True)
    if lines[0].strip() != "---":
        return None, text
    for index in range(1, len(lines)):
        if lines[index].strip() in ("---", "..."):
            return "".join(lines[1:index]), "".join(lines[index + 1 :])
    return None, text
