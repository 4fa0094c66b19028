// A runner's price history as an SVG step chart: time axis, price axis ticks and a colour key.
import { el, svgEl } from "./dom.js";
import { formatOdds, ukHm } from "./format.js";

const W = 400, H = 220, LEFT = 46, RIGHT = 10, TOP = 10, BOTTOM = 26;
const COLOURS = ["#ffcc4d", "#6ec6ff", "#c792ea", "#7ee2a8"];
const MINUTE = 60_000;
const MINUTE_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 240, 480, 720];

// The books charted: the three fixed-odds books that moved most, and the busiest exchange.
function chosenBooks(byBook, nameOf, isExchange) {
  const ranked = [...byBook.entries()].sort((a, b) => b[1].length - a[1].length || a[0].localeCompare(b[0]));
  const fixed = ranked.filter(([id]) => !isExchange(id)).slice(0, 3);
  const exchange = ranked.filter(([id]) => isExchange(id)).slice(0, 1);
  return [...fixed, ...exchange].map(([id, points], i) => ({ id, name: nameOf(id), points, colour: COLOURS[i] }));
}

function niceStep(span, count) {
  const raw = span / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
}

export function drawChart(svg, legend, { history, nameOf, isExchange, format, now = Date.now() }) {
  const byBook = new Map();
  for (const point of history) {
    if (point.decimal == null) continue;
    if (!byBook.has(point.bookmaker_id)) byBook.set(point.bookmaker_id, []);
    byBook.get(point.bookmaker_id).push({ t: Date.parse(point.t), p: Number(point.decimal) });
  }
  const books = chosenBooks(byBook, nameOf, isExchange);
  if (!books.length) {
    svg.replaceChildren(svgEl("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, "no price history yet"));
    legend.replaceChildren();
    return;
  }
  for (const book of books) book.points.sort((a, b) => a.t - b.t);
  const all = books.flatMap((b) => b.points);
  const t1 = Math.max(now, ...all.map((q) => q.t));
  const t0 = Math.min(t1 - 3 * MINUTE, ...all.map((q) => q.t)); // at least three minutes across
  // Price ticks at round steps (which read as plain fractions too), half a step clear of the lines;
  // a flat market still gets a scale about a fifth of its price.
  const low = Math.min(...all.map((q) => q.p)), high = Math.max(...all.map((q) => q.p));
  const pStep = niceStep(Math.max(high - low, low * 0.2, 0.1), 4);
  const p0 = Math.max(1, Math.floor((low - pStep / 2) / pStep) * pStep);
  const p1 = Math.max(Math.ceil((high + pStep / 2) / pStep) * pStep, p0 + 2 * pStep);
  const x = (t) => LEFT + ((t - t0) / (t1 - t0)) * (W - LEFT - RIGHT);
  const y = (p) => H - BOTTOM - ((p - p0) / (p1 - p0)) * (H - TOP - BOTTOM);

  const axes = [];
  for (let p = p0; p <= p1 + pStep / 1000; p += pStep) {
    if (p <= 1) continue;
    axes.push(svgEl("line", { class: "grid-line", x1: LEFT, x2: W - RIGHT, y1: y(p), y2: y(p) }),
      svgEl("text", { class: "tick", x: LEFT - 4, y: y(p) + 3, "text-anchor": "end" }, formatOdds(p, format)));
  }
  // Whole minutes (labels read HH:MM), about four of them.
  const tStep = (MINUTE_STEPS.find((m) => m * MINUTE * 4 >= t1 - t0) ?? 1440) * MINUTE;
  for (let t = Math.ceil(t0 / tStep) * tStep; t <= t1; t += tStep) {
    const anchor = x(t) > W - RIGHT - 16 ? "end" : x(t) < LEFT + 16 ? "start" : "middle";
    axes.push(svgEl("line", { class: "grid-line", x1: x(t), x2: x(t), y1: TOP, y2: H - BOTTOM }),
      svgEl("text", { class: "tick", x: x(t), y: H - BOTTOM + 14, "text-anchor": anchor }, ukHm.format(new Date(t))));
  }
  axes.push(svgEl("line", { class: "axis", x1: LEFT, x2: LEFT, y1: TOP, y2: H - BOTTOM }),
    svgEl("line", { class: "axis", x1: LEFT, x2: W - RIGHT, y1: H - BOTTOM, y2: H - BOTTOM }));

  // A price holds until it changes: steps, extended to now.
  const lines = books.map((book) => {
    const d = book.points.map((q, i) => (i ? `H${x(q.t).toFixed(1)}V${y(q.p).toFixed(1)}` : `M${x(q.t).toFixed(1)},${y(q.p).toFixed(1)}`)).join("");
    return svgEl("path", { d: `${d}H${x(t1).toFixed(1)}`, fill: "none", stroke: book.colour, "stroke-width": 2, "data-bookmaker": book.id },
      null);
  });
  svg.replaceChildren(...axes, ...lines);
  legend.replaceChildren(...books.map((book) => el("li", { "data-bookmaker": book.id },
    el("span", { class: "swatch", style: `background:${book.colour}` }), el("span", { class: "book" }, book.name), " ",
    el("span", { class: "muted" }, `${isExchange(book.id) ? "exchange " : ""}${formatOdds(book.points.at(-1).p, format)}`))));
}
