"""The three ways a check ends other than passing."""

from __future__ import annotations


class NonConformance(AssertionError):
    """The server violated the requirement being checked: a *fail*.

    `summary` is one line for tables; `evidence` is what a person needs to see why (the transcript,
    the server's exit and stderr tail).
    """

    def __init__(self, summary: str, evidence: str = "") -> None:
        super().__init__(summary + ("\n" + evidence if evidence else ""))
        self.summary = summary
        self.evidence = evidence


class RunnerError(Exception):
    """The check could not run because of the runner or the machine, not the server: an *error*."""


class UsageError(Exception):
    """A wrong command line, command or manifest: reported in one line, exit status 2."""
