// Small SVG charts for the dashboard, drawn from plain numbers (no library).

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attributes = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

// Vertical bars, one per {label, value}; the first and last labels under the axis.
export function barChart(points, { height = 140, unit = "" } = {}) {
  const width = 600;
  const top = 14;
  const bottom = 4;
  const max = Math.max(1, ...points.map((point) => point.value));
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img",
    "aria-label": `${points.length} bars, highest ${max}${unit}` });
  const inner = height - top - bottom;
  const step = width / Math.max(points.length, 1);
  chart.append(svg("line", { x1: 0, y1: top + inner, x2: width, y2: top + inner, class: "axis" }));
  points.forEach((point, index) => {
    const barHeight = (point.value / max) * inner;
    const bar = svg("rect", { x: index * step + step * 0.15, y: top + inner - barHeight, width: step * 0.7,
      height: Math.max(barHeight, point.value > 0 ? 1.5 : 0), rx: 2, class: "bar" });
    const title = svg("title");
    title.textContent = `${point.label}: ${point.value}${unit}`;
    bar.append(title);
    chart.append(bar);
    if (point.value > 0) {
      const label = svg("text", { x: index * step + step / 2, y: top + inner - barHeight - 3, class: "value" });
      label.textContent = String(point.value);
      chart.append(label);
    }
  });
  // The first and last times under the chart, as HTML: SVG text would shrink with the chart on a phone.
  const figure = document.createElement("figure");
  figure.className = "chart-figure";
  const ticks = document.createElement("figcaption");
  ticks.className = "ticks";
  for (const point of [points[0], points.at(-1)]) {
    const tick = document.createElement("span");
    tick.textContent = point?.label ?? "";
    ticks.append(tick);
  }
  figure.append(chart, ticks);
  return figure;
}

// One horizontal bar split by share, with a legend: the strategy mix.
export function shareBar(counts) {
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  const total = entries.reduce((sum, [, value]) => sum + value, 0);
  const wrapper = document.createElement("div");
  wrapper.className = "share";
  const bar = document.createElement("div");
  bar.className = "share-bar";
  const legend = document.createElement("ul");
  legend.className = "legend";
  entries.forEach(([name, value], index) => {
    const part = document.createElement("span");
    part.style.width = `${(100 * value) / total}%`;
    part.className = `part part-${index % 5}`;
    part.title = `${name}: ${value}`;
    bar.append(part);
    const item = document.createElement("li");
    item.innerHTML = `<span class="swatch part-${index % 5}"></span>`;
    item.append(`${name} ${Math.round((100 * value) / total)}% (${value})`);
    legend.append(item);
  });
  wrapper.append(bar, legend);
  return wrapper;
}
