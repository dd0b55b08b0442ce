"""The max clients workload: clients connect one by one, each must be answered while the earlier
ones stay connected, up to the bound; the count, and what stopped it in words.

Most of this module is the "what stopped it": a server that serves one client at a time, one
out of descriptors (it says EMFILE, or holds as many as its limit allows), one that exited.
"""

from __future__ import annotations

import errno
import time

from conformance.compare.crowd import STEP, Client, Crowd, Pattern, plural
from conformance.compare.workloads import Budget, MaxClients, server_state
from conformance.driver.launcher import Server


def measure_max_clients(server: Server, budget: Budget, pattern: Pattern) -> MaxClients:
    """Connect clients one at a time; each must be answered while every earlier one stays
    connected; up to the bound.  Then all held clients make one more round trip at once."""
    result = MaxClients(budget.max_clients)
    crowd = Crowd(server, pattern, budget.accept_wait)
    start = time.monotonic()
    try:
        result.reason = _admit(crowd, budget, start + budget.max_clients_seconds)
        held = [c for c in crowd.clients if c.replies and not c.done]
        if not server.alive():  # those it served up to its exit were served at once
            result.served = crowd.served()
        else:
            result.served = _all_at_once(crowd, held, budget.reply_timeout)
            if result.served < len(held) and not crowd.wrong:
                result.reason += (
                    f"; then only {result.served} of the {len(held)} answered a last round at "
                    "once" + (f" ({server_state(server)})" if not server.alive() else "")
                )
        result.error = crowd.wrong
        result.seconds = time.monotonic() - start
    finally:
        crowd.close()
    return result


def _admit(crowd: Crowd, budget: Budget, deadline: float) -> str:
    """Add clients one by one until one is not served; return what stopped it, in words."""
    server = crowd.server
    while len(crowd.clients) < budget.max_clients:
        n = len(crowd.clients)
        if time.monotonic() > deadline:
            return f"the time budget ({budget.max_clients_seconds:g} s) ran out at {n} clients"
        waited = time.monotonic() + budget.reply_timeout
        try:
            client = crowd.add()
            while client is None and not crowd.gave_up and time.monotonic() < waited:
                time.sleep(0.001)
                client = crowd.add()
        except OSError as exc:
            if exc.errno in (errno.EMFILE, errno.ENFILE):
                return f"the runner ran out of descriptors at {n} clients"
            raise
        if client is None:
            return _stopped_accepting(server, n)
        client.request()
        crowd.watch(client)
        while not client.replies and not crowd.finished and not crowd.wrong:
            now = time.monotonic()
            if now > waited:
                break
            crowd.step(min(STEP, waited - now), _count_reply)
        if crowd.wrong:
            return f"a wrong reply after {n} clients"
        if client.replies:
            continue
        state = server_state(server, settle=0.2)
        if state:
            return f"{state} (with {plural(n, 'client')} connected)"
        dropped = [c for c in crowd.clients[:-1] if c.done]
        if dropped:
            return f"{dropped[0].name} was {dropped[0].ended} when {n + 1} clients were connected"
        if client.ended:
            return f"client {n + 1}: {client.ended} (with {plural(n, 'client')} served)"
        return _not_answered(server, n, budget.reply_timeout)
    return "bound reached"


def _count_reply(client: Client) -> None:
    client.reply_complete()


def _all_at_once(crowd: Crowd, held: list[Client], timeout: float) -> int:
    """Every held client sends one request at once; how many are answered within `timeout`."""
    for c in held:
        c.request()
        crowd.watch(c)
    deadline = time.monotonic() + timeout
    answered = 0

    def react(c: Client) -> None:
        nonlocal answered
        if c.reply_complete():
            answered += 1

    while answered < len(held) and not crowd.wrong and time.monotonic() < deadline:
        if all(c.done for c in held):
            break
        crowd.step(min(STEP, deadline - time.monotonic()), react)
    return answered


def _stopped_accepting(server: Server, n: int) -> str:
    hint = ": it serves one client at a time" if n == 1 else _descriptor_hint(server)
    return f"the server stopped accepting after {plural(n, 'client')}{hint}"


def _not_answered(server: Server, n: int, timeout: float) -> str:
    queued = server.kernel.accept_queue()
    if queued:  # our connection waits in its accept queue
        return _stopped_accepting(server, n)
    hint = " (it serves one client at a time)" if n == 1 else _descriptor_hint(server)
    return f"client {n + 1} was accepted but not answered within {timeout:g} s{hint}"


def _descriptor_hint(server: Server) -> str:
    """ " (out of descriptors: ...)" when the server says so or its process is at its limit."""
    said = server.stderr_tail(4).lower()
    if "too many open files" in said or "emfile" in said:
        return " (out of descriptors: EMFILE)"
    fullest = server.kernel.descriptors()
    if fullest is not None and fullest[0] >= fullest[1] - 2:
        return f" (out of descriptors: it holds {fullest[0]}, its limit is {fullest[1]})"
    return ""
