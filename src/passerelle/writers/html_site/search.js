/* The static site's search (search.html): the only script of the site.

   The index (written by passerelle's html writer) is an inverted index in shards: a word's
   shard is FNV-1a (32 bits) of its UTF-8 bytes modulo the number of shards, and each shard is
   data/search-terms-NNNNN.js holding {word: [first document, gaps...]}. Documents are numbered
   newest first; their links and texts are in data/search-docs-NNNNN.js, a fixed number per
   file. A search loads the shards of its words (and of its filters: the words "space:<id>" and
   "author:<id>" list a space's and an author's documents), intersects the lists, and loads
   the documents of one page of results only. Files are loaded with <script src> (fetch() of a
   local file is refused under file://); each calls passerelle_data(...).

   Nothing from the data is ever parsed as HTML: results are built from elements and text
   nodes, words highlighted by <mark> elements around text nodes. */
(function () {
  "use strict";

  var box = document.getElementById("search");
  if (!box) { return; }
  var SHARDS = parseInt(box.getAttribute("data-shards"), 10);
  var PER_CHUNK = parseInt(box.getAttribute("data-docs-per-chunk"), 10);
  var PAGE_SIZE = parseInt(box.getAttribute("data-page-size"), 10);
  var MAX_TOKEN = parseInt(box.getAttribute("data-max-token"), 10);
  var status = document.getElementById("status");
  var list = document.getElementById("results");
  var pager = document.getElementById("pager");
  var encoder = new TextEncoder();

  // The same words as the writer's (passerelle.writers.html.words): lower case, accents
  // dropped (NFKD without marks), runs of letters, digits and "_", at most MAX_TOKEN long.
  function normalise(text) {
    return text.toLowerCase().normalize("NFKD").replace(/\p{M}/gu, "");
  }
  function words(text) {
    var found = normalise(text).match(/[\p{L}\p{N}_]+/gu) || [];
    return found.map(function (w) { return Array.from(w).slice(0, MAX_TOKEN).join(""); });
  }
  function fnv1a(text) {
    var bytes = encoder.encode(text);
    var h = 0x811c9dc5;
    for (var i = 0; i < bytes.length; i++) {
      h ^= bytes[i];
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    return h >>> 0;
  }
  function five(n) { return ("0000" + n).slice(-5); }

  var pending = {};
  var loading = {};
  window.passerelle_data = function (data) {
    var key = data.kind === "search-terms" ? "t" + data.shard : data.kind === "search-docs" ? "d" + data.chunk : null;
    if (key !== null && pending[key]) { pending[key](data); delete pending[key]; }
  };
  function load(key, src) {
    if (!loading[key]) {
      loading[key] = new Promise(function (resolve, reject) {
        pending[key] = resolve;
        var script = document.createElement("script");
        script.src = src;
        script.onerror = function () { reject(new Error("cannot load " + src)); };
        document.head.appendChild(script);
      });
    }
    return loading[key];
  }
  function postings(term) {
    var shard = fnv1a(term) % SHARDS;
    return load("t" + shard, "data/search-terms-" + five(shard) + ".js").then(function (data) {
      var gaps = Object.prototype.hasOwnProperty.call(data.terms, term) ? data.terms[term] : [];
      var docs = new Array(gaps.length);
      var at = 0;
      for (var i = 0; i < gaps.length; i++) { at += gaps[i]; docs[i] = at; }
      return docs;
    });
  }
  function intersect(a, b) {
    var out = [];
    var i = 0;
    var j = 0;
    while (i < a.length && j < b.length) {
      if (a[i] === b[j]) { out.push(a[i]); i++; j++; } else if (a[i] < b[j]) { i++; } else { j++; }
    }
    return out;
  }
  function doc(n) {
    var chunk = Math.floor(n / PER_CHUNK);
    return load("d" + chunk, "data/search-docs-" + five(chunk) + ".js").then(function (data) {
      return data.docs[n - chunk * PER_CHUNK];
    });
  }
  function optionText(select, value) {
    for (var i = 0; i < select.options.length; i++) {
      if (select.options[i].value === value) { return select.options[i].text; }
    }
    return value || "";
  }
  function when(micros) {
    if (micros === null) { return ""; }
    var date = new Date(micros / 1000);
    return isNaN(date.getTime()) ? "" : date.toISOString().slice(0, 16).replace("T", " ");
  }
  // The text around the first word searched for, the searched words in <mark>.
  function snippet(text, wanted) {
    var p = document.createElement("p");
    p.className = "snippet";
    var runs = [];
    var re = /[\p{L}\p{N}_\p{M}]+/gu;
    var m;
    var first = -1;
    while ((m = re.exec(text)) !== null) {
      var hit = words(m[0]).some(function (w) { return wanted.has(w); });
      runs.push([m.index, m.index + m[0].length, hit]);
      if (hit && first < 0) { first = m.index; }
    }
    var start = Math.max(0, (first < 0 ? 0 : first) - 80);
    var end = Math.min(text.length, start + 260);
    var at = start;
    if (start > 0) { p.appendChild(document.createTextNode("…")); }
    runs.forEach(function (run) {
      if (!run[2] || run[0] < start || run[1] > end) { return; }
      p.appendChild(document.createTextNode(text.slice(at, run[0])));
      var mark = document.createElement("mark");
      mark.appendChild(document.createTextNode(text.slice(run[0], run[1])));
      p.appendChild(mark);
      at = run[1];
    });
    p.appendChild(document.createTextNode(text.slice(at, end) + (end < text.length ? "…" : "")));
    return p;
  }
  function pageLink(params, page, label, rel) {
    var a = document.createElement("a");
    var next = new URLSearchParams(params);
    next.set("page", String(page));
    a.setAttribute("href", "search.html?" + next.toString());
    a.setAttribute("rel", rel);
    a.className = rel === "next" ? "next" : "previous";
    a.textContent = label;
    return a;
  }

  var params = new URLSearchParams(window.location.search);
  var q = params.get("q") || "";
  var space = params.get("space") || "";
  var author = params.get("author") || "";
  var page = Math.max(0, parseInt(params.get("page") || "0", 10) || 0);
  var spaceSelect = document.getElementById("space");
  var authorSelect = document.getElementById("author");
  document.getElementById("q").value = q;
  spaceSelect.value = space;
  authorSelect.value = author;
  document.querySelectorAll("header input[name=q]").forEach(function (input) { input.value = q; });

  var wanted = new Set(words(q));
  if (wanted.size === 0) { return; }
  var terms = Array.from(wanted);
  if (space) { terms.push("space:" + space); }
  if (author) { terms.push("author:" + author); }
  status.textContent = box.getAttribute("data-loading");
  Promise.all(terms.map(postings)).then(function (lists) {
    lists.sort(function (a, b) { return a.length - b.length; });
    var found = lists.reduce(intersect);
    var shown = found.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE);
    return Promise.all(shown.map(doc)).then(function (docs) {
      status.textContent = found.length ? found.length + " " + box.getAttribute("data-results") : box.getAttribute("data-no-results");
      docs.forEach(function (d) {
        // [item id, page, space id, author id, created_at (microseconds), text]
        var li = document.createElement("li");
        li.className = "result";
        var a = document.createElement("a");
        a.setAttribute("href", d[1] + "#item-" + d[0]);
        a.textContent = optionText(spaceSelect, d[2]);
        li.appendChild(a);
        li.appendChild(document.createTextNode(" · " + (d[3] ? optionText(authorSelect, d[3]) : "") + " · "));
        var time = document.createElement("time");
        time.textContent = when(d[4]);
        li.appendChild(time);
        li.appendChild(snippet(d[5], wanted));
        list.appendChild(li);
      });
      if (page > 0) { pager.appendChild(pageLink(params, page - 1, box.getAttribute("data-previous"), "prev")); }
      if ((page + 1) * PAGE_SIZE < found.length) {
        pager.appendChild(pageLink(params, page + 1, box.getAttribute("data-next"), "next"));
      }
    });
  }).catch(function (error) {
    status.textContent = String(error);
  });
})();
