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
    // the first view is the one cluster/review/topic_map.py placed the labels for
    xaxis: { visible: false, range: D.xRange.slice() },
    yaxis: { visible: false, range: D.yRange.slice() },
    hovermode: "closest",
    showlegend: false,
    dragmode: "pan",
    plot_bgcolor: "#ffffff",
    annotations: [],
  };
  const config = { responsive: true, scrollZoom: true, displaylogo: false, modeBarButtonsToRemove: ["select2d", "lasso2d"] };

  // Labels: the rules of cluster/review/placement.py (keep the two in step). Largest topic
  // first; its whole label at or touching its centre, else further out with a leader line, else
  // its number; a box must stay in the plot, overlap no placed label and cover no other labelled
  // topic's centre; among free places the one over the fewest points wins.
  const DIRECTIONS = [[0, -1], [0, 1], [1, 0], [-1, 0], [1, -1], [-1, -1], [1, 1], [-1, 1]];
  const FONT = 12, LINE = 1.3, BOX = 6, GAP = 2, REACH = 24, CELL = 8, NEAR = 9;
  const FAMILY = '"Open Sans", verdana, arial, sans-serif';  // plotly's default
  const ruler = document.createElement("canvas").getContext("2d");
  ruler.font = FONT + "px " + FAMILY;
  const widthOf = (s) => Math.ceil(ruler.measureText(s).width) + 1;
  const sizes = D.topics.map((t) => [
    [Math.max(...t.lines.map(widthOf)) + BOX, t.lines.length * FONT * LINE + BOX],
    [widthOf(String(t.id)) + BOX, FONT * LINE + BOX],
  ]);
  const around = (x, y, w, h) => [x - w / 2, y - h / 2, x + w / 2, y + h / 2];
  const overlaps = (a, b) => a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3];
  const contains = (b, x, y) => b[0] <= x && x <= b[2] && b[1] <= y && y <= b[3];
  function candidateBoxes(x, y, size) {
    const [w, h] = size;
    const boxes = [around(x, y, w, h)];
    for (const extra of [0, REACH]) {
      for (const [dx, dy] of DIRECTIONS) boxes.push(around(x + dx * (w / 2 + GAP + extra), y + dy * (h / 2 + GAP + extra), w, h));
    }
    return boxes;
  }
  function pointCounter(xa, ya, W, H) {  // points in a box, from a summed-area table
    const cols = Math.max(1, Math.ceil(W / CELL)), rows = Math.max(1, Math.ceil(H / CELL)), stride = cols + 1;
    const table = new Float64Array((rows + 1) * stride);
    for (let i = 0; i < n; i++) {
      const c = Math.floor(xa.l2p(D.x[i]) / CELL), r = Math.floor(ya.l2p(D.y[i]) / CELL);
      if (c >= 0 && c < cols && r >= 0 && r < rows) table[(r + 1) * stride + c + 1] += 1;
    }
    for (let r = 1; r <= rows; r++) {
      for (let c = 1; c <= cols; c++) table[r * stride + c] += table[r * stride + c - 1] + table[(r - 1) * stride + c] - table[(r - 1) * stride + c - 1];
    }
    const cell = (v, limit) => Math.min(Math.max(v, 0), limit);
    return (b) => {
      const c0 = cell(Math.floor(b[0] / CELL), cols), c1 = cell(Math.ceil(b[2] / CELL), cols);
      const r0 = cell(Math.floor(b[1] / CELL), rows), r1 = cell(Math.ceil(b[3] / CELL), rows);
      return table[r1 * stride + c1] - table[r0 * stride + c1] - table[r1 * stride + c0] + table[r0 * stride + c0];
    };
  }
  function isFree(box, W, H, placed, request, requests) {
    if (box[0] < 0 || box[1] < 0 || box[2] > W || box[3] > H) return false;
    if (placed.some((p) => overlaps(box, p.box))) return false;
    return !requests.some((r) => r.k !== request.k && contains(box, r.x, r.y));
  }
  function place(requests, W, H, count) {
    const placed = [];
    for (const r of requests) {
      const text = candidateBoxes(r.x, r.y, sizes[r.k][0]), number = candidateBoxes(r.x, r.y, sizes[r.k][1]);
      const steps = [[0, text.slice(0, NEAR), false], [0, text.slice(NEAR), true], [1, number.slice(0, NEAR), false]];
      for (const [form, boxes, lead] of steps) {
        let best = null, fewest = Infinity;
        for (const box of boxes) {
          if (!isFree(box, W, H, placed, r, requests)) continue;
          const c = count(box);
          if (c < fewest) { best = box; fewest = c; }
        }
        if (best) { placed.push({ k: r.k, x: r.x, y: r.y, form: form, box: best, lead: lead }); break; }
      }
    }
    return placed;
  }
  function fromPython(requests, W, H) {  // the page's first labels, when they fit this window
    const placed = [];
    for (const r of requests) {
      const where = D.topics[r.k].place;
      if (!where) continue;
      const [w, h] = sizes[r.k][where[0]];
      const box = around(r.x + where[1], r.y + where[2], w, h);
      if (!isFree(box, W, H, placed, r, requests)) return null;
      placed.push({ k: r.k, x: r.x, y: r.y, form: where[0], box: box, lead: where[3] === 1 });
    }
    return placed;
  }
  function annotation(p) {
    const t = D.topics[p.k];
    const dx = (p.box[0] + p.box[2]) / 2 - p.x, dy = (p.box[1] + p.box[3]) / 2 - p.y;
    const a = {
      x: t.x, y: t.y, text: p.form === 0 ? t.lines.map(esc).join("<br>") : String(t.id),
      captureevents: false, xanchor: "center", yanchor: "middle", align: "center",
      font: { size: FONT, color: "#111", family: FAMILY },
      bgcolor: "rgba(255,255,255,0.8)", bordercolor: t.colour, borderwidth: 1, borderpad: 2,
    };
    if (p.lead) return Object.assign(a, { showarrow: true, ax: dx, ay: dy, axref: "pixel", ayref: "pixel", arrowhead: 0, arrowwidth: 1, arrowcolor: t.colour, standoff: 0 });
    return Object.assign(a, { showarrow: false, xshift: dx, yshift: -dy });
  }

  let candidates = D.topics.map((t, k) => k);  // topics whose labels may show, largest first
  let firstView = true;
  function placeLabels() {
    const full = gd._fullLayout;
    if (!full || !full.xaxis || !full.yaxis) return;
    const xa = full.xaxis, ya = full.yaxis, W = xa._length, H = ya._length;
    const requests = [];
    for (const k of candidates) {
      if (requests.length >= D.nLabels) break;
      const px = xa.l2p(D.topics[k].x), py = ya.l2p(D.topics[k].y);
      if (px >= 0 && py >= 0 && px <= W && py <= H) requests.push({ k: k, x: px, y: py });
    }
    let placed = firstView ? fromPython(requests, W, H) : null;
    document.body.dataset.labels = placed ? "python" : "page";  // whose placement shows, for checks
    if (!placed) placed = place(requests, W, H, pointCounter(xa, ya, W, H));
    firstView = false;
    Plotly.relayout(gd, { annotations: placed.map(annotation) });
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
  const items = Array.from(document.querySelectorAll("#topics li"));
  function markList(matching) {  // the picked topic stands out; a search keeps the topics it matches
    items.forEach((li) => {
      li.classList.toggle("active", li.dataset.k === picker.value);
      li.hidden = matching !== null && !matching.has(Number(li.dataset.k));
    });
  }
  function applyFilter() {
    const q = search.value.trim().toLowerCase();
    const topic = picker.value === "" ? null : Number(picker.value);
    if (!q && topic === null) {
      candidates = D.topics.map((t, k) => k);
      count.textContent = "";
      markList(null);
      Plotly.restyle(gd, { selectedpoints: [null, null] }, [0, 1]).then(placeLabels);
      return;
    }
    const matchedTopics = new Set(), searchedTopics = new Set();
    let total = 0;
    const selections = groups.map((group) => {
      const chosen = [];
      group.rows.forEach((i, position) => {
        const k = D.t[i];
        if (q && !lowerHeadline[i].includes(q) && !(k >= 0 && lowerLabel[k].includes(q))) return;
        if (k >= 0) searchedTopics.add(k);
        if (topic !== null && k !== topic) return;
        chosen.push(position);
        if (k >= 0) matchedTopics.add(k);
      });
      total += chosen.length;
      return chosen;
    });
    candidates = D.topics.map((t, k) => k).filter((k) => matchedTopics.has(k));
    count.textContent = total.toLocaleString() + " of " + n.toLocaleString() + " headlines match";
    markList(q ? searchedTopics : null);
    Plotly.restyle(gd, { selectedpoints: selections }, [0, 1]).then(placeLabels);
  }
  let timer = null;
  search.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(applyFilter, 200); });
  picker.addEventListener("change", applyFilter);
  items.forEach((li) => li.querySelector("button").addEventListener("click", () => {
    picker.value = picker.value === li.dataset.k ? "" : li.dataset.k;  // a second click clears it
    applyFilter();
  }));

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
