"""Benchmarks of echo-conformance on this machine, printed as Markdown tables for the README.

Run it with the interpreter the suite is installed in, from anywhere (the CLI runs from the
repository root):

    python3 benchmarks/run.py                        # everything, one run of each job
    python3 benchmarks/run.py --runs 3               # best and median of 3 runs
    python3 benchmarks/run.py --quick                # smoke test: well under a minute
    python3 benchmarks/run.py --parts exchange       # one part only (comma-separated list)
    python3 benchmarks/run.py --impls select,threaded --profiles quick,default
    python3 benchmarks/run.py --class-size 100       # grade a class of 100 + 1 (0: skip)

The parts, in order:

  verdicts  time to a verdict, `check NAME --profile P`, per registered implementation and
            profile (quick, default, thorough);
  parallel  `check --all` wall time with -n 0 (or -n 1 where the CLI rejects 0), 2 and 4, and the
            speed-up over the first;
  exchange  round trips per second and MiB/s through the suite's driver (Session, Peer, pump:
            what the checks use) against a bare blocking-socket loop doing the same exchanges
            with the same server (impls/select/server.py on a free 127.0.0.1 port);
  grade     `grade -n 4` of a generated class (N correct servers and one buggy one, all on port
            8080): submissions per minute.

Every table comes with the machine line (CPUs, Python, date, isolation).  Exit status: 0 when
every job ran (a `check` that exits 1, not conformant, ran), 1 when any did not (exit 2, a
signal, a timeout, a harness error).

--quick: the quick profile only, `select` only, `check select --only listen --only upper`
instead of `check --all`, with -n 0 and 2, a class of 3 + 1, smaller exchange workloads.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's conformance, whatever is installed

from conformance.checks.context import round_trip  # noqa: E402
from conformance.driver.launcher import Server, Target  # noqa: E402
from conformance.driver.sandbox import isolation  # noqa: E402
from conformance.impls import registry  # noqa: E402
from conformance.model import Transform  # noqa: E402
from conformance.payload import block  # noqa: E402
from conformance.session import EXIT_SETTLE, Session  # noqa: E402
from conformance.spec import Spec, load_spec  # noqa: E402

SERVERS = ROOT / "tests" / "servers"
SELECT_DIR = ROOT / "impls" / "select"
PROFILES = ("quick", "default", "thorough")
PARTS = ("verdicts", "parallel", "exchange", "grade")
PROFILE_ENV = "ECHO_CONFORMANCE_PROFILE"
LOOPBACK = "127.0.0.1"  # the exchange part talks to this address only
MIB = 1 << 20
READ_SIZE = 65536  # bytes per recv(), as the driver reads
RATIO_GOAL = 0.5  # harness rate / bare rate


class BenchError(Exception):
    """A job could not run, or a bare loop saw a wrong reply."""


# -- running the CLI ---------------------------------------------------------------------------


@dataclass
class Timing:
    """Wall times and exit codes of the runs of one CLI job."""

    times: list[float] = field(default_factory=list)
    codes: list[int | None] = field(default_factory=list)  # None: killed after the timeout
    errors: list[str] = field(default_factory=list)

    @property
    def ran(self) -> bool:
        """Every run ended with 0 (conformant) or 1 (not conformant)."""
        return bool(self.codes) and all(code in (0, 1) for code in self.codes)

    @property
    def best(self) -> float:
        return min(self.times)

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def child_env() -> dict[str, str]:
    """Our environment without the profile variable: every job says its profile."""
    return {k: v for k, v in os.environ.items() if k != PROFILE_ENV}


def run_cli(argv: Sequence[str], timeout: float) -> tuple[float, int | None, str]:
    """Run `python -m conformance.cli ARGV` from the repository root: (seconds, exit code or
    None after a timeout, stderr tail)."""
    start = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "conformance.cli", *argv],
        cwd=ROOT,
        env=child_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its workers and servers go with it after a timeout
    )
    try:
        out, err = proc.communicate(timeout=timeout)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        code = None
    elapsed = time.monotonic() - start
    # What went against the declarations (check --all says UNEXPECTED), then the stderr tail.
    surprises = [
        line for line in out.decode("utf-8", "replace").splitlines() if "UNEXPECTED" in line
    ]
    tail = surprises + err.decode("utf-8", "replace").strip().splitlines()[-3:]
    return elapsed, code, " / ".join(tail)


def time_cli(
    argv: Sequence[str], runs: int, timeout: float, ok: tuple[int, ...] = (0, 1)
) -> Timing:
    """Run a CLI job `runs` times; an exit code not in `ok` is an error."""
    timing = Timing()
    for _ in range(runs):
        elapsed, code, tail = run_cli(argv, timeout)
        timing.times.append(elapsed)
        timing.codes.append(code)
        if code not in ok:
            timing.errors.append(f"exit {code if code is not None else 'timeout'}: {tail}")
    return timing


def show_time(timing: Timing) -> str:
    """A table cell: best (and median) time, and the exit code when not 0."""
    if not timing.ran:
        codes = ",".join("timeout" if c is None else str(c) for c in timing.codes)
        return f"**did not run** (exit {codes})"
    cell = f"{timing.best:.1f} s"
    if len(timing.times) > 1:
        cell += f" (median {timing.median:.1f} s)"
    if any(timing.codes):
        cell += f", exit {','.join(str(c) for c in sorted(set(timing.codes), key=str))}"
    return cell


def machine_line(runs: int) -> str:
    """What the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    isolated, why = isolation()
    sandbox = "servers isolated in namespaces" if isolated else f"servers not isolated ({why})"
    return (
        f"_{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, "
        f"{datetime.date.today().isoformat()}, {sandbox}; "
        f"{runs} run{'s' if runs > 1 else ''} each{', best (median)' if runs > 1 else ''}_"
    )


# -- part 1: time to a verdict -----------------------------------------------------------------


def time_to_verdict(
    impls: Sequence[str], profiles: Sequence[str], runs: int, timeout: float
) -> tuple[list[str], list[str]]:
    """`check NAME --profile P` for each implementation and profile: (table, errors)."""
    lines = [
        "| implementation | " + " | ".join(f"`{p}`" for p in profiles) + " |",
        "|---|" + "---|" * len(profiles),
    ]
    errors = []
    for name in impls:
        cells = []
        for profile in profiles:
            timing = time_cli(["check", name, "--profile", profile], runs, timeout)
            cells.append(show_time(timing))
            errors += [f"check {name} --profile {profile}: {e}" for e in timing.errors]
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    return lines, errors


# -- part 2: parallel speed-up -----------------------------------------------------------------


def parallel_speedup(
    target: Sequence[str], workers: Sequence[int], profile: str, runs: int, timeout: float
) -> tuple[list[str], list[str]]:
    """`check TARGET` wall time per -n, and the speed-up over the first: (table, errors)."""
    what = " ".join(target)
    lines = [
        f"| `check {what} --profile {profile}` | wall time | speed-up |",
        "|---|---|---|",
    ]
    errors: list[str] = []
    base: float | None = None
    for n in workers:
        label = f"`-n {n}`"
        # Every outcome as declared, or the run is an error (exit 1: one went against them).
        argv = ["check", *target, "--profile", profile, "-n", str(n)]
        timing = time_cli(argv, runs, timeout, ok=(0,))
        errors += [f"check {what} -n {n}: {e}" for e in timing.errors]
        if not timing.ran:
            lines.append(f"| {label} | {show_time(timing)} | - |")
            continue
        base = timing.best if base is None else base
        lines.append(f"| {label} | {show_time(timing)} | {base / timing.best:.2f}x |")
    lines += ["", "(speed-up: the first row's best time over this row's best time)"]
    return lines, errors


# -- part 3: exchange rate ---------------------------------------------------------------------


@dataclass
class Rate:
    """Exchanges (round trips or connections) and reply bytes over seconds."""

    exchanges: int
    reply_bytes: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.exchanges / self.seconds if self.seconds > 0 else 0.0

    @property
    def mib_per_second(self) -> float:
        return self.reply_bytes / MIB / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class Workload:
    name: str
    unit: str  # what `Rate.exchanges` counts, per second
    size: int  # bytes per message (small) or per write (stream)
    count: int  # round trips, connections, or writes
    seconds: float  # at most this long, whatever the count
    goal: bool = True  # held to RATIO_GOAL


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


def start_select_server(timeout: float = 10.0) -> tuple[subprocess.Popen[bytes], int]:
    """impls/select/server.py on a free loopback port, once it accepts a connection."""
    for _ in range(3):  # the port may be taken between the probe and the server's bind
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "server.py", str(port), LOOPBACK],
            cwd=SELECT_DIR,
            env=child_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                socket.create_connection((LOOPBACK, port), timeout=1.0).close()
                return proc, port
            except OSError:
                time.sleep(0.02)
        stop_server(proc)
    raise BenchError("impls/select/server.py did not accept a connection")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(2.0)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def harness_server(proc: subprocess.Popen[bytes], port: int, spec: Spec) -> Server:
    """The launcher's view of a server we started ourselves, for Sessions to use."""
    target = Target.from_command("select", [sys.executable, "server.py", "{port}", "{host}"])
    return Server(target, spec, port=port, proc=proc, isolated="")


def timed(w: Workload, exchange: Callable[[int], None]) -> Rate:
    """`exchange(n)` for n = 0, 1, ... until `w.count` of them or `w.seconds`: the rate."""
    n, start = 0, time.perf_counter()
    deadline = start + w.seconds
    while n < w.count and time.perf_counter() < deadline:
        exchange(n)
        n += 1
    return Rate(n, n * w.size, time.perf_counter() - start)


def harness_round_trips(server: Server, spec: Spec, w: Workload) -> Rate:
    """One connection, `w.count` sequential round trips of `w.size` bytes through the driver and
    the model: write, then wait for every owed byte (Session.replies), as `persist` does."""
    message = block(w.size, 1)
    with Session(server, spec, Transform.of(spec)) as s:
        peer = s.connect("bench")

        def exchange(n: int) -> None:
            peer.write(message)
            s.replies(peer)

        return timed(w, exchange)


def bare_round_trips(port: int, transform: Transform, w: Workload) -> Rate:
    """The same exchanges with a blocking socket: sendall, recv until the reply is in."""
    message = block(w.size, 1)
    expected = transform(message)
    with socket.create_connection((LOOPBACK, port), timeout=5.0) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as the driver does

        def exchange(n: int) -> None:
            sock.sendall(message)
            if recv_exactly(sock, len(message)) != expected:
                raise BenchError(f"bare round trip {n}: wrong reply")

        return timed(w, exchange)


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    reply = bytearray()
    while len(reply) < size:
        data = sock.recv(READ_SIZE)
        if not data:
            raise BenchError("the server closed the connection")
        reply += data
    return bytes(reply)


def harness_examples(server: Server, spec: Spec, w: Workload) -> Rate:
    """Connect, one round trip of `w.size` bytes, close: one stateless example of `upper`, as
    check_transform runs it (a fresh stateless Session each, round_trip)."""
    message = block(w.size, 2)
    transform = Transform.of(spec)

    def exchange(n: int) -> None:
        server.await_settled()  # what ctx.session() does before each example
        if not server.alive():
            raise BenchError(f"the server {server.exit_status()}")
        with Session(server, spec, transform, stateless=True) as s:
            round_trip(s, message)

    return timed(w, exchange)


def bare_examples(port: int, transform: Transform, w: Workload) -> Rate:
    """The same with a blocking socket: connect, sendall, recv the reply, close."""
    message = block(w.size, 2)
    expected = transform(message)

    def exchange(n: int) -> None:
        with socket.create_connection((LOOPBACK, port), timeout=5.0) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.sendall(message)
            if recv_exactly(sock, len(message)) != expected:
                raise BenchError(f"bare example {n}: wrong reply")

    return timed(w, exchange)


def harness_stream(server: Server, spec: Spec, w: Workload) -> Rate:
    """`w.count` writes of `w.size` bytes queued at once, and the replies read as they come
    (pump interleaves sends and receives), as `stream` does with a large write."""
    chunk = block(w.size, 3)
    with Session(server, spec, Transform.of(spec)) as s:
        peer = s.connect("bench")
        for _ in range(w.count):
            peer.write(chunk)
        start = time.perf_counter()
        s.run(
            [peer],
            lambda: peer.settled,
            s.timeouts.stall,
            "streaming",
            until=time.monotonic() + w.seconds,
        )
        elapsed = time.perf_counter() - start
        received = peer.stream.received
    return Rate(received // w.size, received, elapsed)


def bare_stream(port: int, transform: Transform, w: Workload) -> Rate:
    """The same with a bare non-blocking socket in one thread, as the driver works: poll(),
    send what fits, read what is there, and compare each piece with the transform of the bytes
    sent at its offset (the driver's model does that work too)."""
    chunk = block(w.size, 3)
    total = w.size * w.count
    sent = bytearray()
    with socket.create_connection((LOOPBACK, port), timeout=5.0) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        poller = select.poll()
        start = time.perf_counter()
        deadline = start + w.seconds
        received = 0
        out = memoryview(chunk)
        while received < total and time.perf_counter() < deadline:
            sending = len(sent) < total
            poller.register(sock, select.POLLIN | (select.POLLOUT if sending else 0))
            for _, events in poller.poll(100):
                if events & select.POLLOUT:
                    n = sock.send(out)
                    sent += out[:n]
                    out = out[n:] or memoryview(chunk)
                if events & select.POLLIN:
                    data = sock.recv(READ_SIZE)
                    if not data:
                        raise BenchError("the server closed the stream")
                    if data != transform(bytes(sent[received : received + len(data)])):
                        raise BenchError(f"bare stream: wrong reply at offset {received}")
                    received += len(data)
        elapsed = time.perf_counter() - start
    return Rate(received // w.size, received, elapsed)


def exchange_workloads(quick: bool, seconds: float) -> list[Workload]:
    scale = 8 if quick else 1
    return [
        Workload("64 B round trips on one connection", "round trips/s", 64, 20000, seconds),
        Workload(
            "connect, 64 B round trip, close: one `upper` example "
            f"(with its {EXIT_SETTLE * 1000:g} ms exit settle)",
            "connections/s",
            64,
            2000 // scale,
            seconds,
            goal=False,  # the settle is a deliberate wait, not overhead
        ),
        Workload(
            f"{64 // scale} MiB stream in 1 MiB writes, read concurrently",
            "MiB/s",
            MIB,
            64 // scale,
            max(seconds, 10.0),
        ),
    ]


Measure = Callable[[Workload], Rate]


def measure(fn: Measure, w: Workload, runs: int, errors: list[str], who: str) -> list[Rate]:
    """`runs` runs of one side of one workload; a failed run is an error, not a figure."""
    rates = []
    for _ in range(runs):
        try:
            rates.append(fn(w))
        except Exception as exc:  # a NonConformance, a socket error, a wrong reply
            summary = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            errors.append(f"exchange, {w.name}, {who}: {summary}")
    return rates


def figure(r: Rate, w: Workload) -> float:
    return r.mib_per_second if w.unit == "MiB/s" else r.per_second


def show_rate(rates: list[Rate], w: Workload) -> str:
    """A table cell: the best rate (and the median), and how far a time-bounded run got."""
    if not rates:
        return "**did not run**"
    ranked = sorted(rates, key=lambda r: figure(r, w))
    best = ranked[-1]
    cell = f"{figure(best, w):,.0f} {w.unit}"
    if len(ranked) > 1:
        cell += f" (median {figure(ranked[len(ranked) // 2], w):,.0f})"
    if w.unit != "MiB/s":
        cell += f", {best.mib_per_second:.2f} MiB/s"
    if best.exchanges < w.count:
        cell += f" [{best.exchanges} of {w.count}, bounded at {w.seconds:g} s]"
    return cell


def exchange_rate(runs: int, quick: bool, seconds: float) -> tuple[list[str], list[str]]:
    """Harness against bare loop, per workload, with the same select server: (table, errors)."""
    spec = load_spec()
    transform = Transform.of(spec)
    errors: list[str] = []
    lines = [
        "| workload | harness (Session, Peer, pump) | bare socket loop | harness/bare |",
        "|---|---|---|---|",
    ]
    proc, port = start_select_server()
    server = harness_server(proc, port, spec)
    sides: dict[str, tuple[Measure, Measure]] = {
        "round trips/s": (
            partial(harness_round_trips, server, spec),
            partial(bare_round_trips, port, transform),
        ),
        "connections/s": (
            partial(harness_examples, server, spec),
            partial(bare_examples, port, transform),
        ),
        "MiB/s": (partial(harness_stream, server, spec), partial(bare_stream, port, transform)),
    }
    try:
        for w in exchange_workloads(quick, seconds):
            harness_fn, bare_fn = sides[w.unit]
            harness = measure(harness_fn, w, runs, errors, "harness")
            bare = measure(bare_fn, w, runs, errors, "bare")
            ratio = "-"
            if harness and bare:
                h = max(r.reply_bytes / r.seconds for r in harness)
                b = max(r.reply_bytes / r.seconds for r in bare)
                short = w.goal and h / b < RATIO_GOAL
                ratio = f"{h / b:.2f}" + (f" (goal {RATIO_GOAL})" if short else "")
            lines.append(f"| {w.name} | {show_rate(harness, w)} | {show_rate(bare, w)} | {ratio} |")
            if proc.poll() is not None:
                raise BenchError(f"the select server exited ({proc.returncode})")
    except BenchError as exc:
        errors.append(f"exchange: {exc}")
    finally:
        stop_server(proc)
        shutil.rmtree(server.workdir, ignore_errors=True)
    lines += ["", "(harness/bare: reply bytes per second, best against best)"]
    return lines, errors


# -- part 4: grading throughput ----------------------------------------------------------------


def make_class(root: Path, size: int) -> None:
    """`size` copies of a correct threaded server and one that forgets z, all on port 8080."""
    for i in range(size):
        (root / f"student{i:03}").mkdir(parents=True)
        shutil.copy(SERVERS / "ok_threads.py", root / f"student{i:03}" / "server.py")
    (root / "buggy").mkdir(parents=True)
    shutil.copy(SERVERS / "forgets_z.py", root / "buggy" / "server.py")


def grading_throughput(
    size: int, workers: int, profile: str, runs: int, timeout: float
) -> tuple[list[str], list[str]]:
    """`grade -n WORKERS` of a class of `size` + 1 submissions: (table, errors)."""
    errors = []
    scratch = Path(tempfile.mkdtemp(prefix="echo-bench-"))
    try:
        make_class(scratch / "class", size)
        argv = ["grade", str(scratch / "class"), "--out", str(scratch / "grades")]
        argv += ["--command", "python3 server.py 8080", "--fixed-port", "8080"]
        argv += ["--profile", profile, "-n", str(workers)]
        timing = time_cli(argv, runs, timeout)
        errors += [f"grade: {e}" for e in timing.errors]
        graded = count_grades(scratch / "grades" / "grades.csv")
        if timing.ran and graded != size + 1:
            errors.append(f"grade: {graded} rows in grades.csv, expected {size + 1}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    rate = f"{(size + 1) / timing.best * 60:.1f}" if timing.ran else "-"
    lines = [
        "| class (all on port 8080) | profile | `-n` | wall time | submissions/min |",
        "|---|---|---|---|---|",
        f"| {size} correct + 1 buggy | `{profile}` | {workers} | {show_time(timing)} | {rate} |",
    ]
    return lines, errors


def count_grades(csv: Path) -> int:
    try:
        return max(0, len(csv.read_text().splitlines()) - 1)
    except OSError:
        return 0


# -- main --------------------------------------------------------------------------------------


def names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--runs", type=int, default=1, help="runs per job: best and median")
    parser.add_argument("--quick", action="store_true", help="a fast smoke run")
    parser.add_argument("--parts", type=names, default=list(PARTS), help=",".join(PARTS))
    parser.add_argument("--profiles", type=names, default=None, help="default: all three")
    parser.add_argument("--impls", type=names, default=None, help="default: every registered")
    parser.add_argument(
        "--workers", type=names, default=None, help="-n values for `parallel` (default: 0,2,4)"
    )
    parser.add_argument("--class-size", type=int, default=None, help="default 20; 0 skips")
    parser.add_argument("--grade-workers", type=int, default=4, help="-n for grade")
    parser.add_argument("--seconds", type=float, default=3.0, help="bound per exchange loop")
    parser.add_argument("--job-timeout", type=float, default=1800.0, help="per CLI run")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be >= 1")
    unknown = set(args.parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown part(s): {', '.join(sorted(unknown))}")
    if args.profiles is None:
        args.profiles = ["quick"] if args.quick else list(PROFILES)
    if set(args.profiles) - set(PROFILES):
        parser.error(f"--profiles: choose among {', '.join(PROFILES)}")
    if args.impls is None:
        args.impls = ["select"] if args.quick else list(registry())
    default_workers = ["0", "2"] if args.quick else ["0", "2", "4"]
    args.workers = [int(n) for n in (args.workers or default_workers)]
    if args.class_size is None:
        args.class_size = 3 if args.quick else 20
    if args.quick:
        args.seconds = min(args.seconds, 0.5)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    profile = "quick" if args.quick else "default"
    machine = machine_line(args.runs)
    errors: list[str] = []

    def table(title: str, part: tuple[list[str], list[str]]) -> None:
        lines, part_errors = part
        print(f"### {title}\n\n{machine}\n")
        print("\n".join(lines))
        print(flush=True)
        errors.extend(part_errors)

    if "verdicts" in args.parts:
        table(
            "Time to a verdict: `echo-conformance check NAME --profile P`",
            time_to_verdict(args.impls, args.profiles, args.runs, args.job_timeout),
        )
    if "parallel" in args.parts:
        # --quick: two fast requirements of one server, just to exercise the code path.
        target = ["select", "--only", "listen", "--only", "upper"] if args.quick else ["--all"]
        table(
            f"Parallel workers: `echo-conformance check {' '.join(target)} -n N`",
            parallel_speedup(target, args.workers, profile, args.runs, args.job_timeout),
        )
    if "exchange" in args.parts:
        table(
            "Exchange rate: the harness against a bare socket loop (impls/select, loopback)",
            exchange_rate(args.runs, args.quick, args.seconds),
        )
    if "grade" in args.parts and args.class_size > 0:
        table(
            f"Grading throughput: `echo-conformance grade -n {args.grade_workers}`",
            grading_throughput(
                args.class_size, args.grade_workers, profile, args.runs, args.job_timeout
            ),
        )
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
