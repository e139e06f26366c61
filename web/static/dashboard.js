// The staff dashboard's charts, drawn with Apache ECharts from the page's JSON data block (no inline script: CSP).
document.addEventListener("DOMContentLoaded", () => {
  const data = JSON.parse(document.getElementById("dashboard-data")?.textContent || "{}");
  if (!window.echarts) return;  // the tables stay
  const colours = ["#1a5fb4", "#b3261e", "#8a6d00", "#26734d", "#6b3fa0", "#555"];
  const charts = [];
  for (const box of document.querySelectorAll(".chart[data-chart]")) {
    const spec = data[box.dataset.chart];
    if (!spec || !spec.categories.length) { box.hidden = true; continue; }
    const chart = echarts.init(box, null, { renderer: "svg" });
    let option;
    if (spec.type === "pie") {
      option = { series: [{ type: "pie", radius: ["35%", "65%"], label: { formatter: "{b}: {d}%" },
        data: spec.categories.map((name, i) => ({ name, value: spec.series[0].data[i] })).filter((d) => d.value > 0) }] };
    } else {
      const horizontal = spec.type === "hbar";
      const category = { type: "category", data: spec.categories, axisLabel: { hideOverlap: true } };
      const value = { type: "value", minInterval: 1 };
      option = { xAxis: horizontal ? value : category, yAxis: horizontal ? { ...category, inverse: true } : value,
        grid: { left: horizontal ? 120 : 40, right: 16, top: spec.series.length > 1 ? 32 : 16, bottom: 32, containLabel: !horizontal },
        legend: spec.series.length > 1 ? { top: 0 } : undefined,
        series: spec.series.map((s, i) => ({ type: "bar", name: s.name, data: s.data, stack: spec.type === "stack" ? "all" : undefined,
          // patterns as well as colours: failures are told apart without colour
          itemStyle: i === 1 ? { decal: { symbol: "rect", dashArrayX: [1, 0], dashArrayY: [2, 3], rotation: 0.8 } } : undefined })) };
    }
    chart.setOption({ color: colours, aria: { enabled: true, decal: { show: spec.type === "pie" } },
      tooltip: { trigger: spec.type === "pie" ? "item" : "axis" }, animation: false, ...option });
    charts.push(chart);
  }
  addEventListener("resize", () => charts.forEach((c) => c.resize()));
});
