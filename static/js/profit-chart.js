// The profit overview's chart, from the page's json_script data (no inline script: CSP).
(function () {
  var source = document.getElementById("profit-chart-data");
  var canvas = document.getElementById("profit-chart");
  if (!source || !canvas || typeof Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var number = function (value) { return parseFloat(value); };
  new Chart(canvas, {
    type: "line",
    data: {labels: data.labels, datasets: [
      {label: data.revenue_label, data: data.revenue.map(number), borderColor: "#0d6efd", backgroundColor: "rgba(13,110,253,0.08)", pointRadius: 0, tension: 0.2, fill: true},
      {label: data.net_label, data: data.net.map(number), borderColor: "#198754", pointRadius: 0, tension: 0.2, fill: false}
    ]},
    options: {maintainAspectRatio: false, animation: false, interaction: {mode: "index", intersect: false}, scales: {x: {ticks: {maxTicksLimit: 10}}}}
  });
})();
