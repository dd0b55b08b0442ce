"""Mutation of a reference model: does the suite kill small changes to a correct server?

    python3 tests/mutate.py [impls/select] [--profile quick] [--only K ...] [--list]

Each mutant is the server with one small change (a comparison flipped, a number moved by one, a
boolean operator swapped, a statement removed) and is checked with `echo-conformance check`.
Killed: some requirement fails (an error, a skip or a missing report is no kill: the mutant is
"not judged", and the run exits 1).  A survivor is either equivalent (the change cannot be seen from
outside, or only in a way no requirement asks about: explained in tests/mutants/NAME.toml) or a
missing check (add one).  Prints one line per mutant and the tally; exits 1 when a survivor is
unexplained.
"""

from __future__ import annotations

import argparse
import ast
import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from conformance.spec import read_toml

ROOT = Path(__file__).resolve().parent.parent
EXPLAINED = Path(__file__).resolve().parent / "mutants"
FLIP: dict[type, type] = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
SKIP_STATEMENTS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef, ast.Pass)


def sites(tree: ast.Module) -> Iterator[tuple[ast.AST, str]]:
    """Every place a mutation applies, with what it does (in walk order: stable); where the same
    change applies twice on a line, which one, counted from the left: one name, one mutant."""
    found = [(node, what, node.lineno, node.col_offset) for node, what in _sites(tree)]
    columns: dict[tuple[int, str], list[int]] = {}
    for _, what, line, column in found:
        columns.setdefault((line, what), []).append(column)
    for node, what, line, column in found:
        same = sorted(columns[(line, what)])
        yield node, what if len(same) == 1 else f"{what} (#{same.index(column) + 1} on its line)"


def _sites(tree: ast.Module) -> Iterator[tuple[ast.expr | ast.stmt, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for op in node.ops:
                if type(op) in FLIP:
                    yield node, f"{type(op).__name__} -> {FLIP[type(op)].__name__}"
        elif isinstance(node, ast.BoolOp):
            yield (
                node,
                f"{type(node.op).__name__} -> {'Or' if isinstance(node.op, ast.And) else 'And'}",
            )
        elif isinstance(node, ast.Constant) and type(node.value) is int:
            yield node, f"{node.value} -> {node.value + 1}"
        for field in ("body", "orelse", "finalbody"):
            body = getattr(node, field, None)
            for stmt in body if isinstance(body, list) else []:
                docstring = isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
                if not isinstance(stmt, SKIP_STATEMENTS) and not docstring:
                    yield stmt, "statement removed"


def mutant(source: str, k: int) -> tuple[str, int, str]:
    """The source with the k-th mutation applied; its line and description."""
    tree = ast.parse(source)
    node, what = list(sites(tree))[k]
    if isinstance(node, ast.Compare):
        node.ops = [FLIP.get(type(op), type(op))() for op in node.ops]
    elif isinstance(node, ast.BoolOp):
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    elif isinstance(node, ast.Constant):
        node.value += 1
    else:
        _remove(tree, node)
    return ast.unparse(ast.fix_missing_locations(tree)), node.lineno, what  # type: ignore[attr-defined]


def _remove(tree: ast.Module, stmt: ast.AST) -> None:
    for node in ast.walk(tree):
        for field in ("body", "orelse", "finalbody"):
            body = getattr(node, field, None)
            if isinstance(body, list) and stmt in body:
                body[body.index(stmt)] = ast.Pass()
                return


Key = tuple[str, str, str]  # (enclosing function, source line, change)


def explanations(impl: Path) -> dict[Key, list[dict[str, str]]]:
    """Why listed mutants are equivalent, from tests/mutants/NAME.toml, by key."""
    path = EXPLAINED / f"{impl.name}.toml"
    found: dict[Key, list[dict[str, str]]] = {}
    for e in read_toml(path, ValueError)["equivalent"] if path.exists() else []:
        found.setdefault((e["in"], e["line"], e["change"]), []).append(e)
    return found


def explain(
    found: dict[Key, list[dict[str, str]]], source: str, line: int, what: str
) -> dict[str, str] | None:
    """The explanation given for this mutant, if any.  A mutant is named by the innermost function
    (or class, or "module") around its line, the line stripped and without its comment, the
    change, and where that is not enough, the line before it (`after`)."""
    tree = ast.parse(source)
    where = "module"
    for node in ast.walk(tree):  # breadth-first: the last function around the line is innermost
        inside = isinstance(node, (ast.FunctionDef, ast.ClassDef))
        if inside and node.lineno <= line <= (node.end_lineno or line):
            where = node.name
    lines = [text.split("  #")[0].strip() for text in source.splitlines()]
    before = next((text for text in reversed(lines[: line - 1]) if text), "")
    for e in found.get((where, lines[line - 1], what), []):
        if e.get("after", before) == before:
            return e
    return None


def check(folder: Path, profile: str) -> tuple[list[str], list[str]]:
    """The requirements the server in `folder` fails (empty: the mutant survived), and what gave
    no verdict (a requirement's error or skip, or no report at all).  A requirement not judged
    for want of another is neither: that other one fails."""
    report = folder / "report.json"
    argv = [sys.executable, "-m", "conformance.cli", "check", "--profile", profile]
    argv += ["--json", str(report), "--", sys.executable, "server.py", "{port}", "{host}"]
    done = subprocess.run(
        argv, cwd=folder, capture_output=True, text=True, timeout=900, check=False
    )
    if not report.exists():
        return [], [f"no report: exit {done.returncode}: {done.stderr.strip()[-200:]}"]
    data = json.loads(report.read_text())
    failed = [r["id"] for r in data["requirements"] if r["outcome"] == "fail"]
    no_verdict = [
        f"{r['id']}: {r['outcome']}"
        for r in data["requirements"]
        if r["outcome"] in ("error", "skip")
    ]
    return failed, no_verdict


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("impl", nargs="?", default=str(ROOT / "impls" / "select"))
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--only", type=int, action="append", default=[])
    parser.add_argument("--list", action="store_true", help="list the mutants, check none")
    args = parser.parse_args()
    source = (Path(args.impl) / "server.py").read_text()
    why = explanations(Path(args.impl))
    count = len(list(sites(ast.parse(source))))
    killed, equivalent, unexplained, no_verdict = 0, 0, [], []
    for k in args.only or range(count):
        code, line, what = mutant(source, k)
        if args.list:
            print(f"#{k:<3} line {line:<4} {what}")
            continue
        with tempfile.TemporaryDirectory(prefix="echo-mutant-") as tmp:
            (Path(tmp) / "server.py").write_text(code)
            failed, errors = check(Path(tmp), args.profile)
        reason = explain(why, source, line, what)
        if failed:
            killed += 1
            verdict = f"killed ({', '.join(failed)})"
        elif errors:
            no_verdict.append(k)
            verdict = f"NO VERDICT ({'; '.join(errors)})"
        elif reason:
            equivalent += 1
            verdict = f"equivalent: {reason['why']}"
        else:
            unexplained.append(k)
            verdict = "SURVIVED (unexplained)"
        print(f"#{k:<3} line {line:<4} {what:<24} {verdict}", flush=True)
    if args.list:
        return 0
    total = len(args.only) or count
    print(
        f"\nmutants killed: {killed}/{total}; equivalent (explained): {equivalent}; "
        f"unexplained survivors: {unexplained or 'none'}; no verdict: {no_verdict or 'none'}"
    )
    return 1 if unexplained or no_verdict else 0


if __name__ == "__main__":
    sys.exit(main())
