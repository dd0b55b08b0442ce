"""`echo-conformance compare`: the I/O models measured side by side on loopback workloads.

Rule: a comparison measures, it never judges conformance (a server that fails a workload is
reported as such, with its error); it reaches servers through the driver only.

command.py      the subcommand: which implementations, the budget, running each workload
workloads.py    latency, throughput and idle CPU on one running server
max_clients.py  clients connect one by one until one is not answered
crowd.py        the workloads' clients: many non-blocking sockets driven by one poll()
results.py      what a comparison found, as data (and the machine it ran on)
report.py       text tables and the HTML page
charts.py       SVG charts (matplotlib, an optional extra)
"""
