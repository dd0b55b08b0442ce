"""The launcher: readiness, failures to start, limits, environment, and teardown with nothing
left behind."""

from __future__ import annotations

import dataclasses
import fcntl
import os
import pwd
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest

from conformance.bundled import IMPLS_DIR
from conformance.driver import locks
from conformance.driver.launcher import Server
from conformance.driver.locks import SANDBOX_UIDS, PortLock
from conformance.driver.net import Conn, Transcript, narrow_window
from conformance.driver.sandbox import ENV
from conformance.driver.sandbox import isolation as isolation_available
from conformance.driver.target import Target, pick_port, port_is_free
from conformance.driver.view import view_paths
from conformance.outcome import NonConformance, UsageError
from tests.helpers import processes_with

LISTEN = """
import os, socket, sys, time
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[2] else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
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


def test_ready_when_it_accepts(tmp_path, spec, isolation):
    with Server(target(tmp_path, LISTEN.format(extra="")), spec) as server:
        server.start()
        assert server.alive()
        with server.new_socket(socket.AF_INET) as client:
            client.connect(server.address)
        # Isolated, it listens in a network of its own: not on the machine's loopback.
        assert port_is_free("127.0.0.1", server.port) == (isolation == "isolated")


def test_a_server_started_while_the_runner_holds_many_descriptors_is_served(
    tmp_path, spec, isolation
):
    """The descriptors passed to the supervisor keep the runner's numbers, past 1024 when the
    runner holds a crowd's sockets (a run in threads): its waits must not use select()."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip(f"the hard descriptor limit ({hard}) is below 1200")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    held = []
    try:
        while not held or held[-1] < 1100:
            held.append(os.open(os.devnull, os.O_RDONLY))
        with Server(target(tmp_path, LISTEN.format(extra="")), spec) as server:
            server.start()
            with server.new_socket(socket.AF_INET) as client:
                assert client.fileno() > 1024
                client.connect(server.address)
            assert server.alive()
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_exit_before_listening_fails_fast_with_status_and_stderr(tmp_path, spec):
    source = "import sys; print('boom: no port for me', file=sys.stderr); sys.exit(3)"
    start = time.monotonic()
    with (
        Server(target(tmp_path, source), short(spec, startup=60)) as server,
        pytest.raises(NonConformance) as info,
    ):
        server.start()
    assert time.monotonic() - start < 30  # it did not wait for the startup timeout
    assert "exited with status 3 before listening" in info.value.summary
    assert "boom: no port for me" in info.value.evidence


def test_never_listening_times_out(tmp_path, spec):
    source = "import time; time.sleep(60)"
    with (
        Server(target(tmp_path, source), short(spec, startup=0.5)) as server,
        pytest.raises(NonConformance, match=r"did not listen on .* within 0\.5 s"),
    ):
        server.start()


def test_missing_command_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="command not found: no-such-server-xyz"):
        Target("t", ("no-such-server-xyz", "{port}")).resolve()
    (tmp_path / "server.txt").touch()
    with pytest.raises(UsageError, match="not an executable file"):
        Target("t", ("./server.txt",), cwd=tmp_path).resolve()


def test_environment_is_scrubbed_and_limits_set(tmp_path, spec, monkeypatch, isolation):
    monkeypatch.setenv("SECRET_TOKEN", "leak")
    extra = (
        "import resource\n"
        "print(sorted(os.environ), resource.getrlimit(resource.RLIMIT_NOFILE), "
        "resource.getrlimit(resource.RLIMIT_AS), flush=True)\n"
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
    assert f"({spec.limits.nofile}, {spec.limits.nofile})" in out[0]
    memory = spec.limits.address_space_mib << 20
    assert f"({memory}, {memory})" in out[0]
    assert out[1] == "True"  # stdin is /dev/null


def test_teardown_leaves_nothing_even_when_sigterm_is_ignored(tmp_path, spec, isolation):
    token = uuid.uuid4().hex
    extra = (
        "import signal, subprocess\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        f"subprocess.Popen([sys.executable, '-c', 'import signal, time; "
        f"signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)', '{token}-child'])\n"
    )
    server = Server(target(tmp_path, LISTEN.format(extra=extra), token), short(spec, grace=0.3))
    server.start()
    deadline = time.monotonic() + 10
    while not processes_with(f"{token}-child"):  # the server ignores SIGTERM by now
        assert time.monotonic() < deadline
        time.sleep(0.05)
    server.close()
    assert processes_with(token) == []
    assert "SIGKILL" in server.exit_status()


DAEMON = """
import os, signal, time
if os.fork() == 0:
    os.setsid()  # a new session: out of the server's process group
    if os.fork() == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        os.execvp(sys.executable, [sys.executable, "-c", "import time; time.sleep(60)", TOKEN])
    os._exit(0)
"""


def test_isolated_teardown_ends_daemons_too(tmp_path, spec, isolation):
    if isolation != "isolated":
        pytest.skip("without a PID namespace, a daemon that left the group can outlive it")
    token = uuid.uuid4().hex
    extra = DAEMON.replace("TOKEN", repr(token))
    server = Server(target(tmp_path, LISTEN.format(extra=extra)), short(spec, grace=0.3))
    server.start()
    deadline = time.monotonic() + 10
    while not processes_with(token):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    server.close()
    assert processes_with(token) == []


def test_isolated_server_cannot_write_outside_its_scratch_folder(tmp_path, spec, isolation):
    if isolation != "isolated":
        pytest.skip("without a mount namespace, the server writes where its user may")
    extra = (
        "for path in (os.path.join(os.getcwd(), 'x'), os.path.join(os.environ['TMPDIR'], 'x')):\n"
        "    try:\n"
        "        open(path, 'w').close(); print('wrote', path, flush=True)\n"
        "    except OSError as exc:\n"
        "        print('refused', path, exc.strerror, flush=True)\n"
    )
    with Server(target(tmp_path, LISTEN.format(extra=extra)), spec) as server:
        server.start()
        deadline = time.monotonic() + 10
        while len(out := server.out_path.read_text().splitlines()) < 2:
            assert time.monotonic() < deadline, out
            time.sleep(0.01)
    assert out[0].startswith("refused") and "Read-only file system" in out[0]
    assert out[1].startswith("wrote")


def said_by(server: Server, lines: int) -> list[str]:
    """The first lines the server printed, waited for."""
    deadline = time.monotonic() + 10
    while len(out := server.out_path.read_text().splitlines()) < lines:
        assert time.monotonic() < deadline, out
        time.sleep(0.01)
    return out


@pytest.mark.parametrize("shell", ["/bin/sh", "sh"])
def test_a_program_under_a_linked_system_folder_shows_its_prefix_not_the_root(shell, tmp_path):
    """/bin/sh, where /bin is a link to usr/bin, comes with /usr: never with all of /."""
    if not os.path.islink("/bin"):
        pytest.skip("/bin is a folder of its own here")
    binds = view_paths([shell, "-c", "true"], tmp_path, "/bin:/usr/bin")
    assert "/" not in binds and "/usr" in binds


def test_a_server_starts_as_a_shell_would_start_it(tmp_path, spec, isolation):
    """Every signal's default action and none blocked, in both modes: the runner is Python, which
    ignores SIGPIPE and SIGXFSZ, and an ignored signal stays ignored across exec (a server that
    dies of SIGPIPE in a shell would pass survive-reset here).  A shell's child reports it."""
    (tmp_path / "server.py").write_text(LISTEN.format(extra=""))
    report = 'grep -E "^Sig(Blk|Ign)" /proc/self/status; exec "$0" "$@"'
    argv = ("/bin/sh", "-c", report, sys.executable, "server.py", "{port}", "{host}")
    with Server(Target("t", argv, cwd=tmp_path), spec) as server:
        server.start()
        assert said_by(server, 2) == ["SigBlk:\t0000000000000000", "SigIgn:\t0000000000000000"]


def test_isolated_server_runs_as_a_uid_that_owns_nothing_but_its_own_folder(
    tmp_path, spec, isolation
):
    if isolation != "isolated" or isolation_available()[0] != "root":
        pytest.skip("without root, the server runs as its user (in user namespaces too)")
    (tmp_path / "mine.txt").write_text("its own\n")
    (tmp_path / "mine.txt").chmod(0o600)
    assert tmp_path.stat().st_mode & 0o077 == 0  # a folder only root may enter (pytest's)
    extra = (
        "print(os.getuid(), os.getgid(), os.getgroups(), flush=True)\n"
        "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('CapEff')][0])\n"
        "print(open('mine.txt').read().strip(), flush=True)\n"
        "try:\n    open('/etc/shadow').read(); print('read shadow', flush=True)\n"
        "except OSError as exc:\n    print(exc.strerror, flush=True)\n"
    )
    with Server(target(tmp_path, LISTEN.format(extra=extra)), spec) as server:
        server.start()
        uid, caps, own, shadow = said_by(server, 4)
    assert server.uid in SANDBOX_UIDS
    assert uid == f"{server.uid} {server.uid} []"
    assert caps == "0000000000000000"
    assert own == "its own"  # its folder's files are its own, whatever their mode
    assert shadow == "Permission denied"


def test_claiming_a_sandbox_uid_leaves_the_random_module_alone():
    """A server starts in one thread while Hypothesis draws a case in another: the random
    module's state must not change under that draw (Hypothesis would warn, in the user's output,
    "Do not use the `random` module inside strategies")."""
    state = random.getstate()
    uid, lock = locks.claim_uid()
    lock.release()
    assert uid in SANDBOX_UIDS and random.getstate() == state


def test_a_server_whose_interpreter_others_cannot_read_is_checked(tmp_path, spec, isolation):
    """A teacher's venv in a folder only its owner may enter: the view shows it to the server."""
    if isolation != "isolated":
        pytest.skip("without namespaces, the server runs as its user: it reads what they may")
    hidden = tmp_path / "private"
    hidden.mkdir(mode=0o700)
    subprocess.run(
        [sys.executable, "-m", "venv", "--copies", "--without-pip", str(hidden / "venv")],
        check=True,
    )
    python = hidden / "venv" / "bin" / "python"
    (tmp_path / "server.py").write_text(LISTEN.format(extra="print('up', flush=True)"))
    argv = (str(python), str(tmp_path / "server.py"), "{port}", "{host}")
    with Server(Target("t", argv, cwd=tmp_path), spec) as server:
        server.start()
        assert said_by(server, 1) == ["up"]
        assert server.alive() and (server.uid is not None) == (server.isolated == "root")


def test_in_user_namespaces_a_server_whose_interpreter_others_cannot_read_is_checked(
    unprivileged,
):
    """A venv in a folder only its owner, an unprivileged teacher, may enter: the view of a
    server in user namespaces shows it too."""
    hidden = unprivileged.folder("private")
    venv = hidden / "venv"
    made = unprivileged.run_program([unprivileged.python, "-m", "venv", "--without-pip", str(venv)])
    assert made.returncode == 0, made.stderr
    here = unprivileged.folder("student")
    shutil.copy(IMPLS_DIR / "select" / "server.py", here / "server.py")
    unprivileged.own(here)
    ran = unprivileged.run(
        "check",
        "--only",
        "listen",
        "--",
        f"{venv}/bin/python",
        "server.py",
        "{port}",
        "{host}",
        cwd=here,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "without isolation" not in ran.stderr


def test_output_flood_is_capped_and_the_server_keeps_running(tmp_path, spec, isolation):
    extra = (
        "for _ in range(20000):\n    print('x' * 1000)\n"
        "print('flood over', file=sys.stderr, flush=True)\n"
    )
    capped = dataclasses.replace(spec, limits=dataclasses.replace(spec.limits, output_kib=64))
    with Server(target(tmp_path, LISTEN.format(extra=extra)), capped) as server:
        server.start()
        deadline = time.monotonic() + 20
        while "flood over" not in server.stderr_tail():
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert server.alive()
        server.stop()
        out = server.out_path.read_bytes()
    assert len(out) < 65 * 1024
    assert out.rstrip().endswith(b"more bytes dropped]"), (out[-200:], server.exit_status())


def test_listening_elsewhere_is_named_with_the_way_to_check_it(tmp_path, spec, isolation):
    source = LISTEN.format(extra="").replace("int(sys.argv[1])", "int(sys.argv[3])")
    other = str(pick_port("127.0.0.1"))
    with (
        Server(target(tmp_path, source, other), short(spec, startup=0.5)) as server,
        pytest.raises(NonConformance) as info,
    ):
        server.start()
    assert f"it listens on port {other} instead" in info.value.summary
    assert f"--fixed-port {other}" in info.value.summary


def test_pick_port_avoids_the_ephemeral_range():
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    ports = {pick_port("127.0.0.1") for _ in range(5)}
    assert len(ports) == 5 and all(10000 <= p < low for p in ports)


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_accept_queue_is_read_from_sock_diag_and_from_proc_alike(tmp_path, spec, isolation, host):
    """A server that never accepts: the connections wait in its accept queue."""
    with Server(
        dataclasses.replace(target(tmp_path, LISTEN.format(extra="")), host=host), spec
    ) as server:
        server.start()  # no connection of ours: readiness is its port in LISTEN state
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        clients = [server.new_socket(family) for _ in range(3)]
        for client in clients:
            client.connect(server.address)
        assert server.kernel.listeners is not None and server.kernel.listeners.diag is not None
        from_diag = server.kernel.accept_queue()
        assert server.port in server.kernel.listening_ports()
        server.kernel.listeners.close()  # as in a kernel without TCP sock_diag
        assert server.kernel.accept_queue() == from_diag == 3
        assert server.kernel.listening_ports() == [server.port]
        for client in clients:
            client.close()


SENDS_UNTIL_FULL = """
c, _ = s.accept(); c.setblocking(False)
try:
    while True:
        c.send(b"x" * 65536)
except BlockingIOError:
    pass
"""


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_backpressure_is_read_from_both_ends_of_a_connection(tmp_path, spec, isolation, host):
    """A server that sends until its send() would block, to a client with a narrow window that
    reads nothing: the server's send queue holds bytes while the client's window is zero, over
    sock_diag (and the queue from /proc alike); the client's receive buffer stays small."""
    source = LISTEN.format(extra=SENDS_UNTIL_FULL)
    with Server(dataclasses.replace(target(tmp_path, source), host=host), spec) as server:
        server.start()
        client = server.new_socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        narrow_window(client)
        client.connect(server.address)
        conn = Conn(client, "c1", Transcript())
        deadline = time.monotonic() + 5
        while not (queues := server.kernel.connection_queues(conn.port)) or queues.window != 0:
            assert time.monotonic() < deadline, queues
            time.sleep(0.01)
        assert queues.notsent
        # Under the 4 MiB that default buffers reach (without a sandbox, on a busy host, the
        # server's send buffer was seen to grow to 1.3 MB: less, not kilobytes always).
        assert 0 < queues.unsent < 3 << 20
        mine = conn.receive_queue()
        assert mine.rcvbuf <= 65536 and mine.unread > 0 and mine.window in (0, None)
        assert server.kernel.listeners is not None
        server.kernel.listeners.close()  # as in a kernel without TCP sock_diag
        from_proc = server.kernel.connection_queues(conn.port)
        assert from_proc is not None and from_proc.unsent == queues.unsent
        assert server.kernel.connection_queues(1) is None  # no such connection
        client.close()


# -- the port lock: one fixed-port server at a time without namespaces, across users ----------

NOBODY = ("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups")
PACKAGE_ROOT = str(Path(locks.__file__).resolve().parents[2])
HOLDER = """
import sys
sys.path.insert(0, sys.argv[1])
from conformance.driver.locks import PortLock
lock = PortLock(int(sys.argv[2]))
print("held" if lock.acquire(timeout=float(sys.argv[3])) else "not held", flush=True)
sys.stdin.read()  # until the test closes stdin, or kills it
"""


def nobody_python() -> list[str]:
    """A command that runs Python as user nobody with conformance.driver.locks importable, or skip:
    it takes root to become another user, and an interpreter nobody may run."""
    if os.geteuid() != 0:
        pytest.skip("only root can run a process as another user (nobody)")
    if shutil.which("setpriv") is None:
        pytest.skip("no setpriv (util-linux) to run a process as nobody")
    tried = []
    for python in dict.fromkeys([sys.executable, "/usr/bin/python3", shutil.which("python3")]):
        if python is None:
            continue
        probe = [
            *NOBODY,
            python,
            "-c",
            "import sys; sys.path.insert(0, sys.argv[1]); import conformance.driver.locks",
            PACKAGE_ROOT,
        ]
        done = subprocess.run(probe, capture_output=True, text=True, timeout=30)
        if done.returncode == 0:
            return [*NOBODY, python]
        tried.append(f"{python}: {done.stderr.strip().splitlines()[-1:]}")
    pytest.skip(f"no Python that nobody can run with {PACKAGE_ROOT} importable ({tried})")


def hold_as(command: list[str], port: int, timeout: float = 10.0) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [*command, "-c", HOLDER, PACKAGE_ROOT, str(port), str(timeout)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    return holder


def acquire_in_thread(lock: PortLock) -> threading.Thread:
    waiter = threading.Thread(target=lock.acquire, daemon=True)
    waiter.start()
    return waiter


def test_two_holders_of_a_port_lock_take_turns():
    port = pick_port("127.0.0.1")
    first, second = PortLock(port), PortLock(port)
    assert first.try_acquire()
    assert not second.try_acquire()
    waiter = acquire_in_thread(second)
    time.sleep(0.3)
    assert waiter.is_alive() and not second.held  # it waits while the first holds it
    first.release()
    waiter.join(5)
    assert second.held
    assert not first.try_acquire()
    second.release()
    assert first.try_acquire()  # and nothing is left held after a release
    other = PortLock(port + 1)
    assert other.try_acquire()  # another port is another lock
    other.release()
    first.release()


def test_a_fixed_port_server_without_isolation_waits_for_the_port_lock(tmp_path, spec, monkeypatch):
    """While another holder (another run, another worker) has the port's lock, the server is
    not started, though the port is free: no two fixed-port servers race for it."""
    monkeypatch.setenv(ENV, "off")
    port = pick_port("127.0.0.1")
    fixed = dataclasses.replace(target(tmp_path, LISTEN.format(extra="")), fixed_port=port)
    other, seen = PortLock(port), []
    assert other.try_acquire()
    with Server(fixed, spec) as server:

        def release_later() -> None:
            time.sleep(0.5)
            seen.append(server.proc)  # None: still waiting for the lock
            other.release()

        # Started in this thread: a supervisor ends with the thread that started it.
        releaser = threading.Thread(target=release_later)
        releaser.start()
        server.start()
        releaser.join()
        assert seen == [None]
        assert server.alive() and server.port == port
        assert not PortLock(port).try_acquire()  # the server's run holds it now
    again = PortLock(port)
    assert again.try_acquire()  # and gives it back when it closes
    again.release()


def test_a_lock_held_by_another_user_blocks_until_its_holder_dies():
    port = pick_port("127.0.0.1")
    holder = hold_as(nobody_python(), port)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert os.stat(f"/proc/{holder.pid}").st_uid == pwd.getpwnam("nobody").pw_uid
        ours = PortLock(port)
        waiter = acquire_in_thread(ours)
        time.sleep(0.3)
        assert waiter.is_alive() and not ours.held
        holder.kill()  # no release: the kernel frees the lock of a process that dies
        waiter.join(5)
        assert ours.held
        ours.release()
    finally:
        holder.kill()
        holder.communicate()  # and closes its pipes


def test_a_stale_lock_file_of_the_old_scheme_changes_nothing():
    """Root's run left /tmp/echo-conformance-port-N.lock (mode 0600, even still locked): neither
    root nor another user minds it, and nobody touches it."""
    while True:  # a port whose old-scheme file is ours alone to make and remove
        port = pick_port("127.0.0.1")
        stale = Path(tempfile.gettempdir()) / f"echo-conformance-port-{port}.lock"
        try:
            fd = os.open(stale, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
            break
        except FileExistsError:
            continue
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        before = os.stat(stale)
        with PortLock(port) as ours:
            assert ours.held
        if os.geteuid() == 0:
            holder = hold_as(nobody_python(), port, timeout=5)
            out, _ = holder.communicate("", timeout=30)
            assert (out.strip(), holder.returncode) == ("held", 0)
        after = os.stat(stale)
        assert (after.st_mtime_ns, after.st_size, after.st_mode, after.st_uid) == (
            before.st_mtime_ns,
            before.st_size,
            before.st_mode,
            before.st_uid,
        )
    finally:
        os.close(fd)
        stale.unlink()
