"""The launcher: readiness, failures to start, limits, environment, and teardown with nothing
left behind."""

from __future__ import annotations

import dataclasses
import os
import sys
import time
import uuid
from pathlib import Path

import pytest

from conformance.launcher import Server, Target, pick_port, port_is_free
from conformance.outcome import NonConformance, UsageError

LISTEN = """
import os, socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[2], int(sys.argv[1]))); s.listen()
{extra}
while True:
    time.sleep(1)
"""


def target(tmp_path: Path, source: str, *args: str) -> Target:
    path = tmp_path / "server.py"
    path.write_text(source)
    return Target("t", (sys.executable, str(path), "{port}", "{host}", *args), cwd=tmp_path)


def short(spec, **timeouts):
    return dataclasses.replace(spec, timeouts=dataclasses.replace(spec.timeouts, **timeouts))


def processes_with(token: str) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                cmdline = Path(entry.path, "cmdline").read_bytes()
                status = Path(entry.path, "status").read_text()
                if token.encode() in cmdline and "State:\tZ" not in status:
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def test_ready_when_it_accepts(tmp_path, spec):
    with Server(target(tmp_path, LISTEN.format(extra="")), spec) as server:
        server.start()
        assert server.alive()
        assert not port_is_free("127.0.0.1", server.port)


def test_exit_before_listening_fails_fast_with_status_and_stderr(tmp_path, spec):
    source = "import sys; print('boom: no port for me', file=sys.stderr); sys.exit(3)"
    start = time.monotonic()
    with (
        Server(target(tmp_path, source), short(spec, startup=60)) as server,
        pytest.raises(NonConformance) as info,
    ):
        server.start()
    assert time.monotonic() - start < 30  # it did not wait for the startup timeout
    assert "exited with status 3 before accepting" in info.value.summary
    assert "boom: no port for me" in info.value.evidence


def test_never_listening_times_out(tmp_path, spec):
    source = "import time; time.sleep(60)"
    with (
        Server(target(tmp_path, source), short(spec, startup=0.5)) as server,
        pytest.raises(NonConformance, match=r"did not accept a connection .* within 0\.5 s"),
    ):
        server.start()


def test_missing_command_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="command not found: no-such-server-xyz"):
        Target("t", ("no-such-server-xyz", "{port}")).resolve()
    (tmp_path / "server.txt").touch()
    with pytest.raises(UsageError, match="not an executable file"):
        Target("t", ("./server.txt",), cwd=tmp_path).resolve()


def test_environment_is_scrubbed_and_limits_set(tmp_path, spec, monkeypatch):
    monkeypatch.setenv("SECRET_TOKEN", "leak")
    extra = (
        "import resource\n"
        "print(sorted(os.environ), resource.getrlimit(resource.RLIMIT_NOFILE), flush=True)\n"
        "print(sys.stdin.read() == '', flush=True)\n"
    )
    with Server(target(tmp_path, LISTEN.format(extra=extra)), spec) as server:
        server.start()  # ready as soon as it listens: the prints come just after
        deadline = time.monotonic() + 10
        while len(out := server.out_path.read_text().splitlines()) < 2:
            assert time.monotonic() < deadline, out
            time.sleep(0.01)
    assert "SECRET_TOKEN" not in out[0]
    assert "'PORT'" in out[0] and "'HOST'" in out[0]
    assert f"({spec.nofile}, {spec.nofile})" in out[0]
    assert out[1] == "True"  # stdin is /dev/null


def test_teardown_leaves_nothing_even_when_sigterm_is_ignored(tmp_path, spec):
    token = uuid.uuid4().hex
    extra = (
        "import signal, subprocess\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        f"subprocess.Popen([sys.executable, '-c', 'import signal, time; "
        f"signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)', '{token}'])\n"
    )
    server = Server(target(tmp_path, LISTEN.format(extra=extra), token), short(spec, grace=0.3))
    server.start()
    deadline = time.monotonic() + 10
    while len(processes_with(token)) < 2:  # the server and its child
        assert time.monotonic() < deadline
        time.sleep(0.05)
    server.close()
    assert processes_with(token) == []
    assert "SIGKILL" in server.exit_status()


def test_pick_port_avoids_the_ephemeral_range():
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    ports = {pick_port("127.0.0.1") for _ in range(5)}
    assert len(ports) == 5 and all(10000 <= p < low for p in ports)


def test_restart_after_exit(tmp_path, spec):
    # Exits after its first accepted connection (the readiness probe).
    source = (
        "import socket, sys\ns = socket.socket(); s.setsockopt(socket.SOL_SOCKET, "
        "socket.SO_REUSEADDR, 1)\ns.bind((sys.argv[2], int(sys.argv[1]))); s.listen()\n"
        "s.accept()\n"
    )
    with Server(target(tmp_path, source), spec) as server:
        server.start()
        server.proc.wait(5)
        assert server.ensure_running() is True
        assert server.starts == 2 and "restarted" in server.diagnostics()
