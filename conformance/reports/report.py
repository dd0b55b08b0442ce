"""Verdicts and reports from per-requirement results: text for people, JSON for tools.

The JSON format is documented by spec/report.schema.json.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance import catalog
from conformance.bundled import SPEC_DIR
from conformance.impls import Implementation
from conformance.outcome import not_judged
from conformance.reports.about import suite_info
from conformance.spec import Requirement, Spec

SCHEMA = SPEC_DIR / "report.schema.json"


@dataclass
class Entry:
    """One (implementation, requirement) result."""

    id: str
    level: str
    points: int
    required: bool
    outcome: str  # pass | fail | not-judged | error | skip
    summary: str = ""
    evidence: str = ""
    expected: str = "pass"  # what the implementation declares: pass | fail
    expected_reason: str = ""
    duration_s: float = 0.0
    # The evidence as data (see "details" in spec/report.schema.json): per-client streams around
    # the first difference, the transcript, the server's account.  Empty when there is none.
    details: dict[str, Any] = field(default_factory=dict)
    # Not judged when it was checked, for want of requirements that then passed: a fail after
    # all (Report.settle).  Progress lines printed before that say so again at the end.
    restated: bool = False

    @classmethod
    def of(
        cls,
        req: Requirement,
        outcome: str,
        summary: str = "",
        evidence: str = "",
        details: dict[str, Any] | None = None,
        duration_s: float = 0.0,
        required: Collection[str] = (),
        expected_failures: Mapping[str, str] | None = None,
    ) -> Entry:
        """The entry of `req`'s result: required if a MUST or named in `required` (--require);
        expected to fail if the implementation declares so (`expected_failures`: id -> why)."""
        declared = expected_failures or {}
        return cls(
            id=req.id,
            level=req.level,
            points=req.points,
            required=req.is_required(required),
            outcome=outcome,
            summary=summary,
            evidence=evidence,
            expected="fail" if req.id in declared else "pass",
            expected_reason=declared.get(req.id, ""),
            duration_s=duration_s,
            details=details or {},
        )

    @property
    def as_declared(self) -> bool:
        """A declared failure may show as not judged: either way the requirement is not met."""
        return self.outcome == self.expected or (self.failed and self.expected == "fail")

    @property
    def failed(self) -> bool:
        """Not met, through the server's fault: failed, or not judged for want of another."""
        return self.outcome in ("fail", "not-judged")

    @property
    def needs(self) -> tuple[str, ...]:
        """The requirements a not-judged entry waits for (one of them)."""
        return tuple(self.details.get("needs", ())) if self.outcome == "not-judged" else ()


@dataclass
class Report:
    spec: Spec
    impl: Implementation
    command: str
    entries: list[Entry] = field(default_factory=list)
    duration_s: float = 0.0
    replay: str = ""  # a command that checks one requirement again: `{id}` marks where
    shared: tuple[str, ...] = ()  # folders the server also saw, read-only (--share)

    def replay_command(self, rid: str) -> str:
        return self.replay.replace("{id}", rid)

    def settle(self) -> Report:
        """A not-judged entry names, of the requirements it needs, those the server failed; if
        it passed every one (checked on its own, it met them) the entry is a fail of its own,
        with what it saw."""
        outcomes = {e.id: e.outcome for e in self.entries}
        for e in self.entries:
            if not e.needs:
                continue
            failed = [n for n in e.needs if outcomes.get(n) in ("fail", "not-judged")]
            unknown = [n for n in e.needs if outcomes.get(n) not in ("pass", "fail", "not-judged")]
            if failed or unknown:  # the first failed: candidates come root cause first
                e.details["needs"] = failed[:1] or unknown
                e.summary = not_judged(e.details["needs"], str(e.details.get("why", "")))
            else:
                e.outcome, e.summary = "fail", str(e.details.get("failure", e.summary))
                e.restated = True
        return self

    @property
    def verdict(self) -> str:
        """conformant: every required check passed; error: none failed but one could not run."""
        required = [e for e in self.entries if e.required]
        if any(e.failed for e in required):
            return "nonconformant"
        if any(e.outcome in ("error", "skip") for e in required):
            return "error"
        return "conformant"

    @property
    def unexpected(self) -> list[Entry]:
        return [e for e in self.entries if not e.as_declared]

    @property
    def score(self) -> int:
        return sum(e.points for e in self.entries if e.outcome == "pass")

    @property
    def max_score(self) -> int:
        """The points of the requirements checked."""
        return sum(e.points for e in self.entries)

    @property
    def partial(self) -> bool:
        """Were only some of the spec's requirements checked (--only)?"""
        return len(self.entries) < len(self.spec.requirements)

    def checked_text(self) -> str:
        return f"the {len(self.entries)} of {len(self.spec.requirements)} requirements checked"

    def to_json(self) -> dict[str, Any]:
        return {
            "spec": {
                "name": self.spec.name,
                "version": self.spec.version,
                "path": str(self.spec.path),
            },
            "implementation": {"name": self.impl.name, "command": self.command},
            "suite": suite_info(self.spec),
            **({"shared": list(self.shared)} if self.shared else {}),
            "verdict": self.verdict,
            "requirements_checked": len(self.entries),
            "requirements_in_spec": len(self.spec.requirements),
            "score": self.score,
            "max_score": self.max_score,
            "requirements": [
                {
                    "id": e.id,
                    "level": e.level,
                    "required": e.required,
                    "outcome": e.outcome,
                    "summary": e.summary,
                    "evidence": e.evidence,
                    "expected": e.expected,
                    "expected_reason": e.expected_reason,
                    "points": e.points,
                    "duration_s": round(e.duration_s, 3),
                    **({"details": e.details} if e.details else {}),
                }
                for e in self.entries
            ],
            "duration_s": round(self.duration_s, 3),
        }


def write_json(path: Path, reports: list[Report], many: bool) -> None:
    data: Any = [r.to_json() for r in reports] if many else reports[0].to_json()
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


MARK = {"pass": "PASS", "fail": "FAIL", "not-judged": "N/A", "error": "ERROR", "skip": "SKIP"}
CELL = {"pass": "pass", "fail": "fail", "not-judged": "n/a", "error": "ERROR", "skip": "skip"}

# The usual causes behind a failure's words, for a student to act on (first match wins).
def hint(report: Report, e: Entry) -> str:
    """Advice for a failed (or errored) entry: its check's, by the failure's cause (a
    deviation's kind, or details["cause"]; catalog.hint).  None for a not-judged one: the entry
    of the requirement it needs has the advice."""
    if e.outcome not in ("fail", "error") or e.id not in report.spec.ids:
        return ""
    deviation = e.details.get("deviation") or {}
    cause = e.details.get("cause") or deviation.get("kind")
    return catalog.hint(report.spec.requirement(e.id).check, cause)


def render_report(report: Report, details: bool = True, table: bool = True) -> str:
    """The report for a person.  `table=False` leaves out the heading and the requirements'
    lines: `check` printed those as the checks finished (render_head, requirement_line)."""
    lines = []
    width = id_width(report.entries)
    if table:
        lines += render_head(report)
        lines += [requirement_line(e, width) for e in report.entries]
    elif restated := [e for e in report.entries if e.restated]:
        lines += ["", "not judged when checked, but what they needed passed, so they fail:"]
        lines += [requirement_line(e, width) for e in restated]
    lines.append("")
    if details:
        for e in root_causes_first(report.entries):
            if e.outcome in ("fail", "error") and e.expected != "fail":
                lines += ["--- " + explanation(report, e), ""]
    lines.append(verdict_line(report))
    return "\n".join(lines)


def root_causes_first(entries: list[Entry]) -> list[Entry]:
    """The requirements others were not judged for want of, first."""
    needed = {n for e in entries for n in e.needs}
    return sorted(entries, key=lambda e: e.id not in needed)


def render_head(report: Report) -> list[str]:
    """What the report is about: the server and the spec, then a blank line."""
    spec = report.spec
    shared = [f"shared with it, read-only: {', '.join(report.shared)}"] if report.shared else []
    return [
        f"{report.impl.name}: {report.command}",
        f"spec: {spec.name} {spec.version} ({spec.path.name})",
        *shared,
        "",
    ]


def id_width(entries: list[Entry]) -> int:
    """The id column's width, the same for every line of one report."""
    return max((len(e.id) for e in entries), default=0)


def requirement_line(e: Entry, width: int) -> str:
    """One requirement's line of the report: outcome, id, level and why."""
    note = e.summary if e.outcome != "pass" else ""
    if e.expected == "fail":
        note = ("as declared: " if e.failed else "declared to fail: ") + (e.expected_reason)
    return f"  {MARK[e.outcome]:<5} {e.id:<{width}}  {e.level:<6} {_clip(note)}"


def explanation(report: Report, e: Entry) -> str:
    """Why an entry failed, for a person: what happened, the requirement, a hint, the evidence
    and how to see it again."""
    lines = [
        f"{e.id} ({e.level}): {e.summary}",
        f"requirement: {report.spec.requirement(e.id).text}",
    ]
    if advice := hint(report, e):
        lines.append(f"hint: {advice}")
    if e.evidence:
        lines.append(e.evidence)
    if capture := e.details.get("capture"):
        lines.append(f"capture: {capture['file']} ({capture['how']})")
    if report.replay:
        lines.append(f"replay: {report.replay_command(e.id)}")
    return "\n".join(lines)


def verdict_line(report: Report) -> str:
    failed = [e.id for e in report.entries if e.required and e.outcome == "fail"]
    errors = [e.id for e in report.entries if e.required and e.outcome in ("error", "skip")]
    should = [e.id for e in report.entries if not e.required and e.outcome == "fail"]
    unjudged = [e for e in report.entries if e.needs]
    verdict = report.verdict
    text = {
        "conformant": "CONFORMANT",
        "nonconformant": "NOT CONFORMANT: required requirement(s) failed: " + ", ".join(failed),
        "error": "NO VERDICT: check(s) could not run: " + ", ".join(errors),
    }[verdict]
    if report.partial:  # --only: say so, not a plain CONFORMANT
        checked = report.checked_text()
        text += f" on {checked}" if verdict == "conformant" else f" ({checked})"
    if should:
        text += f" (SHOULD not met: {', '.join(should)})"
    for needs in dict.fromkeys(e.needs for e in unjudged):
        ids = ", ".join(e.id for e in unjudged if e.needs == needs)
        text += f" (not judged for want of {' and '.join(needs)}: {ids})"
    return f"verdict: {text}"


def render_matrix(reports: list[Report]) -> str:
    """Implementation x requirement, each cell marked against the declaration."""
    ids = [e.id for e in reports[0].entries]
    name_w = max(len(r.impl.name) for r in reports)
    col = [max(len(i), 5) for i in ids]
    head = " " * name_w + "  " + "  ".join(i.ljust(w) for i, w in zip(ids, col))
    lines = [head]
    for r in reports:
        cells = []
        for e, w in zip(r.entries, col):
            cell = CELL[e.outcome]
            if e.expected == "fail" and e.failed:
                cell = "xfail"
            elif not e.as_declared and e.outcome in ("pass", "fail", "not-judged"):
                cell = cell.upper() + "!"
            cells.append(cell.ljust(w))
        lines.append(r.impl.name.ljust(name_w) + "  " + "  ".join(cells))
    lines.append("")
    lines.append(
        "pass/fail: as declared; xfail: a declared expected failure; n/a: not judged for want "
        "of another requirement; PASS!/FAIL!: contrary to the declaration; ERROR: the check "
        "could not run"
    )
    return "\n".join(lines)


def _clip(text: str, width: int = 110) -> str:
    text = text.splitlines()[0] if text else ""
    return text if len(text) <= width else text[: width - 3] + "..."
