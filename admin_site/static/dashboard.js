// The dashboard's charts (templates/shop/dashboard.html): data from the JSON island #dashboard-data, drawn by
// the vendored Chart.js; a click on a bar opens the list behind it. A file, not an inline script: the CSP
// allows none. Tables under each chart carry the same numbers; printing opens them.
(function () {
  "use strict";
  var island = document.getElementById("dashboard-data");
  if (!island || typeof Chart === "undefined") return;
  var data = JSON.parse(island.textContent);
  var money = new Intl.NumberFormat(undefined, { style: "currency", currency: data.currency, maximumFractionDigits: 0 });
  var exactMoney = new Intl.NumberFormat(undefined, { style: "currency", currency: data.currency });
  var count = new Intl.NumberFormat();
  var css = getComputedStyle(document.documentElement);
  var primary = (css.getPropertyValue("--tblr-primary") || "#206bc4").trim();
  var statusColours = {
    Pending: "#f59f00", Paid: "#206bc4", Shipped: "#4299e1", Delivered: "#2fb344", Cancelled: "#868e96", Refunded: "#d63939"
  };

  function draw(spec, canvas) {
    var colours = spec.key === "orders-by-status"
      ? spec.labels.map(function (label) { return statusColours[label] || primary; })
      : primary;
    var valueAxis = {
      beginAtZero: true,
      ticks: { precision: 0, callback: function (v) { return spec.money ? money.format(v) : count.format(v); } }
    };
    var labelAxis = { ticks: { autoSkip: !spec.horizontal, maxRotation: 0 } };
    if (spec.horizontal) {
      // Long product names: cut on the axis, whole in the tooltip and the table.
      labelAxis.ticks.callback = function (value) {
        var label = this.getLabelForValue(value);
        var room = this.chart.width < 500 ? 16 : 28;  // a phone: a third of the width for the labels at most
        return label.length > room ? label.slice(0, room - 1) + "…" : label;
      };
    }
    return new Chart(canvas, {
      type: "bar",
      data: {
        labels: spec.labels,
        datasets: [{ label: spec.series, data: spec.values, backgroundColor: colours, borderRadius: 3, maxBarThickness: 48 }]
      },
      options: {
        indexAxis: spec.horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              label: function (item) {
                var v = item.parsed[spec.horizontal ? "x" : "y"];
                return spec.series + ": " + (spec.money ? exactMoney.format(v) : count.format(v));
              },
              footer: function () { return "Click to open the list"; }
            }
          }
        },
        scales: spec.horizontal ? { x: valueAxis, y: labelAxis } : { x: labelAxis, y: valueAxis },
        onHover: function (event, elements) {
          event.native.target.style.cursor = elements.length ? "pointer" : "default";
        },
        onClick: function (event, elements) {
          if (elements.length && spec.links[elements[0].index]) window.location.assign(spec.links[elements[0].index]);
        }
      }
    });
  }

  data.charts.forEach(function (spec) {
    var canvas = document.querySelector('canvas[data-chart="' + spec.key + '"]');
    if (canvas) canvas.chart = draw(spec, canvas);
  });

  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details.chart-table").forEach(function (d) { d.open = true; });
    Object.values(Chart.instances).forEach(function (chart) { chart.resize(); });
  });
})();
