(function () {
  "use strict";
  var table = document.getElementById("matrix");
  var body = table.tBodies[0];
  var onlyBad = document.getElementById("only-bad");
  var pick = document.getElementById("pick");
  var none = document.getElementById("none");
  var evidence = document.getElementById("evidence");
  var colStyle = document.head.appendChild(document.createElement("style"));

  // The same encoding as Python's quote(s, safe=""): a hand-typed #IMPL/REQ finds its panel.
  function enc(s) {
    return encodeURIComponent(s).replace(/[!'()*]/g, function (c) {
      return "%" + c.charCodeAt(0).toString(16).toUpperCase();
    });
  }
  function panelFor(hash) {
    var el = hash ? document.getElementById(hash) : null;
    var cut = hash.lastIndexOf("/");
    if (!el && cut > 0) {
      try {
        el = document.getElementById(
          enc(decodeURIComponent(hash.slice(0, cut))) + "/" +
          enc(decodeURIComponent(hash.slice(cut + 1))));
      } catch (e) { el = null; }
    }
    return el && el.classList.contains("ev") ? el : null;
  }
  function show() {
    var panel = panelFor(location.hash.slice(1));
    document.querySelectorAll(".ev.open").forEach(function (el) {
      el.classList.remove("open");
      el.removeAttribute("data-open");
    });
    document.querySelectorAll("td.sel").forEach(function (el) { el.classList.remove("sel"); });
    if (!panel) { return; }
    panel.classList.add("open");
    panel.setAttribute("data-open", "true");
    var cell = document.getElementById("cell:" + panel.id);
    if (cell) { cell.classList.add("sel"); }
    var top = panel.getBoundingClientRect().top;
    if (top < 0 || top > window.innerHeight * 0.8) { panel.scrollIntoView({block: "start"}); }
  }
  window.addEventListener("hashchange", show);

  var ascending = {};
  table.tHead.addEventListener("click", function (event) {
    var th = event.target.closest("th[data-sort]");
    if (!th) { return; }
    var key = th.getAttribute("data-sort");
    var up = key in ascending ? !ascending[key] : th.getAttribute("data-first") !== "desc";
    ascending[key] = up;
    function value(tr) {
      if (key === "name") { return tr.getAttribute("data-name"); }
      if (key.charAt(0) === "c" && key !== "contrary") {
        var td = tr.querySelector('td[data-col="' + key.slice(1) + '"]');
        return td ? Number(td.getAttribute("data-rank")) : 99;
      }
      return Number(tr.getAttribute("data-" + key));
    }
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = value(a), y = value(b);
      var c = x < y ? -1 : x > y ? 1 : 0;
      if (!up) { c = -c; }
      var p = a.getAttribute("data-name"), q = b.getAttribute("data-name");
      return c || (p < q ? -1 : p > q ? 1 : 0);
    });
    rows.forEach(function (tr) { body.appendChild(tr); });
    table.tHead.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", up ? "ascending" : "descending");
  });

  function filter() {
    var col = pick.value, bad = onlyBad.checked, shown = 0;
    colStyle.textContent = col === "" ? "" :
      '#matrix [data-col]:not([data-col="' + col + '"]) { display: none; }';
    table.classList.toggle("only-bad", bad);
    var sel = "td.bad" + (col === "" ? "" : '[data-col="' + col + '"]');
    Array.prototype.forEach.call(body.rows, function (tr) {
      tr.hidden = bad && !tr.querySelector(sel);
      shown += tr.hidden ? 0 : 1;
    });
    none.hidden = shown > 0 || !bad;
  }
  onlyBad.addEventListener("change", filter);
  pick.addEventListener("change", filter);

  document.getElementById("all-bad").addEventListener("click", function () {
    var on = evidence.classList.toggle("all-bad");
    this.textContent = on ? "hide the evidence not asked for" : "show every failure's evidence";
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button.copy");
    if (!button) { return; }
    var code = button.previousElementSibling;
    function select() {
      var range = document.createRange();
      range.selectNodeContents(code);
      var s = window.getSelection();
      s.removeAllRanges();
      s.addRange(range);
    }
    if (navigator.clipboard) {
      navigator.clipboard.writeText(code.textContent).then(function () {
        button.textContent = "copied";
      }, select);
    } else {
      select();
    }
  });

  filter();
  show();
})();
