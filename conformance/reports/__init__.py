"""The verdicts as data and for people: one Entry per (implementation, requirement), a Report per
implementation, rendered as text, JSON, JUnit XML and HTML.

Rule 1: a report says what the runner found; it never runs a check nor starts a server (it may
ask the driver which isolation mode ran, for the record: about.py).
Rule 2: one place per fact: a report's score, maximum score, required rule and replay command
live in report.py; the renderers only render them.

report.py       Entry and Report: outcomes, score, settle (not judged -> fail), text and JSON
evidence.py     transcripts, byte windows and deviations, as text and as data
about.py        what ran a verdict: versions, the spec, the isolation mode
junit.py        JUnit XML, for CI systems
html.py         self-contained HTML pages
html_report.py  the HTML report: the page and its matrix; its style and script are package
                data beside it (html_report.css, html_report.js)
html_evidence.py  the HTML report's evidence panel of one cell
html_cells.py   the HTML report's cell: its kind (label, meaning) and its fragment
html_bytes.py   a server's text and bytes as HTML: escaped, the first difference marked
"""
