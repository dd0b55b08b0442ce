"""The suite's own speed benchmarks: run.py runs them (`python3 benchmarks/run.py --help`).

One module per benchmark (verdicts, parallel, exchange, grading), each giving a Markdown table
and the errors of its jobs; jobs.py runs and times the CLI for the three that use it, loops.py
holds the exchange benchmark's measuring loops.
"""
