/* The console's only script: progressive enhancement, never required to read a page.
 * - A page left open reloads once its session has been idle past the limit, so the
 *   sign-in form replaces the records it showed (the server signs the session out).
 * - Charts: a <canvas data-chart="..."> is drawn with Chart.js from the JSON in the
 *   element named by data-source; the same figures are in a table beside it.
 */
(function () {
  "use strict";

  function scheduleIdleReload() {
    var body = document.body;
    var seconds = parseInt(body.getAttribute("data-idle-seconds") || "0", 10);
    if (!body.hasAttribute("data-signed-in") || !seconds) {
      return;
    }
    window.setTimeout(function () {
      window.location.reload();
    }, (seconds + 2) * 1000);
  }

  function readJSON(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function cravingChart(canvas, data) {
    var lapses = data.days.map(function (day) {
      return day.lapses ? day.peak_intensity : null;
    });
    return new window.Chart(canvas, {
      type: "line",
      data: {
        labels: data.days.map(function (day) { return day.date; }),
        datasets: [
          {
            label: "Mean craving (0-10)",
            data: data.days.map(function (day) { return day.mean_intensity; }),
            borderColor: "#1d4f91",
            backgroundColor: "#1d4f91",
            spanGaps: true,
            tension: 0.2
          },
          {
            label: "Lapse (at the day's peak)",
            data: lapses,
            type: "scatter",
            borderColor: "#a4161a",
            backgroundColor: "#a4161a",
            pointStyle: "triangle",
            pointRadius: 7
          }
        ]
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: { y: { min: 0, max: 10, title: { display: true, text: "Intensity" } } }
      }
    });
  }

  function scoreChart(canvas, data) {
    return new window.Chart(canvas, {
      type: "line",
      data: {
        labels: data.points.map(function (p) { return p.date; }),
        datasets: [{
          label: data.label,
          data: data.points.map(function (p) { return p.value; }),
          borderColor: "#1d4f91",
          backgroundColor: "#1d4f91"
        }]
      },
      options: { animation: false, responsive: true, maintainAspectRatio: false }
    });
  }

  var kinds = { craving: cravingChart, scores: scoreChart };

  function drawCharts() {
    if (!window.Chart) {
      return;
    }
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var draw = kinds[canvas.getAttribute("data-chart")];
      var data = readJSON(canvas.getAttribute("data-source"));
      if (draw && data) {
        canvas.chart = draw(canvas, data);
        canvas.setAttribute("data-drawn", "1");
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    scheduleIdleReload();
    drawCharts();
  });
})();
