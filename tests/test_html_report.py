"""The HTML report: its matrix and evidence as markup, and the page in headless Chromium.

The browser tests need Debian's `chromium` (apt-get install chromium); without it they are
skipped, saying so.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from html.parser import HTMLParser
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

from conformance.impls import adhoc
from conformance.reports.html_report import anchor, render_html
from conformance.reports.report import Entry, Report
from conformance.spec import Spec
from tests.helpers import SERVERS
from tests.test_cli import run

HOSTILE = "Traceback\n<script>alert('pwned')</script><img src=x onerror=alert(1)>\x1b[31m\x00"

# A wrong byte at offset 3 ('d' where 'D' was owed), and a NUL after it.
WRONG_BYTE: dict[str, Any] = {
    "deviation": {
        "client": "c1",
        "kind": "wrong byte",
        "message": "reply byte at offset 3 is 0x64 'd', expected 0x44 'D'",
        "offset": 3,
    },
    "clients": [
        {
            "name": "c1",
            "state": "open",
            "sent_bytes": 5,
            "received_bytes": 5,
            "first_difference": 3,
            "window_offset": 0,
            "sent": b"abcd\x00".hex(),
            "expected": b"ABCD\x00".hex(),
            "received": b"ABCd\x00".hex(),
        }
    ],
    "transcript": [
        {"t": 0.001, "client": "c1", "event": "connect"},
        {"t": 0.002, "client": "c1", "event": "send", "bytes": 5, "count": 2, "data": "6162636400"},
        {"t": 0.003, "client": "c1", "event": "recv", "bytes": 5, "count": 1, "data": "4142436400"},
    ],
    "server": {"command": "python3 s.py 4000", "process": "is running", "stderr": HOSTILE},
}


# -- reading the markup ---------------------------------------------------------------------

VOID = {"br", "hr", "img", "input", "meta", "link", "wbr"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    inside: list[Element]  # its ancestors, outermost first
    parts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(self.parts)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def within(self, other: Element) -> bool:
        return any(a is other for a in self.inside)


class Page(HTMLParser):
    """Every element of a page with its attributes, text and ancestors (enough for tests)."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.stack: list[Element] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        el = Element(tag, {k: v or "" for k, v in attrs}, list(self.stack))
        self.elements.append(el)
        if tag not in VOID:
            self.stack.append(el)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        for el in self.stack:
            el.parts.append(data)

    def all(self, tag: str, cls: str = "") -> list[Element]:
        return [e for e in self.elements if e.tag == tag and (not cls or cls in e.classes)]

    def by_id(self, ident: str) -> Element:
        found = [e for e in self.elements if e.attrs.get("id") == ident]
        assert len(found) == 1, f"{len(found)} elements with id {ident!r}"
        return found[0]


# -- reports to render ----------------------------------------------------------------------


def entry(spec: Spec, rid: str, outcome: str, **kw: Any) -> Entry:
    req = spec.requirement(rid)
    return Entry(rid, req.level, req.points, req.level == "MUST", outcome, **kw)


def report(spec: Spec, name: str, entries: list[Entry]) -> Report:
    impl = adhoc(["python3", "server.py", "{port}"], name=name)
    replay = "echo-conformance check --only {id} -- python3 server.py {port}"
    return Report(spec, impl, "python3 server.py {port}", entries, 2.5, replay)


@pytest.fixture
def reports(spec: Spec) -> list[Report]:
    alice = report(
        spec,
        "alice",
        [
            entry(spec, "listen", "pass", duration_s=0.25),
            entry(
                spec,
                "upper",
                "fail",
                summary="c1: wrong byte: reply byte at offset 3 is 0x64 'd', expected 0x44 'D'",
                evidence="the plain evidence of upper",
                details=WRONG_BYTE,
            ),
            entry(spec, "stream", "error", summary="the check did not run"),
            entry(spec, "prompt", "skip"),
        ],
    )
    bob = report(
        spec,
        "bob",
        [
            entry(spec, "listen", "pass"),
            entry(spec, "upper", "fail", expected="fail", expected_reason="lowercases"),
            entry(spec, "stream", "pass", expected="fail", expected_reason="loses bytes"),
            entry(spec, "prompt", "fail", summary="missing reply", evidence="<only> plain text"),
        ],
    )
    return [alice, bob]


def render(reports: list[Report]) -> str:
    return render_html(reports, title="t", command="echo-conformance check --all", date="today")


# -- the markup -----------------------------------------------------------------------------


def test_matrix_has_a_row_per_report_and_a_labelled_cell_per_entry(reports):
    page = Page(render(reports))
    rows = [tr for tr in page.all("tr") if "data-name" in tr.attrs]
    assert [tr.attrs["data-name"] for tr in rows] == ["alice", "bob"]
    cells = {
        (tr.attrs["data-name"], td.attrs["id"].split("/")[-1]): td
        for tr in rows
        for td in page.all("td", "cell")
        if td.within(tr)
    }
    assert len(cells) == 8
    expected = {
        ("alice", "listen"): ("k-pass", "pass", False),
        ("alice", "upper"): ("k-fail", "FAIL", True),
        ("alice", "stream"): ("k-error", "ERROR", True),
        ("alice", "prompt"): ("k-skip", "skip", True),
        ("bob", "listen"): ("k-pass", "pass", False),
        ("bob", "upper"): ("k-xfail", "xfail", False),  # declared, so no failure
        ("bob", "stream"): ("k-xpass", "PASS!", True),  # the declaration is wrong: loud
        ("bob", "prompt"): ("k-fail", "FAIL", True),
    }
    for key, (cls, label, bad) in expected.items():
        td = cells[key]
        assert cls in td.classes, key
        assert td.text == label, key  # a text label, not colour alone
        assert ("bad" in td.classes) == bad, key
        link = [a for a in page.all("a") if a.within(td)]
        assert link[0].attrs["href"] == f"#{key[0]}/{key[1]}"


def test_every_cell_has_its_evidence_panel_hidden_until_opened(reports):
    page = Page(render(reports))
    panels = page.all("article", "ev")
    assert len(panels) == 8
    assert not any("open" in p.classes or "data-open" in p.attrs for p in panels)
    upper = page.by_id("alice/upper")
    assert "Each byte is answered by its bytes.upper() image" in upper.text  # normative text
    assert "echo-conformance check --only upper -- python3 server.py {port}" in upper.text
    assert "the reply differs from bytes.upper()" in upper.text  # the hint
    declared = page.by_id("bob/upper")
    assert "declared to fail: lowercases" in declared.text
    wrong = page.by_id("bob/stream")
    assert "xpass" in wrong.attrs["class"] and "the declaration is wrong" in wrong.text


def test_first_difference_is_highlighted_as_text_and_hex(reports):
    page = Page(render(reports))
    panel = page.by_id("alice/upper")
    tables = [t for t in page.all("table", "bytes") if t.within(panel)]
    assert len(tables) == 1
    rows = {
        th.text: [td for td in page.all("td") if td.within(th.inside[-1])]
        for th in page.all("th")
        if th.within(tables[0]) and th.text in ("sent", "expected", "received")
    }
    assert [td.text for td in rows["sent"]] == ["abcd\\x00", "61 62 63 64 00"]
    assert [td.text for td in rows["received"]] == ["ABCd\\x00", "41 42 43 64 00"]
    marks = [m.text for m in page.all("mark") if m.within(tables[0])]
    assert marks == ["d", "64", "D", "44", "d", "64"]  # sent, expected, received: text, hex
    transcript = [t for t in page.all("table", "transcript") if t.within(panel)]
    assert "recv" in transcript[0].text and "ABCd\\x00" in transcript[0].text
    assert "5 in 2" in transcript[0].text  # bytes, and the writes folded into the row


def test_a_stream_that_ends_early_is_marked_where_it_ends(spec):
    short = dict(WRONG_BYTE["clients"][0], received=b"ABC".hex(), received_bytes=3)
    details = {"clients": [short]}
    page = Page(render([report(spec, "x", [entry(spec, "upper", "fail", details=details)])]))
    ends = [m for m in page.all("mark", "end")]
    assert len(ends) == 2  # received, as text and as hex


def test_hostile_server_output_is_escaped(spec):
    hostile = entry(spec, "upper", "fail", summary="<b>bold</b>", evidence=HOSTILE)
    hostile.details = dict(WRONG_BYTE)
    html = render([report(spec, "<img src=x onerror=alert(1)>", [hostile])])
    page = Page(html)
    assert len(page.all("script")) == 1  # the page's own
    assert not page.all("img")  # no markup of theirs
    assert not [b for b in page.all("b") if b.text == "bold"]
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#x27;pwned&#x27;)" in html
    assert "\x1b" not in html and "\x00" not in html
    stderr = [pre for pre in page.all("pre") if "Traceback" in pre.text]
    assert stderr and "<script>alert('pwned')</script>" in stderr[0].text
    assert "\\x1b[31m" in stderr[0].text  # terminal codes shown, not passed on


def test_entry_without_details_falls_back_to_its_evidence_text(reports):
    page = Page(render(reports))
    panel = page.by_id("bob/prompt")
    plain = [d for d in page.all("details", "plain") if d.within(panel)]
    assert len(plain) == 1 and "open" in plain[0].attrs  # shown, since nothing else is
    assert "<only> plain text" in plain[0].text
    # Beside details, the text is kept too, folded away.
    drawn = [d for d in page.all("details", "plain") if d.within(page.by_id("alice/upper"))]
    assert "open" not in drawn[0].attrs and "the plain evidence of upper" in drawn[0].text


def test_huge_evidence_is_clipped_to_its_head_and_tail(spec):
    huge = "minimal failing case:\n" + "x" * 2_000_000 + "\nthe tail"
    e = entry(spec, "stream", "fail", evidence=huge, details={"case": huge})
    html = render([report(spec, "x", [e])])
    assert len(html) < 100_000
    assert "characters left out" in html and "the tail" in html


def test_header_names_spec_date_command_and_totals(reports):
    page = Page(render(reports))
    header = page.all("header")[0].text
    assert "uppercase-echo" in header and reports[0].spec.version in header
    assert "today" in header and "echo-conformance check --all" in header
    assert "2 implementations" in header and "8 outcomes: 3 as declared, 5 contrary" in header


def test_deep_link_fragments_encode_names(spec):
    assert anchor("a b/c", "upper") == "a%20b%2Fc/upper"
    page = Page(render([report(spec, "a b/c", [entry(spec, "listen", "pass")])]))
    assert page.by_id("a%20b%2Fc/listen").tag == "article"


def test_a_class_of_sixty_stays_a_reasonable_size(spec, reports):
    alice = reports[0]
    many = [report(spec, f"s{i:02}", list(alice.entries) * 3) for i in range(60)]
    assert len(render(many)) < 3_000_000


def test_style_and_script_are_the_package_data_inline(reports):
    """Its style and script are package data (html_report.css, .js), inline: it opens offline."""
    html = render(reports)
    for name in ("html_report.css", "html_report.js"):
        assert files("conformance.reports").joinpath(name).read_text(encoding="utf-8") in html, name
    page = Page(html)
    assert not page.all("link") and not [s for s in page.all("script") if "src" in s.attrs]


# -- in the browser -------------------------------------------------------------------------


@pytest.fixture
def browser() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("chromium is not installed: apt-get install chromium")
    return exe


def chromium(exe: str, tmp_path: Path, *args: str) -> str:
    """Run headless Chromium once (own profile, a timeout, nothing of it left running)."""
    home = tmp_path / "chromium"  # its profile, HOME and crash reports: nothing outside
    argv = [
        exe,
        "--headless",
        "--no-sandbox",  # needed as root (containers, CI)
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        f"--user-data-dir={home / 'profile'}",
        *args,
    ]
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / "config")},
        start_new_session=True,  # its own process group: its helpers end with it
    )
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        kill_leftovers(str(home))
    assert proc.returncode == 0, err[-2000:]
    return out


def kill_leftovers(marker: str) -> None:
    """Chromium's crash handlers start sessions of their own, outside its process group: end
    any process still naming this run's folder, by pid."""
    proc = Path("/proc")
    if not proc.is_dir():
        return
    for path in proc.iterdir():
        if not path.name.isdigit() or int(path.name) == os.getpid():
            continue
        try:
            cmdline = (path / "cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline:
            try:
                os.kill(int(path.name), signal.SIGKILL)
            except ProcessLookupError:
                pass


def check_html(tmp_path: Path, html: Path) -> subprocess.CompletedProcess[str]:
    server = [sys.executable, str(SERVERS / "lowercases.py"), "{port}", "{host}"]
    return run("check", "--only", "upper", "--html", str(html), "--", *server, cwd=tmp_path)


@pytest.mark.browser
def test_report_of_a_planted_bug_in_chromium(tmp_path, browser):
    html = tmp_path / "report.html"
    proc = check_html(tmp_path, html)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # not conformant
    url = html.as_uri() + "#server/upper"
    page = Page(chromium(browser, tmp_path, "--dump-dom", url))  # the DOM after the script ran
    cell = page.by_id("cell:server/upper")
    assert {"k-fail", "bad", "sel"} <= cell.classes and cell.text == "FAIL"
    panel = page.by_id("server/upper")
    assert "open" in panel.classes and "data-open" in panel.attrs
    assert "hidden" not in panel.attrs
    assert [p for p in page.all("article", "ev") if "open" in p.classes] == [panel]
    assert "wrong byte" in panel.text and "transcript" in panel.text and "recv" in panel.text
    marks = [m.text for m in page.all("mark") if m.within(panel)]
    # sent, expected, received (text, hex): what came back is what was sent, not uppercased
    assert len(marks) >= 6 and marks[4:6] == marks[0:2] and marks[2] == marks[0].upper(), marks
    # Tall enough not to scroll: headless Chromium draws a scrolled page blank at the top.
    shot = tmp_path / "report.png"
    chromium(browser, tmp_path, f"--screenshot={shot}", "--window-size=1400,1600", url)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(data[16:20], "big") == 1400  # IHDR width
    assert len(data) > 20_000  # drawn, not blank (a blank page of this size is ~3 KB)


PROBE = """<script>
(function () {
  var out = {}, table = document.getElementById("matrix");
  function visible() {
    return Array.prototype.filter.call(table.tBodies[0].rows, function (tr) {
      return !tr.hidden;
    }).map(function (tr) { return tr.getAttribute("data-name"); });
  }
  var only = document.getElementById("only-bad"), pick = document.getElementById("pick");
  only.checked = true; only.dispatchEvent(new Event("change"));
  out.onlyBad = visible();
  pick.value = "1"; pick.dispatchEvent(new Event("change"));
  out.onlyBadUpper = visible();
  out.streamShown = getComputedStyle(document.getElementById("cell:carol/stream")).display;
  only.checked = false; only.dispatchEvent(new Event("change"));
  pick.value = ""; pick.dispatchEvent(new Event("change"));
  table.tHead.querySelector('th[data-sort="c1"] button').click();
  out.byUpper = visible();
  table.tHead.querySelector('th[data-sort="score"] button').click();
  table.tHead.querySelector('th[data-sort="score"] button').click();
  out.byScoreDown = visible();
  var probe = document.createElement("pre");
  probe.id = "probe";
  probe.textContent = JSON.stringify(out);
  document.body.appendChild(probe);
})();
</script>
</body>"""


@pytest.mark.browser
def test_sorting_and_filtering_work_from_disk_in_chromium(tmp_path, spec, browser):
    def row(name: str, outcomes: list[str]) -> Report:
        ids = ["listen", "upper", "stream"]
        return report(spec, name, [entry(spec, i, o) for i, o in zip(ids, outcomes)])

    reports = [
        row("carol", ["pass", "pass", "error"]),
        row("bob", ["fail", "fail", "pass"]),
        row("alice", ["pass", "pass", "pass"]),
    ]
    html = tmp_path / "sort.html"
    html.write_text(render(reports).replace("</body>", PROBE, 1), encoding="utf-8")
    page = Page(chromium(browser, tmp_path, "--dump-dom", html.as_uri()))
    probe = json.loads(page.by_id("probe").text)
    assert probe["onlyBad"] == ["carol", "bob"]  # alice: nothing but passes
    assert probe["onlyBadUpper"] == ["bob"]  # failures in the upper column only
    assert probe["streamShown"] == "none"  # the other columns are hidden
    assert probe["byUpper"] == ["bob", "alice", "carol"]  # worst first, then by name
    assert probe["byScoreDown"] == ["alice", "carol", "bob"]  # 40, 25, 15
