// Charts drawn by the vendored Apache ECharts (static/vendor/echarts) from data-chart specs the
// server writes (views/charts.py); every chart has its figures as a table below it, so the page
// reads the same without scripts, in print and to a screen reader.
//   <div class="bo-chart" data-chart='{"kind": "bar", "categories": [...], "series": [...]}'>
// kind: bar | hbar | line | pie; series: [{name, data, stack?}]; unit: shown after values;
// threshold: {value, label} drawn as a dashed line (a batch alert's limit).
(function () {
  if (!window.echarts) { return; }
  var palette = ["#1f5fa8", "#d9822b", "#2e8540", "#b3261e", "#6f42c1", "#5a6570", "#0b7f86", "#a05a00"];

  function axisOption(spec) {
    var horizontal = spec.kind === "hbar";
    var categories = {type: "category", data: spec.categories, axisLabel: {interval: 0, hideOverlap: true}};
    var values = {type: "value", minInterval: spec.unit === "%" ? 0 : 1,
                  axisLabel: {formatter: "{value}" + (spec.unit || "")}};
    if (horizontal) { categories.inverse = true; }
    var series = spec.series.map(function (s, i) {
      var out = {name: s.name, type: spec.kind === "line" ? "line" : "bar", data: s.data, stack: s.stack,
                 label: {show: spec.series.length === 1 && spec.categories.length <= 24,
                         position: horizontal ? "right" : "top"}};
      if (i === 0 && spec.threshold) {
        out.markLine = {symbol: "none", silent: true, lineStyle: {type: "dashed", color: "#b3261e"},
                        label: {formatter: spec.threshold.label}, data: [{yAxis: spec.threshold.value}]};
        if (horizontal) { out.markLine.data = [{xAxis: spec.threshold.value}]; }
      }
      return out;
    });
    return {
      color: palette, animation: false, tooltip: {trigger: "axis"},
      legend: spec.series.length > 1 ? {top: 0} : undefined,
      grid: {left: 8, right: 24, top: spec.series.length > 1 ? 32 : 16, bottom: 8, containLabel: true},
      xAxis: horizontal ? values : categories, yAxis: horizontal ? categories : values, series: series
    };
  }

  function pieOption(spec) {
    var s = spec.series[0];
    return {
      color: palette, animation: false, tooltip: {trigger: "item"}, legend: {bottom: 0},
      series: [{name: s.name, type: "pie", radius: ["35%", "65%"], label: {formatter: "{b}: {c}"},
                data: spec.categories.map(function (c, i) { return {name: c, value: s.data[i]}; })}]
    };
  }

  var charts = [];
  document.querySelectorAll(".bo-chart[data-chart]").forEach(function (el) {
    var spec = JSON.parse(el.getAttribute("data-chart"));
    var chart = window.echarts.init(el, null, {renderer: "canvas"});
    chart.setOption(spec.kind === "pie" ? pieOption(spec) : axisOption(spec));
    el.setAttribute("data-chart-ready", "1");
    charts.push(chart);
  });
  function resize() { charts.forEach(function (c) { c.resize(); }); }
  window.addEventListener("resize", resize);
  window.addEventListener("beforeprint", resize);  // print width differs from the screen's
})();
