// The operations page: charts of the flow (uPlot), a status line, and a
// few behaviours htmx leaves to the page. Fragments are htmx's (see the
// hx-* attributes in the templates).
(function () {
  "use strict";
  var status = document.getElementById("status");
  var palette = ["#2563eb", "#16a34a", "#dc2626", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777", "#4b5563", "#65a30d"];

  function showError(msg) {
    status.textContent = msg;
    status.className = "status error";
  }
  function showOK() {
    status.textContent = "updated " + new Date().toLocaleTimeString();
    status.className = "status";
  }

  // Errors of fragment requests show in the status line; the fragments
  // themselves render the admin API's errors.
  document.body.addEventListener("htmx:responseError", function (e) {
    var xhr = e.detail.xhr;
    showError("the server answered " + xhr.status + " to " + e.detail.pathInfo.requestPath + ": " + (xhr.responseText || "").slice(0, 200));
  });
  document.body.addEventListener("htmx:sendError", function (e) {
    showError("the server cannot be reached (" + e.detail.pathInfo.requestPath + ")");
  });
  document.body.addEventListener("htmx:afterRequest", function (e) {
    if (e.detail.successful) { showOK(); }
  });

  // The records listing stops refreshing while records are ticked, so
  // that a refresh does not undo a selection.
  document.body.addEventListener("htmx:beforeRequest", function (e) {
    var elt = e.detail.elt;
    if (elt.hasAttribute("data-pause-on-selection") && elt.querySelector("input[type=checkbox]:checked")) {
      e.preventDefault();
    }
  });

  // A click on an element with data-load loads that URL into the element
  // data-into names (a row into the detail panel, a group's records into
  // the dead-letter panel). The request's source is that stable element,
  // not the clicked one: the clicked one's table refreshes every 2 s, and
  // htmx drops the answer of an element that has left the page.
  document.body.addEventListener("click", function (e) {
    if (e.target.closest("[data-close]")) {
      document.getElementById("detail").innerHTML = "";
      return;
    }
    var el = e.target.closest("[data-load]");
    if (el && (el.tagName === "BUTTON" || !e.target.closest("input, button, a, label"))) {
      var into = el.getAttribute("data-into");
      htmx.ajax("GET", el.getAttribute("data-load"), { source: into, target: into });
    }
  });

  // Charts: the flow's rates, fetched every 2 s.
  var charts = {};
  function chart(id, series, data) {
    var el = document.getElementById(id);
    var key = series.map(function (s) { return s.label; }).join("|");
    var c = charts[id];
    if (c && c.key === key) {
      c.plot.setData(data);
      return;
    }
    if (c) { c.plot.destroy(); }
    var opts = {
      width: Math.max(el.clientWidth, 300),
      height: 180,
      series: [{}].concat(series),
      axes: [{}, { size: 50, label: "events/s" }],
      scales: { y: { range: function (u, min, max) { return [0, Math.max(1, max * 1.1)]; } } },
      legend: { live: false },
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"); }
    };
    charts[id] = { key: key, plot: new uPlot(opts, data, el) };
  }
  function draw(flow) {
    var times = flow.times.map(function (t) { return Date.parse(t) / 1000; });
    var topics = flow.topics;
    chart("chart-published", topics.map(function (t, i) {
      return { label: t.topic, stroke: palette[i % palette.length], width: 1.5 };
    }), [times].concat(topics.map(function (t) { return t.perSecond; })));
    var series = [], data = [times];
    flow.groups.forEach(function (g, i) {
      var color = palette[i % palette.length];
      series.push({ label: g.group + " applied", stroke: color, width: 1.5 });
      data.push(g.appliedPerSecond);
      series.push({ label: g.group + " consumed", stroke: color, width: 1, dash: [4, 4] });
      data.push(g.consumedPerSecond);
    });
    chart("chart-applied", series, data);
  }
  function poll() {
    fetch("/ui/flow.json", { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) {
        if (r.status === 401) { window.location.href = "/ui/"; throw new Error("logged out"); }
        return r.json().then(function (body) {
          if (!r.ok) { throw new Error(body.error || ("HTTP " + r.status)); }
          return body;
        });
      })
      .then(draw)
      .catch(function (err) { showError("flow: " + err.message); })
      .finally(function () { setTimeout(poll, 2000); });
  }
  poll();
  window.addEventListener("resize", function () {
    Object.keys(charts).forEach(function (id) {
      var el = document.getElementById(id);
      charts[id].plot.setSize({ width: Math.max(el.clientWidth, 300), height: 180 });
    });
  });
})();
