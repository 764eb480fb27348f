(function () {
  "use strict";
  const D = JSON.parse(document.getElementById("map-data").textContent);
  const gd = document.getElementById("map");
  const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const hasWebGL = (function () {
    try { const c = document.createElement("canvas"); return !!(c.getContext("webgl") || c.getContext("experimental-webgl")); }
    catch (e) { return false; }
  })();
  if (!hasWebGL) {
    const note = document.getElementById("notice");
    note.textContent = "This browser has no WebGL: the map is drawn without it and may be slow to pan and zoom.";
    note.style.display = "block";
  }
  const n = D.x.length;
  const groups = [{ rows: [] }, { rows: [] }];  // 0: in a topic, 1: unclustered
  for (let i = 0; i < n; i++) groups[D.t[i] < 0 ? 1 : 0].rows.push(i);
  const lowerHeadline = D.h.map((h) => h.toLowerCase());
  const lowerLabel = D.topics.map((t) => t.label.toLowerCase());
  const size = Math.max(3, Math.min(8, Math.round(60 / Math.sqrt(Math.sqrt(Math.max(n, 1))))));
  function trace(rows, inTopic) {
    return {
      type: hasWebGL ? "scattergl" : "scatter",
      mode: "markers",
      name: inTopic ? "topics" : "unclustered",
      x: rows.map((i) => D.x[i]),
      y: rows.map((i) => D.y[i]),
      text: rows.map((i) => esc(D.h[i])),
      customdata: rows.map((i) => (inTopic ? esc(D.topics[D.t[i]].label) + " (topic " + D.topics[D.t[i]].id + ")" : "unclustered")),
      hovertemplate: "%{text}<br><b>%{customdata}</b><extra></extra>",
      marker: {
        size: size,
        color: inTopic ? rows.map((i) => D.topics[D.t[i]].colour) : D.unclusteredColour,
        opacity: inTopic ? 0.75 : 0.25,
      },
      selected: { marker: { opacity: 0.95 } },
      unselected: { marker: { opacity: 0.04 } },
    };
  }
  const traces = [trace(groups[0].rows, true), trace(groups[1].rows, false)];
  const layout = {
    margin: { l: 10, r: 10, t: 10, b: 10 },
    xaxis: { visible: false },
    yaxis: { visible: false },
    hovermode: "closest",
    showlegend: false,
    dragmode: "pan",
    plot_bgcolor: "#ffffff",
    annotations: [],
  };
  const config = { responsive: true, scrollZoom: true, displaylogo: false, modeBarButtonsToRemove: ["select2d", "lasso2d"] };

  let candidates = D.topics.map((t, k) => k);  // topics whose labels may show, largest first
  function placeLabels() {
    const full = gd._fullLayout;
    if (!full || !full.xaxis || !full.yaxis) return;
    const xa = full.xaxis, ya = full.yaxis;
    const placed = [], annotations = [];
    for (const k of candidates) {
      if (annotations.length >= D.nLabels) break;
      const t = D.topics[k];
      const px = xa.l2p(t.x), py = ya.l2p(t.y);
      if (px < 0 || py < 0 || px > xa._length || py > ya._length) continue;
      const w = 7 * t.label.length + 10, h = 18;
      const box = [px - w / 2, py - h / 2, px + w / 2, py + h / 2];
      if (placed.some((b) => box[0] < b[2] && b[0] < box[2] && box[1] < b[3] && b[1] < box[3])) continue;
      placed.push(box);
      annotations.push({
        x: t.x, y: t.y, text: esc(t.label), showarrow: false, captureevents: false,
        font: { size: 12, color: "#111" }, bgcolor: "rgba(255,255,255,0.75)", borderpad: 1,
      });
    }
    Plotly.relayout(gd, { annotations: annotations });
  }

  const picker = document.getElementById("topic");
  D.topics.forEach((t, k) => {
    const option = document.createElement("option");
    option.value = String(k);
    option.textContent = t.id + ": " + t.label + " (" + t.size + ")";
    picker.appendChild(option);
  });
  const search = document.getElementById("search");
  const count = document.getElementById("count");
  function applyFilter() {
    const q = search.value.trim().toLowerCase();
    const topic = picker.value === "" ? null : Number(picker.value);
    if (!q && topic === null) {
      candidates = D.topics.map((t, k) => k);
      count.textContent = "";
      Plotly.restyle(gd, { selectedpoints: [null, null] }, [0, 1]).then(placeLabels);
      return;
    }
    const matchedTopics = new Set();
    let total = 0;
    const selections = groups.map((group) => {
      const chosen = [];
      group.rows.forEach((i, position) => {
        const k = D.t[i];
        if (topic !== null && k !== topic) return;
        if (q && !lowerHeadline[i].includes(q) && !(k >= 0 && lowerLabel[k].includes(q))) return;
        chosen.push(position);
        if (k >= 0) matchedTopics.add(k);
      });
      total += chosen.length;
      return chosen;
    });
    candidates = D.topics.map((t, k) => k).filter((k) => matchedTopics.has(k));
    count.textContent = total.toLocaleString() + " of " + n.toLocaleString() + " headlines match";
    Plotly.restyle(gd, { selectedpoints: selections }, [0, 1]).then(placeLabels);
  }
  let timer = null;
  search.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(applyFilter, 200); });
  picker.addEventListener("change", applyFilter);

  Plotly.newPlot(gd, traces, layout, config).then(() => {
    placeLabels();
    gd.on("plotly_relayout", (change) => {
      if (change && Object.keys(change).some((key) => !key.startsWith("annotations"))) placeLabels();
    });
    // two frames later the WebGL points are on screen; the browser check waits for this mark
    requestAnimationFrame(() => requestAnimationFrame(() => {
      document.body.dataset.rendered = String(n);
      window.mapRenderedAt = performance.now();
    }));
  });
})();
