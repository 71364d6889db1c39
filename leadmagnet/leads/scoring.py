"""Lead scoring rules: points per event, decay, and the lifecycle stage a score reaches.

Read once from ``[scoring]`` in ``instance/config.toml`` (every key optional; the defaults are
:data:`DEFAULTS`, documented in the README)::

    [scoring]
    submission_tofu = 10       # a submission, by the offer's funnel stage (no stage: tofu)
    submission_mofu = 20
    submission_bofu = 30
    confirmed_opt_in = 5       # the first confirmed double opt-in of the contact
    download = 5               # the first download of an offer's file
    webinar_registration = 10  # a webinar registration (seated or waitlisted)
    attended = 25              # attended a webinar (from `leadmagnet attendance`)
    further_offer = 10         # each offer after the contact's first
    decay_per_day = 0          # points taken off per whole day without a scored event
    lead_at = 15               # from this score a subscriber is a lead
    mql_at = 50                # and from this one a marketing-qualified lead (MQL)

Stages run subscriber → lead → MQL by score; sales-qualified (SQL) only when a marketer marks
it in the admin. A stage never moves back (decay lowers the score, not the stage). The rules are
pure: the store keeps the score (``store/scoring.py``), ``delivery/scoring.py`` applies them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from leadmagnet.content.problems import did_you_mean

POINTS = {
    "submission_tofu": 10,
    "submission_mofu": 20,
    "submission_bofu": 30,
    "confirmed_opt_in": 5,
    "download": 5,
    "webinar_registration": 10,
    "attended": 25,
    "further_offer": 10,
}
DEFAULTS: dict[str, int] = {**POINTS, "decay_per_day": 0, "lead_at": 15, "mql_at": 50}
HELP = {
    "submission_tofu": "A submission of an offer with `stage: tofu` (or no stage).",
    "submission_mofu": "A submission of an offer with `stage: mofu`.",
    "submission_bofu": "A submission of an offer with `stage: bofu`.",
    "confirmed_opt_in": "The contact's first confirmed double opt-in.",
    "download": "The first download of an offer's file.",
    "webinar_registration": "A webinar registration (seated or waitlisted).",
    "attended": "Attended a webinar (imported with `leadmagnet attendance`).",
    "further_offer": "Each offer after the contact's first one.",
    "decay_per_day": "Points taken off a score for each whole day without a scored event (0: no decay).",
    "lead_at": "Score from which a subscriber becomes a lead.",
    "mql_at": "Score from which a lead becomes a marketing-qualified lead (MQL).",
}

# Lifecycle stages, in order, as the store keeps them; ``sql`` only by a marketer's hand.
STAGES = ("subscriber", "lead", "mql", "sql")
STAGE_LABELS = {
    "subscriber": "Subscriber",
    "lead": "Lead",
    "mql": "Marketing-qualified lead (MQL)",
    "sql": "Sales-qualified lead (SQL)",
}


class ScoringError(ValueError):
    """A ``[scoring]`` table that cannot be used; the message names the key and what to write."""


@dataclass(frozen=True)
class ScoringRules:
    """The points of each event, the decay per day and the stage thresholds."""

    values: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULTS))

    def points(self, event: str) -> int:
        """The points of ``event`` (a key of :data:`POINTS`)."""
        return self.values[event]

    @property
    def decay_per_day(self) -> int:
        return self.values["decay_per_day"]

    def submission_event(self, funnel_stage: str | None) -> str:
        """The event a submission to an offer of ``funnel_stage`` counts as."""
        return f"submission_{funnel_stage if funnel_stage in ('tofu', 'mofu', 'bofu') else 'tofu'}"

    def stage_for(self, score: int) -> str:
        """The stage ``score`` reaches by itself: subscriber, lead or mql (never sql)."""
        if score >= self.values["mql_at"]:
            return "mql"
        if score >= self.values["lead_at"]:
            return "lead"
        return "subscriber"

    @classmethod
    def from_config(cls, value: Any) -> ScoringRules:
        """The rules of a ``[scoring]`` table (None or empty: the defaults); :class:`ScoringError` names a bad key."""
        if value is None:
            return cls()
        where = "instance/config.toml [scoring]"
        if not isinstance(value, Mapping):
            raise ScoringError(f"{where}: must be a table of settings such as download = 5")
        values = dict(DEFAULTS)
        for key, given in value.items():
            name = str(key).lower()
            if name not in DEFAULTS:
                raise ScoringError(f"{where}: unknown key {key!r}{did_you_mean(name, DEFAULTS)}; the keys are {', '.join(DEFAULTS)}")
            if isinstance(given, bool) or not isinstance(given, int) or given < 0:
                raise ScoringError(f"{where}: {name} = {given!r} is not a whole number of 0 or more (such as {name} = {DEFAULTS[name]})")
            values[name] = given
        if values["lead_at"] > values["mql_at"]:
            raise ScoringError(f"{where}: lead_at ({values['lead_at']}) is above mql_at ({values['mql_at']}); a lead comes before an MQL")
        return cls(values)
