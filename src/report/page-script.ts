/**
 * The sample browser, run by the page: reads the JSON block `#report-data` and builds the list
 * with DOM calls only (textContent, never innerHTML), so a generation is always shown as text.
 * Filters: all / wrong / no answer / error / disagreement / fallback, a subject and a seed
 * select, a text search; 25 samples a page; a sample's body is built when it is first opened.
 */
export const PAGE_SCRIPT = `
(function () {
  "use strict";
  var holder = document.getElementById("report-data");
  if (!holder) return;
  var D = JSON.parse(holder.textContent || "{}");
  var rows = D.rows || [], lines = D.lines || [], runs = D.runs || [];
  var PAGE = 25;
  var state = { filter: "all", subject: "", run: "", q: "", page: 0 };
  var FILTERS = {
    all: function () { return true; },
    wrong: function (l) { return l.correct === false; },
    noanswer: function (l) { return !l.error && l.predicted === null; },
    error: function (l) { return !!l.error; },
    disagree: function (l) { return !!l.disagree; },
    fallback: function (l) { return !!l.fallback; }
  };

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function add(parent) {
    for (var i = 1; i < arguments.length; i++) if (arguments[i]) parent.appendChild(arguments[i]);
    return parent;
  }
  function safeUrl(u) {
    return typeof u === "string" && /^(data:image\\/|https?:|[^:]*$)/i.test(u) ? u : null;
  }
  function verdict(l) {
    if (l.error) return ["error", "error"];
    if (l.correct === true) return ["right", "right"];
    if (l.predicted === null) return ["none", "no answer"];
    if (l.correct === false) return ["wrong", "wrong"];
    return ["unscored", "unscored"];
  }
  var hay = [];
  function haystack(i) {
    if (hay[i] === undefined) {
      var l = lines[i], r = rows[l.row] || {}, parts = [r.id, r.subject, r.expected, r.system, l.predicted, l.generation, l.reasoning, l.error && l.error.message];
      (r.prompt || []).forEach(function (p) { if (p.text) parts.push(p.text); });
      hay[i] = parts.filter(function (x) { return x; }).join("\\n").toLowerCase();
    }
    return hay[i];
  }
  function base(i) {
    var l = lines[i], r = rows[l.row] || {};
    if (state.subject && r.subject !== state.subject) return false;
    if (state.run !== "" && String(l.run) !== state.run) return false;
    if (state.q && haystack(i).indexOf(state.q) < 0) return false;
    return true;
  }

  function image(r, k) {
    var im = (r.images || [])[k] || { label: "image " + (k + 1) };
    var src = safeUrl(im.src);
    if (!src) {
      var box = el("div", "thumb missing");
      add(box, el("span", null, "image unavailable"), el("small", null, im.note ? im.label + ": " + im.note : im.label));
      return box;
    }
    var fig = el("figure", "thumb");
    var img = el("img");
    img.src = src;
    img.alt = im.label;
    img.loading = "lazy";
    if (D.images === "link" && !/^data:/i.test(src)) {
      var a = el("a");
      a.href = src;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      add(fig, add(a, img));
    } else add(fig, img);
    add(fig, el("figcaption", null, im.label));
    return fig;
  }

  function body(l) {
    var r = rows[l.row] || { prompt: [], images: [] };
    var wrap = el("div", "sample-body");
    var left = el("div", "prompt-col"), right = el("div", "response");
    add(left, el("h3", null, "Prompt"));
    var pr = el("div", "prompt");
    if (r.system) add(pr, el("div", "system", r.system));
    var thumbs = null;
    (r.prompt || []).forEach(function (p) {
      if (typeof p.image === "number") {
        if (!thumbs) { thumbs = el("div", "thumbs"); add(pr, thumbs); }
        add(thumbs, image(r, p.image));
      } else {
        thumbs = null;
        add(pr, el("pre", "text", p.text));
      }
    });
    if (!(r.prompt || []).length) add(pr, el("span", "muted", "(no prompt text in the row)"));
    add(left, pr);

    add(right, el("h3", null, "Response"));
    if (l.error) add(right, el("div", "errbox", (l.error.code ? l.error.code + (l.error.stage ? " in " + l.error.stage : "") + ": " : "") + l.error.message));
    if (l.reasoning) {
      var rs = el("details", "reasoning");
      add(rs, el("summary", null, "Reasoning (" + l.reasoning.length.toLocaleString() + " characters)"), el("pre", "text", l.reasoning));
      add(right, rs);
    }
    add(right, el("pre", "text", l.generation === "" ? "(empty generation)" : l.generation));
    add(right, el("h3", null, "Answers"));
    var dl = el("dl", "answers");
    function item(k, v) { add(dl, el("dt", null, k), el("dd", null, v === null || v === undefined ? "none" : v)); }
    item("extracted", l.predicted);
    if ("multichoice" in l) item("multichoice", l.multichoice);
    if ("official" in l) item("official parser", (l.official === null ? "none" : l.official) + (l.fallback ? "  (random fallback)" : ""));
    item("expected", r.expected);
    if (r.answers) item("acceptable answers", r.answers.join("  |  "));
    item("verdict", verdict(l)[1]);
    if (l.score) item(l.score.name, l.score.value.toFixed(3));
    var meta = [];
    if (l.finish) meta.push("finish_reason " + l.finish);
    if (typeof l.tokens === "number") meta.push(l.tokens + " tokens");
    if (typeof l.seconds === "number") meta.push(l.seconds.toFixed(2) + " s");
    if (meta.length) item("generation", meta.join(", "));
    add(right, dl);
    return add(wrap, left, right);
  }

  function card(i) {
    var l = lines[i], r = rows[l.row] || {};
    var d = el("details", "sample");
    d.dataset.index = String(i);
    var s = el("summary");
    var v = verdict(l);
    add(s, el("span", "badge " + v[0], v[1]), el("span", "sid", r.id !== null && r.id !== undefined ? r.id : "#" + l.row));
    if (r.subject) add(s, el("span", "chip", r.subject));
    if (runs.length > 1) add(s, el("span", "chip", runs[l.run]));
    if (l.disagree) add(s, el("span", "chip flag", "extractors disagree"));
    if (l.fallback) add(s, el("span", "chip flag", "fallback"));
    var ans = el("span", "ans");
    add(ans, document.createTextNode("answer "), el("b", null, l.predicted === null ? "none" : l.predicted),
      document.createTextNode(" · expected "), el("b", null, r.expected === null ? "none" : r.expected));
    if (l.score) add(ans, document.createTextNode(" · " + l.score.name + " "), el("b", null, l.score.value.toFixed(2)));
    if (typeof l.tokens === "number") add(ans, document.createTextNode(" · " + l.tokens + " tok"));
    add(s, ans);
    add(d, s);
    d.addEventListener("toggle", function () {
      if (d.open && !d.dataset.built) { d.dataset.built = "1"; add(d, body(l)); }
    });
    return d;
  }

  var list = document.getElementById("sample-list");
  var count = document.getElementById("sample-count");
  var pageInfo = document.querySelectorAll(".page-info");
  var prev = document.querySelectorAll(".page-prev"), next = document.querySelectorAll(".page-next");
  function each(nodes, f) { Array.prototype.forEach.call(nodes, f); }

  function render() {
    var inBase = [], shown = [], counts = {};
    Object.keys(FILTERS).forEach(function (f) { counts[f] = 0; });
    for (var i = 0; i < lines.length; i++) {
      if (!base(i)) continue;
      inBase.push(i);
      for (var f in FILTERS) if (FILTERS[f](lines[i])) counts[f]++;
      if (FILTERS[state.filter](lines[i])) shown.push(i);
    }
    document.querySelectorAll(".filters button").forEach(function (b) {
      b.classList.toggle("active", b.dataset.filter === state.filter);
      var n = b.querySelector(".n");
      if (n) n.textContent = String(counts[b.dataset.filter] || 0);
    });
    count.dataset.count = String(shown.length);
    count.textContent = shown.length.toLocaleString() + (shown.length === 1 ? " sample" : " samples");
    var pages = Math.max(1, Math.ceil(shown.length / PAGE));
    if (state.page >= pages) state.page = pages - 1;
    var from = state.page * PAGE, to = Math.min(shown.length, from + PAGE);
    each(pageInfo, function (p) { p.textContent = shown.length ? (from + 1) + "–" + to + " of " + shown.length : ""; });
    each(prev, function (b) { b.disabled = state.page === 0; });
    each(next, function (b) { b.disabled = state.page >= pages - 1; });
    document.getElementById("pager-bottom").hidden = shown.length <= PAGE;
    list.textContent = "";
    if (!shown.length) { add(list, el("div", "empty", "No sample matches these filters.")); return; }
    for (var j = from; j < to; j++) list.appendChild(card(shown[j]));
  }

  document.querySelectorAll(".filters button").forEach(function (b) {
    b.addEventListener("click", function () { state.filter = b.dataset.filter; state.page = 0; render(); });
  });
  var subj = document.getElementById("filter-subject");
  var subjects = [];
  rows.forEach(function (r) { if (r.subject && subjects.indexOf(r.subject) < 0) subjects.push(r.subject); });
  if (subjects.length) {
    subjects.forEach(function (s) { var o = el("option", null, s); o.value = s; subj.appendChild(o); });
    subj.addEventListener("change", function () { state.subject = subj.value; state.page = 0; render(); });
  } else subj.parentNode.style.display = "none";
  var seed = document.getElementById("filter-run");
  if (runs.length > 1) {
    runs.forEach(function (label, k) { var o = el("option", null, label); o.value = String(k); seed.appendChild(o); });
    seed.addEventListener("change", function () { state.run = seed.value; state.page = 0; render(); });
  } else seed.parentNode.style.display = "none";
  var search = document.getElementById("filter-text"), timer = 0;
  search.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { state.q = search.value.trim().toLowerCase(); state.page = 0; render(); }, 150);
  });
  function turn(d, top) { state.page += d; render(); if (!top) document.getElementById("samples").scrollIntoView(); }
  each(prev, function (b) { b.addEventListener("click", function () { turn(-1, b.dataset.top); }); });
  each(next, function (b) { b.addEventListener("click", function () { turn(1, b.dataset.top); }); });
  render();
})();
`;
