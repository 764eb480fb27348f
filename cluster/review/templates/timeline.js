// Draws the timeline from the JSON in #timeline-data: one line per topic, runs along the x axis.
(function () {
  const data = JSON.parse(document.getElementById("timeline-data").textContent);
  const layout = {
    margin: { l: 60, r: 20, t: 10, b: 90 },
    xaxis: { type: "category", tickangle: -45 },
    yaxis: { title: { text: "headlines in the topic" }, rangemode: "tozero" },
    legend: { font: { size: 11 } },
    hovermode: "closest",
  };
  Plotly.newPlot("chart", data.traces, layout, { responsive: true, displaylogo: false });
})();
