"""The checks: one per requirement's `check`, each named for what it checks.

A check drives a running server through Sessions and raises NonConformance when the model sees a
deviation.  Stateless checks run Hypothesis examples on fresh connections of one server; a
server that has ended since the check started fails the check, and is never restarted to turn
its crash into a pass.

Each check is registered in catalog.CATALOG, with the condition it must bring about: a short
send(), an EOF while replies are owed, EMFILE...  It shows that the condition occurred
(Context.show, from what the kernel or the server's replies say); a check that passes without
showing it ends in an error instead (runner.check_requirement), never a pass.

Rule 1: a check decides nothing about bytes itself; the model (model.py, through Session) says
what may arrive, and the driver (net.py, launcher.py) moves bytes and runs processes.
Rule 2: nothing outside this package and the runner imports it: choosing checks, loading a spec
and reporting never load Hypothesis (catalog.py names each check's function as a string).

context.py    the Context every check gets, payloads, a round trip
exchange.py   listen, transform, stream, prompt: what comes back for what is sent
lifetime.py   persist, close-on-eof, survive-reset: a connection's life
clients.py    many-connections, concurrent, idle-cpu, capacity: many clients
descriptors.py  survive-fd-limit: a crowd beyond the server's descriptors
machine.py    the stateful model of many clients (concurrent)
"""

from conformance.checks.context import Context, payloads, round_trip

__all__ = ["Context", "payloads", "round_trip"]
