"""The A/B test keys of an offer: ``variants:``, ``weight:`` and ``winner:``.

The offer's own keys are the control, variant ``a``. ``variants:`` maps short names (``b``, ``c``,
…) to the keys each one overrides, parsed exactly as the offer's own (a variant's ``image`` must
exist like the offer's) plus ``body``, Markdown that replaces the pitch, and its ``weight``::

    weight: 1            # the control's share (default 1: an equal split)
    variants:
      b:
        title: Grow faster with the 2026 playbook
        cta: Send me the playbook
        weight: 1
    winner: b            # ends the test: everyone sees b

Every problem names the variant and the key (``variants: b.title: is empty; …``). The parsers
here are wired into the contract's one key table (``content/contract.py``); this module only
needs that table's parsers, handed to :func:`parse_variants`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from leadmagnet.content.offer import CONTROL, Variant
from leadmagnet.content.problems import ContentError, did_you_mean, show

# Keys a variant may override, besides body.
OVERRIDABLE = ("title", "subtitle", "description", "cta", "image", "layout", "thank_you")
NAME_RE = re.compile(r"^[a-z][a-z0-9]{0,15}$")
MAX_VARIANTS = 10
EXAMPLE = "variants:\n  b:\n    title: Another headline\n    weight: 1"


def overridable(keys: Mapping[str, Any]) -> tuple[str, ...]:
    """The keys a variant may set with this contract: those of :data:`OVERRIDABLE` it has, ``body``, ``weight``."""
    return (*(k for k in OVERRIDABLE if k in keys), "body", "weight")


def parse_weight(value: Any, ctx: Any) -> float:
    """A variant's share of visitors: a number above zero (relative: 1 and 3 means 25% and 75%)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or value != value or value == float("inf"):
        raise ContentError(f"{show(value)} is not a number above zero (write weight: 1; weights are relative, 1 and 3 split 25%/75%)")
    return float(value)


def parse_control_weight(value: Any, ctx: Any) -> float:
    """The top-level ``weight``: the control's share, meaningful only with ``variants``."""
    weight = parse_weight(value, ctx)
    if not ctx.data.get("variants"):
        raise ContentError("is the control's share of an A/B test and does nothing without variants:; remove it or add variants")
    return weight


def parse_winner(value: Any, ctx: Any) -> str:
    """``winner``: the name of a variant (``a`` for the control) that everyone sees from now on."""
    variants = ctx.data.get("variants")
    names = [CONTROL, *(str(k) for k in variants if k != CONTROL and NAME_RE.match(str(k)))] if isinstance(variants, dict) else []
    if not names:
        raise ContentError("ends an A/B test, but there are no variants:; remove it, or add variants (see the README)")
    if not isinstance(value, str) or value.strip() not in names:
        raise ContentError(f"{show(value)} is not a variant of this offer{did_you_mean(str(value), names)}; use one of: {', '.join(names)}")
    return value.strip()


def parse_variants(value: Any, ctx: Any, keys: Mapping[str, Any]) -> tuple[Variant, ...]:
    """The ``variants:`` mapping as :class:`Variant` objects; every problem of every variant is reported."""
    if not isinstance(value, dict) or not value:
        raise ContentError(f"{show(value)} is not a mapping of variant names to the keys they change; write\n{EXAMPLE}")
    allowed = overridable(keys)
    problems: list[str] = []
    variants = []
    if len(value) > MAX_VARIANTS:
        problems.append(f"has {len(value)} variants; at most {MAX_VARIANTS} (each one needs its own share of visitors)")
    for raw_name, item in value.items():
        name = str(raw_name)
        if name == CONTROL:
            problems.append("a: is the control, the offer's own keys; name the other variants b, c, … (its share is the top-level weight:)")
            continue
        if not NAME_RE.match(name):
            problems.append(
                f"{name}: is not a variant name; use a short name of lower-case letters and digits, starting with a letter, such as b, c or b2"
            )
            continue
        if not isinstance(item, dict) or not item:
            problems.append(f"{name}: {show(item)} is not a mapping of the keys it changes (such as title: Another headline)")
            continue
        overrides: list[tuple[str, Any]] = []
        weight = 1.0
        for raw_key, raw in item.items():
            key = str(raw_key)
            where = f"{name}.{key}"
            if key not in allowed:
                hint = did_you_mean(key, allowed)
                problems.append(f"{where}: a variant cannot set this{hint}; it may set {', '.join(allowed)}")
                continue
            if raw is None:
                problems.append(f"{where}: has no value; give one or remove the key")
                continue
            try:
                if key == "weight":
                    weight = parse_weight(raw, ctx)
                elif key == "body":
                    overrides.append(("body", _markdown(raw)))
                else:
                    overrides.append((key, keys[key].parse(raw, ctx)))
            except ContentError as exc:
                problems.extend(f"{where}: {message}" for message in exc.messages)
        variants.append(Variant(name, weight, tuple(overrides)))
    if problems:
        raise ContentError(*problems)
    return tuple(variants)


def _markdown(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ContentError(f"{show(value)} is not Markdown text; write body: | then the pitch on the lines below, indented")
    return value
