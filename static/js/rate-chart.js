// The refund-rate chart of a rate or alert page, from the page's json_script data (no inline script: CSP).
(function () {
  var source = document.getElementById("rate-chart-data");
  var canvas = document.getElementById("rate-chart");
  if (!source || !canvas || typeof Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var rates = data.rates.map(function (value) { return value === null ? null : parseFloat(value); });
  var datasets = [{label: data.rate_label, data: rates, borderColor: "#198754", backgroundColor: "rgba(25,135,84,0.1)", spanGaps: false, pointRadius: 0, tension: 0.2, fill: true}];
  if (data.threshold !== null) {
    var limit = parseFloat(data.threshold);
    datasets.push({label: data.threshold_label, data: data.labels.map(function () { return limit; }), borderColor: "#dc3545", borderDash: [6, 4], pointRadius: 0, fill: false});
  }
  new Chart(canvas, {
    type: "line",
    data: {labels: data.labels, datasets: datasets},
    options: {
      maintainAspectRatio: false, animation: false, interaction: {mode: "index", intersect: false},
      scales: {y: {beginAtZero: true, ticks: {callback: function (value) { return value + "%"; }}}, x: {ticks: {maxTicksLimit: 10}}}
    }
  });
})();
