"""Hostile (grading): before it serves, it tries to see what is not its own, and prints what it
got to stderr, which its report's tail shows: a file only the grader may read, another
submission's server, the grades folder, /home, /etc/shadow; it tries to write outside its scratch
folder and to gain privileges through a setuid binary (mount).  Then it serves, but forgets 'z',
so that its report is a failing one, with the tail.

The places to try are in targets.txt beside it, one per line: `read PATH`, `list PATH`,
`write PATH` or `mount PATH`.  Usage: hostile_snoop.py PORT [HOST]
"""
import os
import socket
import subprocess
import sys
import threading

TABLE = bytes(b - 0x20 if 0x61 <= b <= 0x79 else b for b in range(256))  # 0x7A missing


def attempt(action, path):
    try:
        if action == "read":
            with open(path, errors="replace") as f:
                return "got: " + f.read(2000)
        if action == "list":
            return "got: " + " ".join(sorted(os.listdir(path)))
        if action == "write":
            with open(path, "w") as f:
                f.write("written by a submission\n")
            return "wrote it"
        if action == "mount":  # a setuid-root binary: does it lend root's powers?
            os.makedirs(path, exist_ok=True)
            done = subprocess.run(
                ["mount", "-t", "tmpfs", "none", path], capture_output=True, text=True
            )
            gained = os.path.ismount(path)
            return ("ESCALATED: mounted " if gained else "refused: ") + done.stderr.strip()
    except OSError as exc:
        return f"refused: {exc.strerror}"
    return "unknown action"


def snoop():
    here = os.path.dirname(os.path.abspath(__file__))
    targets = os.path.join(here, "targets.txt")
    if not os.path.exists(targets):
        return
    with open(targets) as f:
        for line in f.read().splitlines():
            action, _, path = line.partition(" ")
            print(f"snoop {action} {path}: {attempt(action, path)}", file=sys.stderr, flush=True)


def handle(conn):
    with conn:
        try:
            while data := conn.recv(65536):
                conn.sendall(data.translate(TABLE))
        except OSError:
            pass


def main():
    snoop()
    port, host = int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    listener = socket.create_server((host, port), backlog=512)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
