// The odds grid of one race: runners as rows, bookmakers as columns (fixed-odds books, then the
// exchanges at the right), the runner and best-price columns held in place while it scrolls.
import { el } from "./dom.js";
import { ago, fmtMove, formatOdds, learnFractional } from "./format.js";

const cellKey = (horseId, bookmakerId) => `${horseId}|${bookmakerId}`;
// Times arrive as ISO text in two spellings (REST: Z, stream: +00:00): compared as instants.
const later = (a, b) => a != null && (b == null || Date.parse(a) > Date.parse(b));

export class RaceGrid {
  constructor(table, { onChart }) {
    this.table = table;
    this.onChart = onChart;
    this.format = "fractional";
    this.hidden = new Set();
    this.staleAfterS = 300;
    this.books = []; // {id, name, type, exchange, lastUpdate, ew}
    this.runners = [];
    this.prices = new Map(); // horse|book -> {decimal, time}, every book, shown or not
    this.cells = new Map(); // horse|book -> <td>, shown books only
    this.structure = "";
  }

  // A whole book from the REST API.
  load(book) {
    this.books = book.bookmakers.map((b) => ({
      id: b.bookmaker_id, name: b.bookmaker, type: b.type ?? "fixed", exchange: b.type === "exchange",
      lastUpdate: b.last_update, ew: null,
    }));
    // Fixed-odds books first (by name, as the API lists them), then the exchanges.
    this.books.sort((a, b) => Number(a.exchange) - Number(b.exchange));
    this.prices.clear();
    this.runners = book.runners;
    for (const runner of book.runners) this.takeQuotes(runner, true);
    this.structure = structureOf(book);
    this.render();
  }

  // A later book of the same race: analytics and marks refreshed, prices newer than ours taken;
  // a book or runner added (or a non-runner declared) rebuilds the grid.
  refresh(book) {
    if (structureOf(book) !== this.structure) {
      this.load(book);
      return;
    }
    this.runners = book.runners;
    for (const b of book.bookmakers) {
      const ours = this.books.find((x) => x.id === b.bookmaker_id);
      if (ours && later(b.last_update, ours.lastUpdate)) ours.lastUpdate = b.last_update;
    }
    for (const runner of book.runners) {
      for (const [bookmakerId, price] of this.takeQuotes(runner, false)) this.applyPrice(runner.horse_id, bookmakerId, price.decimal, price.time);
      const row = this.table.querySelector(`tr[data-horse-row="${CSS.escape(runner.horse_id)}"]`);
      row?.firstChild.replaceWith(this.runnerCell(runner));
      row?.classList.toggle("steamer", runner.steamer);
      row?.classList.toggle("drifter", runner.drifter);
    }
    this.updateFreshness();
  }

  // Records a runner's quotes; returns those newer than what the grid holds (when not `all`).
  takeQuotes(runner, all) {
    const newer = [];
    for (const [bookmakerId, quote] of Object.entries(runner.prices)) {
      learnFractional(quote.decimal, quote.fractional);
      const book = this.books.find((b) => b.id === bookmakerId);
      if (book && !book.ew && quote.ew_places) book.ew = `${quote.ew_places} places at 1/${quote.ew_denom}`;
      const held = this.prices.get(cellKey(runner.horse_id, bookmakerId));
      const price = { decimal: quote.decimal, time: quote.source_time };
      if (all) this.prices.set(cellKey(runner.horse_id, bookmakerId), price);
      else if (!held || (later(quote.source_time, held.time) && Number(quote.decimal) !== Number(held.decimal))) newer.push([bookmakerId, price]);
    }
    return newer;
  }

  // Nothing shown (another race is on its way): no row of the last race lingers under its title.
  clear() {
    this.books = [];
    this.runners = [];
    this.prices.clear();
    this.cells.clear();
    this.structure = "";
    this.table.tHead.replaceChildren();
    this.table.tBodies[0].replaceChildren();
  }

  shownBooks() {
    return this.books.filter((b) => !this.hidden.has(b.id));
  }

  render() {
    const shown = this.shownBooks();
    const fixed = shown.filter((b) => !b.exchange), exchanges = shown.filter((b) => b.exchange);
    const groups = el("tr", { class: "groups" },
      el("th", { class: "runner", scope: "col", rowspan: 2 }, "Runner"),
      el("th", { class: "best-col", scope: "col", rowspan: 2, title: "Best fixed-odds price among the bookmakers shown" }, "Best"),
      el("th", { class: "exch-col", scope: "col", rowspan: 2, title: "Best exchange back price (not counted as best)" }, "Exch"),
      fixed.length ? el("th", { class: "group", colspan: fixed.length, scope: "colgroup" }, `Bookmakers (${fixed.length})`) : null,
      exchanges.length ? el("th", { class: "group exchange", colspan: exchanges.length, scope: "colgroup" }, "Exchanges") : null);
    const edge = (b) => (b === exchanges[0] ? " exchange edge" : b.exchange ? " exchange" : "");
    const names = el("tr", { class: "books" }, ...shown.map((b) => el("th", {
      scope: "col", class: `book${edge(b)}`, "data-bookmaker": b.id, "data-type": b.type,
      title: `${b.name}${b.exchange ? " (exchange)" : ""}${b.ew ? ` · each way ${b.ew}` : ""}`,
    }, el("span", { class: "name" }, b.name), el("span", { class: "fresh", "data-last-update": b.lastUpdate ?? "" }))));
    this.table.tHead.replaceChildren(groups, names);
    this.cells.clear();
    const favourite = favouriteId(this.runners);
    const rows = this.runners.map((runner) => {
      const cells = shown.map((b) => {
        const price = this.prices.get(cellKey(runner.horse_id, b.id));
        const cell = el("td", {
          class: `price${edge(b)}`, "data-horse": runner.horse_id, "data-bookmaker": b.id,
          "data-type": b.type, "data-decimal": price?.decimal ?? "",
        }, formatOdds(price?.decimal, this.format));
        this.cells.set(cellKey(runner.horse_id, b.id), cell);
        return cell;
      });
      const classes = [runner.non_runner && "nr", runner.steamer && "steamer", runner.drifter && "drifter"].filter(Boolean);
      return el("tr", { class: classes.join(" "), "data-horse-row": runner.horse_id },
        this.runnerCell(runner, favourite),
        el("td", { class: "best-col", "data-best": runner.horse_id, "data-decimal": "" }, "–"),
        el("td", { class: "exch-col", "data-exch": runner.horse_id, "data-decimal": "" }, "–"),
        ...cells);
    });
    this.table.tBodies[0].replaceChildren(...rows);
    for (const runner of this.runners) this.updateBest(runner.horse_id);
    this.updateFreshness();
  }

  runnerCell(runner, favourite = favouriteId(this.runners)) {
    const name = `${runner.number ?? ""} ${runner.horse}`.trim();
    let mark = null;
    if (runner.steamer || runner.drifter) {
      const what = runner.steamer ? "Steamer: price shortening" : "Drifter: price lengthening";
      const detail = [runner.move_15m != null && `${fmtMove(runner.move_15m)} in 15 min`,
        runner.move_since_open != null && `${fmtMove(runner.move_since_open)} since the open`].filter(Boolean).join(", ");
      mark = el("span", { class: `mark ${runner.steamer ? "steamer" : "drifter"}`, title: `${what}${detail ? ` (${detail})` : ""}`,
        "aria-label": runner.steamer ? "steamer" : "drifter" }, runner.steamer ? "▲" : "▼");
    }
    return el("th", { class: "runner", scope: "row" }, el("div", { class: "runner-in" },
      el("button", { class: "name", title: `Chart ${runner.horse}`, onclick: () => this.onChart(runner.horse_id) }, name),
      mark,
      runner.horse_id === favourite ? el("span", { class: "tag fav", title: "Favourite (shortest consensus price)" }, "F") : null,
      runner.non_runner ? el("span", { class: "tag", title: "Non-runner" }, "NR") : null));
  }

  // A price change (from the stream, or a newer REST quote): the cell, its flash, the best prices.
  applyPrice(horseId, bookmakerId, decimal, time, flash = true) {
    const k = cellKey(horseId, bookmakerId);
    const previous = this.prices.get(k)?.decimal ?? null;
    this.prices.set(k, { decimal, time });
    const book = this.books.find((b) => b.id === bookmakerId);
    if (book && later(time, book.lastUpdate)) book.lastUpdate = time;
    const cell = this.cells.get(k);
    if (cell) {
      cell.dataset.decimal = decimal ?? "";
      cell.textContent = formatOdds(decimal, this.format);
      if (flash && previous != null && decimal != null && Number(previous) !== Number(decimal)) {
        const shortened = Number(decimal) < Number(previous);
        cell.classList.remove("flash-up", "flash-down");
        void cell.offsetWidth; // restart the animation
        cell.classList.add(shortened ? "flash-up" : "flash-down");
        cell.title = `${shortened ? "shortened" : "lengthened"} from ${formatOdds(previous, this.format)}`;
      }
      const header = this.table.tHead.querySelector(`th[data-bookmaker="${CSS.escape(bookmakerId)}"] .fresh`);
      if (header && book?.lastUpdate) header.dataset.lastUpdate = book.lastUpdate;
    }
    this.updateBest(horseId);
  }

  // Best = the longest fixed-odds price among the books shown, marked on every book offering it;
  // the best exchange price sits beside it and is never marked as best.
  updateBest(horseId) {
    let best = null, bestBooks = [], exch = null, exchBooks = [];
    const shown = this.shownBooks();
    for (const b of shown) {
      const decimal = this.prices.get(cellKey(horseId, b.id))?.decimal;
      if (decimal == null) continue;
      const value = Number(decimal);
      if (b.exchange) {
        if (exch == null || value > exch) [exch, exchBooks] = [value, [b.name]];
        else if (value === exch) exchBooks.push(b.name);
      } else if (best == null || value > best) [best, bestBooks] = [value, [b.name]];
      else if (value === best) bestBooks.push(b.name);
    }
    for (const b of shown) {
      const cell = this.cells.get(cellKey(horseId, b.id));
      if (!cell) continue;
      const decimal = this.prices.get(cellKey(horseId, b.id))?.decimal;
      cell.classList.toggle("best", !b.exchange && best != null && decimal != null && Number(decimal) === best);
    }
    const row = this.table.querySelector(`tr[data-horse-row="${CSS.escape(horseId)}"]`);
    if (!row) return;
    const bestCell = row.querySelector("td.best-col"), exchCell = row.querySelector("td.exch-col");
    bestCell.dataset.decimal = best ?? "";
    bestCell.textContent = formatOdds(best, this.format);
    bestCell.title = best == null ? "" : `Best fixed odds: ${bestBooks.join(", ")}`;
    exchCell.dataset.decimal = exch ?? "";
    exchCell.textContent = formatOdds(exch, this.format);
    exchCell.title = exch == null ? "" : `Exchange: ${exchBooks.join(", ")}`;
  }

  setFormat(format) {
    this.format = format;
    for (const cell of this.table.querySelectorAll("td[data-decimal]")) cell.textContent = formatOdds(cell.dataset.decimal || null, format);
  }

  setHidden(hidden) {
    this.hidden = new Set(hidden);
    if (this.books.length) this.render();
  }

  // Book headers: how long since each last priced; a badge once that exceeds the stale time.
  updateFreshness(now = Date.now()) {
    for (const badge of this.table.tHead.querySelectorAll(".fresh")) {
      const last = badge.dataset.lastUpdate;
      if (!last) {
        badge.textContent = "no prices";
        continue;
      }
      const stale = (now - new Date(last)) / 1000 > this.staleAfterS;
      badge.classList.toggle("stale", stale);
      badge.textContent = stale ? `stale ${ago(last, now)}` : `${ago(last, now)} ago`;
      badge.title = stale ? `no price for over ${Math.round(this.staleAfterS / 60)} min` : "";
    }
  }

  nameOf(bookmakerId) {
    return this.books.find((b) => b.id === bookmakerId)?.name;
  }
}

function structureOf(book) {
  const books = book.bookmakers.map((b) => b.bookmaker_id).sort().join(",");
  const runners = book.runners.map((r) => `${r.horse_id}${r.non_runner ? "!" : ""}`).join(",");
  return `${books}/${runners}`;
}

export function favouriteId(runners) {
  const priced = runners.filter((r) => !r.non_runner && r.consensus_price != null);
  priced.sort((a, b) => Number(a.consensus_price) - Number(b.consensus_price));
  return priced[0]?.horse_id;
}

// The column chooser: a checkbox per book, grouped like the grid; `onChange(hiddenIds)`.
export function renderChooser(container, books, hidden, onChange) {
  const group = (title, list) => list.length ? el("fieldset", {}, el("legend", {}, title), ...list.map((b) =>
    el("label", {}, el("input", {
      type: "checkbox", value: b.id, checked: !hidden.has(b.id),
      onchange: (event) => {
        if (event.target.checked) hidden.delete(b.id);
        else hidden.add(b.id);
        onChange(hidden);
      },
    }), ` ${b.name}`))) : null;
  const setAll = (show) => () => {
    for (const b of books) if (show) hidden.delete(b.id); else hidden.add(b.id);
    onChange(hidden);
  };
  container.replaceChildren(
    el("div", { class: "chooser-actions" },
      el("button", { type: "button", class: "ghost", onclick: setAll(true) }, "Show all"),
      el("button", { type: "button", class: "ghost", onclick: setAll(false) }, "Hide all")),
    group("Bookmakers", books.filter((b) => !b.exchange)),
    group("Exchanges", books.filter((b) => b.exchange)));
}
