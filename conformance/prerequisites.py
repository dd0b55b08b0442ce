"""Whose property a check may see but not judge: the requirements a deviation or an ending
points to, by the check procedures that judge them (attribution.py finds which, by experiment)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from conformance.model import Kind

# (the requirements, one of which the server fails first; why)
NotJudgedFor = tuple[tuple[str, ...], str]


@dataclass(frozen=True)
class Prerequisites:
    """The requirements that own what a check may see but does not judge."""

    own: str = ""  # the check procedure being run
    ids: Mapping[str, str] = field(default_factory=dict)  # check procedure -> requirement id
    owners: Mapping[Kind, tuple[str, ...]] = field(default_factory=dict)  # their procedures

    def needs(self, *checks: str) -> tuple[str, ...]:
        """The requirements judged by `checks` (candidates, root cause first) that come before
        this check's own: none if it is the first (its own to judge)."""
        found: list[str] = []
        for check in checks:
            if check == self.own:
                break
            if check in self.ids:
                found.append(self.ids[check])
        return tuple(found)

    def owning(self, kind: Kind) -> tuple[str, ...]:
        """The requirements whose property a deviation of `kind` shows: none if this check is
        one of its owners (its own to judge, whatever the others make of it)."""
        owners = self.owners.get(kind, ())
        return () if self.own in owners else self.needs(*owners)
