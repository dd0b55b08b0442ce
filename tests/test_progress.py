"""Live progress: `check` prints each requirement's line as it finishes (in spec order, counted),
`check --all` a line per implementation, `grade` a line per submission on stderr also without a
terminal, and on a terminal a status line rewritten in place; `-q` prints only the final report.

The command line runs in a subprocess with its output on a pipe, as in a CI log."""

from __future__ import annotations

import io
import json
import os
import pty
import re
import shutil
import subprocess
import sys
from pathlib import Path

from conformance.cli.progress import ERASE, CheckProgress
from conformance.impls import Implementation
from conformance.reports.report import Entry, Report
from conformance.spec import Spec
from tests.helpers import ROOT, SERVERS, server
from tests.test_cli import CLI, run

BUG = [sys.executable, str(SERVERS / "forgets_z.py"), "{port}", "{host}"]
# A progress line: `[ 2/11]  PASS  upper  MUST   ...`
ROW = re.compile(r"\[ *(\d+)/(\d+)\]  (PASS|FAIL|ERROR|SKIP) +(\S+) +(MUST|SHOULD)")
TABLE_ROW = re.compile(r"  (PASS|FAIL|ERROR|SKIP) +(\S+) +(MUST|SHOULD)")

# Correct, but it holds every reply until the gate file exists: `listen` (a connection, no
# bytes) passes at once, `persist` cannot finish before the test opens the gate.
GATED = """
import os, socket, sys, threading, time

def handle(conn):
    with conn:
        try:
            while data := conn.recv(65536):
                while not os.path.exists(sys.argv[3]):
                    time.sleep(0.01)
                conn.sendall(data.upper())
        except OSError:
            pass

listener = socket.create_server((sys.argv[2], int(sys.argv[1])), backlog=512)
while True:
    conn, _ = listener.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
"""


def rows(text: str) -> list[tuple[int, int, str, str]]:
    """(n, total, outcome, id) of each progress line."""
    found = [ROW.match(line) for line in text.splitlines()]
    return [(int(m[1]), int(m[2]), m[3], m[4]) for m in found if m]


def screen(raw: str) -> list[str]:
    """What a terminal shows at the end: each line as left after its last erase."""
    return [line.rsplit(ERASE, 1)[-1] for line in raw.replace("\r\n", "\n").split("\n")]


def read_pty(argv: list[str], stream: str, cwd: Path | None = None) -> tuple[str, str, int]:
    """Run with `stream` (stdout or stderr) on a terminal, the other on a pipe: (what the
    terminal got, what the pipe got, exit status)."""
    main, child = pty.openpty()
    on_tty = stream == "stdout"
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=child if on_tty else subprocess.PIPE,
        stderr=subprocess.PIPE if on_tty else child,
        cwd=cwd,
    )
    os.close(child)
    got = b""
    while True:  # until the child's end closes (EIO): read all along, so it never blocks
        try:
            chunk = os.read(main, 4096)
        except OSError:
            break
        if not chunk:
            break
        got += chunk
    os.close(main)
    pipe = proc.stderr if on_tty else proc.stdout
    assert pipe is not None
    return got.decode(), pipe.read().decode(), proc.wait(timeout=300)


def progress_lines(stderr: str) -> list[str]:
    """stderr without the note a machine without namespaces gets (sandbox.FALLBACK_NOTE)."""
    return [line for line in stderr.splitlines() if not line.startswith("echo-conformance: note")]


# -- check ------------------------------------------------------------------------------------


def start_gated(tmp_path: Path) -> tuple[subprocess.Popen[str], Path]:
    """`check --only listen --only persist` of the GATED server, and its gate (closed)."""
    gate = tmp_path / "gate"
    (tmp_path / "gated.py").write_text(GATED)
    argv = [sys.executable, str(tmp_path / "gated.py"), "{port}", "{host}", str(gate)]
    # Two workers: listen and persist run side by side (xdist hands one to each).  The reply
    # timeout outlasts the gate.
    options = ["--only", "listen", "--only", "persist", "-n", "2", "--timeout", "60"]
    proc = subprocess.Popen(
        [*CLI, "check", *options, "--profile", "quick", "--", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    return proc, gate


def test_a_line_is_printed_while_the_next_check_still_runs(tmp_path: Path) -> None:
    proc, gate = start_gated(tmp_path)
    assert proc.stdout is not None
    try:
        head = [proc.stdout.readline() for _ in range(3)]
        first = proc.stdout.readline()
        running = proc.poll() is None  # persist waits for the gate: the process cannot be done
        gate.touch()
        rest = proc.stdout.read()
        status = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert head[0].startswith("server: ") and head[1].startswith("spec: ") and head[2] == "\n"
    assert rows(first) == [(1, 2, "PASS", "listen")], first
    assert running
    assert rows(rest) == [(2, 2, "PASS", "persist")], rest
    assert rest.splitlines()[1] == "" and rest.splitlines()[2].startswith("verdict: CONFORMANT")
    assert status == 0


def test_lines_come_in_spec_order_counted_and_once(spec: Spec) -> None:
    proc = run("check", "--profile", "quick", "select", cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    total = len(spec.ids)
    assert rows(proc.stdout) == [(i + 1, total, "PASS", rid) for i, rid in enumerate(spec.ids)]
    # The table is not printed again at the end.
    assert not [line for line in proc.stdout.splitlines() if TABLE_ROW.match(line)]
    assert proc.stdout.splitlines()[-2].startswith("verdict: CONFORMANT")


def test_a_planted_bug_fails_in_its_place_with_its_details_after(tmp_path: Path) -> None:
    only = ["--only", "prompt", "--only", "upper", "--only", "listen"]
    shown = run("check", "--profile", "quick", *only, "--", *BUG)
    quiet = run("check", "--profile", "quick", "-q", *only, "--", *BUG)
    assert shown.returncode == quiet.returncode == 1, shown.stdout + shown.stderr
    found = rows(shown.stdout)
    assert [(n, total, rid) for n, total, _, rid in found] == [
        (1, 3, "listen"),
        (2, 3, "upper"),
        (3, 3, "prompt"),
    ]
    assert found[1][2] == "FAIL"
    lines = shown.stdout.splitlines()
    last_row = max(i for i, line in enumerate(lines) if ROW.match(line))
    assert lines[last_row + 2].startswith("--- upper (MUST): c1: wrong byte")
    assert "verdict: NOT CONFORMANT" in lines[-2]
    # Quiet: today's report, its table at once; the progress lines are that table, counted.
    assert not rows(quiet.stdout)
    table = [line for line in quiet.stdout.splitlines() if TABLE_ROW.match(line)]
    assert table == [line[line.index("]") + 1 :] for line in lines[3:6]]
    assert table[0].startswith("  PASS  listen")


def test_check_all_prints_a_line_per_implementation(tmp_path: Path) -> None:
    proc = run("check", "--all", "--only", "listen", "--json", str(tmp_path / "r.json"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    names = [r["implementation"]["name"] for r in json.loads((tmp_path / "r.json").read_text())]
    done = [line for line in lines if line.startswith("[")]
    assert len(done) == len(names)
    for n, line in enumerate(done, 1):
        assert re.fullmatch(rf"\[{n}/{len(names)}\] (\S+) +1/1 as declared  \(\d+\.\d s\)", line)
    assert sorted(line.split()[1] for line in done) == sorted(names)
    assert lines[len(done)] == "" and lines[len(done) + 1].split() == ["listen"]  # the matrix
    quiet = run("check", "--all", "--only", "listen", "-q")
    assert not [line for line in quiet.stdout.splitlines() if line.startswith("[")]


def test_check_on_a_terminal_shows_what_runs_and_erases_it(tmp_path: Path) -> None:
    argv = [*CLI, "check", "--profile", "quick", "--only", "listen", "--only", "upper", "select"]
    raw, _, status = read_pty(argv, "stdout", cwd=ROOT)
    assert status == 0, raw
    assert "done; running: " in raw  # shown before a line could be printed
    shown = screen(raw)
    assert [rows(line) for line in shown[3:5]] == [
        [(1, 2, "PASS", "listen")],
        [(2, 2, "PASS", "upper")],
    ]
    assert shown[5] == "" and shown[6].startswith("verdict: CONFORMANT")
    assert shown[-1] == ""  # no status line left behind


def test_a_reader_that_stops_reading_stops_nothing_else(tmp_path: Path) -> None:
    """`check ... | head -1`: the progress lines meet a closed pipe inside pytest's hooks; the
    run ends as it did before progress, in one quiet exit 2 (cli.main's BrokenPipeError)."""
    proc, gate = start_gated(tmp_path)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().startswith("server: ")
    proc.stdout.close()  # persist's line and the report come after this: their writes fail
    gate.touch()
    stderr = proc.stderr.read()
    assert proc.wait(timeout=300) == 2
    assert "INTERNALERROR" not in stderr and "Traceback" not in stderr, stderr
    assert "runner failed" not in stderr


# -- check's progress, fed results out of order -------------------------------------------------


def test_lines_wait_for_every_line_before_them(spec: Spec) -> None:
    impl: Implementation = server("ok_threads.py")
    ids = ["listen", "upper", "stream"]
    outcomes: dict[str, str] = {}

    def reports() -> list[Report]:
        entries = [Entry(rid, "MUST", 10, True, outcomes.get(rid, "skip")) for rid in ids]
        entries[1].summary = "broken"
        return [Report(spec, impl, "cmd", entries)]

    out = io.StringIO()
    progress = CheckProgress(reports, many=False, out=out, live=False)
    assert out.getvalue() == f"{impl.name}: cmd\nspec: {spec.name} {spec.version} (echo.toml)\n\n"
    out.truncate(0)
    out.seek(0)
    for rid, outcome in (("stream", "pass"), ("upper", "fail")):
        outcomes[rid] = outcome
        progress.result((impl.name, rid))
    assert out.getvalue() == ""  # listen, the first, is not in yet
    outcomes["listen"] = "pass"
    progress.result((impl.name, "listen"))
    progress.result((impl.name, "listen"))  # again (its teardown's report): nothing more
    assert out.getvalue().splitlines() == [
        "[1/3]  PASS  listen  MUST   ",
        "[2/3]  FAIL  upper   MUST   broken",
        "[3/3]  PASS  stream  MUST   ",
    ]


def test_a_check_that_left_no_result_is_printed_at_the_end(spec: Spec) -> None:
    impl = server("ok_threads.py")

    def reports() -> list[Report]:
        return [Report(spec, impl, "cmd", [Entry("listen", "MUST", 10, True, "skip")])]

    out = io.StringIO()
    progress = CheckProgress(reports, many=False, out=out, live=True)
    progress.running([(impl.name, "listen")])
    assert out.getvalue().endswith("0/1 done; running: listen")
    progress.stop()
    progress.finish()
    assert screen(out.getvalue())[3:] == ["[1/1]  SKIP  listen  MUST   ", ""]


# -- grade ------------------------------------------------------------------------------------


def make_class(root: Path, servers: dict[str, str]) -> Path:
    for name, file in servers.items():
        (root / name).mkdir(parents=True)
        if file:
            shutil.copy(SERVERS / file, root / name / "server.py")
    return root


def grade_argv(root: Path, out: Path, *extra: str) -> list[str]:
    command = f"{sys.executable} server.py {{port}} {{host}}"
    options = ["--profile", "quick", "--out", str(out), "-n", "2", *extra]
    return [*CLI, "grade", str(root), "--command", command, *options]


def test_grade_prints_a_line_per_submission_without_a_terminal(tmp_path: Path) -> None:
    servers = {"ada": "ok_selectors.py", "eve": "forgets_z.py", "nobody": ""}
    root = make_class(tmp_path / "class", servers)
    proc = subprocess.run(
        grade_argv(root, tmp_path / "grades"),
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    lines = progress_lines(proc.stderr)
    assert [line.split()[0] for line in lines] == ["[1/3]", "[2/3]", "[3/3]"], proc.stderr
    by_name = {line.split()[1].rstrip(":"): line for line in lines}
    assert sorted(by_name) == ["ada", "eve", "nobody"]
    assert re.fullmatch(r"\[\d/3\] ada: 100/100 conformant \(\d+\.\d s\)", by_name["ada"])
    assert re.fullmatch(r"\[\d/3\] eve: \d+/100 \S+ \(\d+\.\d s\)  \(.*upper.*\)", by_name["eve"])
    # Nothing to run: graded before any server starts.
    assert lines[0].startswith("[1/3] nobody: 0/100 nonconformant (0.0 s)")
    assert "\r" not in proc.stderr and "\x1b" not in proc.stderr  # no terminal: no status line
    assert proc.stdout.startswith("submission  score")  # the summary, on stdout as before


def test_grade_quiet_prints_only_the_summary(tmp_path: Path) -> None:
    root = make_class(tmp_path / "class", {"ann": "", "bob": ""})  # nothing to run: fast
    proc = run(*grade_argv(root, tmp_path / "grades", "-q")[len(CLI) :])
    assert proc.returncode == 0, proc.stderr
    assert "[1/2]" not in proc.stderr + proc.stdout
    assert proc.stdout.startswith("submission  score") and "2 submissions graded" in proc.stdout


def test_grade_on_a_terminal_shows_a_status_line(tmp_path: Path) -> None:
    root = make_class(tmp_path / "class", {"ada": "ok_selectors.py", "nobody": ""})
    raw, stdout, status = read_pty(grade_argv(root, tmp_path / "grades"), "stderr")
    assert status == 0, raw
    assert "grading: 0/2 done; starting the servers" in raw
    assert "grading: 1/2 done; checking ada" in raw  # ada's checks, after nobody's line
    shown = progress_lines("\n".join(screen(raw)))
    assert shown[0].startswith("[1/2] nobody: 0/100")
    assert shown[1].startswith("[2/2] ada: 100/100 conformant")
    assert raw.endswith(ERASE) and len(shown) == 2  # the status line erased for the summary
    assert stdout.startswith("submission  score")
