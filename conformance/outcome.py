"""The ways a check ends other than passing."""

from __future__ import annotations

from enum import Enum
from typing import Any

__all__ = ["Cause", "NonConformance", "NotJudged", "RunnerError", "UsageError", "not_judged"]


class Cause(str, Enum):
    """Why a check failed where no reply stream deviated (a deviation says so by its
    model.Kind): stored as the failure's details["cause"], the key of its hint (catalog.hint)."""

    NOT_LISTENING = "not listening"
    ADDRESS_IN_USE = "address in use"
    NEVER_ACCEPTED = "never accepted"
    STOPPED_ACCEPTING = "stopped accepting"


class NonConformance(AssertionError):
    """The server violated the requirement being checked: a *fail*.

    `summary` is one line for tables; `evidence` is what a person needs to see why (the transcript,
    the server's exit and stderr tail); `details` is the same as data (spec/report.schema.json).
    """

    # The exchange that showed it, for a packet capture (reports/pcap.py): the session's
    # transcript events and the server's port; None where no client took part.
    exchange: tuple[list[Any], int] | None = None
    # That exchange as the server's loopback carried it (driver/capture.py, --pcap): the frames
    # with their times, and how many the kernel dropped; None where it was not captured.
    captured: tuple[list[tuple[float, bytes]], int] | None = None

    def __init__(
        self, summary: str, evidence: str = "", details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(summary + ("\n" + evidence if evidence else ""))
        self.summary = summary
        self.evidence = evidence
        self.details = details or {}  # the evidence as data, for reports that draw it


class NotJudged(NonConformance):
    """The check could not judge its own property because the server fails another
    requirement first, one of `needs` (nothing accepted: listen; nothing answered before more
    input: prompt; bytes added: stream...): worth no points, neither a pass nor a fail of this
    requirement.

    `failure` is what the check saw: its fail if every one of `needs` turns out to pass."""

    def __init__(
        self,
        needs: tuple[str, ...],
        why: str,
        failure: str,
        evidence: str = "",
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(not_judged(needs, why), evidence, details)
        self.details.update(needs=list(needs), why=why, failure=failure)


def not_judged(needs: tuple[str, ...] | list[str], why: str) -> str:
    return f"not judged: needs {' or '.join(needs)}: {why}"


class RunnerError(Exception):
    """The check could not run because of the runner or the machine, not the server: an *error*."""


class UsageError(Exception):
    """A wrong command line, command or manifest: reported in one line, exit status 2."""
