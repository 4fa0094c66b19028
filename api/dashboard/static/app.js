// DarkHorses dashboard: REST for state, the websocket for every price change. No build step.
const UK = "Europe/London";
const STALE_AFTER_S = 300;
const STAGES = ["Early Market", "Pre Race", "Going To Post", "At Post", "Off", "Result"];

const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
};

const ukTime = new Intl.DateTimeFormat("en-GB", { timeZone: UK, hour: "2-digit", minute: "2-digit", second: "2-digit" });
const ukHm = new Intl.DateTimeFormat("en-GB", { timeZone: UK, hour: "2-digit", minute: "2-digit" });
const ukZone = new Intl.DateTimeFormat("en-GB", { timeZone: UK, timeZoneName: "short" });
const zoneName = (date) => ukZone.formatToParts(date).find((p) => p.type === "timeZoneName")?.value ?? "";
const fmtPrice = (value) => (value == null ? "–" : Number(value).toFixed(2));
const fmtPct = (value) => (value == null ? "–" : `${(value * 100).toFixed(1)}%`);

function countdown(iso) {
  const seconds = Math.round((new Date(iso) - Date.now()) / 1000);
  const sign = seconds < 0 ? "-" : "";
  const abs = Math.abs(seconds);
  const h = Math.floor(abs / 3600), m = Math.floor((abs % 3600) / 60), s = abs % 60;
  return h ? `${sign}${h}h ${String(m).padStart(2, "0")}m` : `${sign}${m}:${String(s).padStart(2, "0")}`;
}

async function api(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" } });
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new Error(body?.error?.message ?? `${response.status} ${response.statusText}`);
  }
  return (await response.json()).data;
}

function setConnection(text, ok) {
  const badge = $("connection");
  badge.textContent = text;
  badge.className = `badge ${ok ? "ok" : "bad"}`;
}

// ---- clock and countdowns -------------------------------------------------------------------
function tick() {
  const now = new Date();
  $("uk-clock").textContent = ukTime.format(now);
  $("uk-clock").dateTime = now.toISOString();
  $("uk-zone").textContent = zoneName(now);
  for (const node of document.querySelectorAll("[data-countdown]")) node.textContent = countdown(node.dataset.countdown);
}

// ---- Kanban ---------------------------------------------------------------------------------
async function loadKanban() {
  try {
    const board = await api("/v1/races/by-stage");
    renderKanban(board);
    $("kanban-updated").textContent = `updated ${ukTime.format(new Date())}`;
  } catch (error) {
    $("kanban-updated").textContent = `unavailable: ${error.message}`;
  }
}

function renderKanban(board) {
  const byStage = new Map(board.stages.map((s) => [s.stage, s.races]));
  const columns = STAGES.map((stage) => {
    const races = byStage.get(stage) ?? [];
    return el("div", { class: "stage", "data-stage": stage },
      el("h3", {}, stage, el("span", { class: "muted" }, String(races.length))),
      ...races.map(raceCard));
  });
  $("stages").replaceChildren(...columns);
  tick();
}

function raceCard(race) {
  const fav = race.favourite;
  return el("button", { class: "card", "data-race-id": race.race_id, onclick: () => openRace(race.race_id) },
    el("div", {}, el("strong", {}, `${ukHm.format(new Date(race.off_dt))} ${race.course}`)),
    el("div", { class: "when" }, el("span", { "data-countdown": race.off_dt }, countdown(race.off_dt))),
    fav ? el("div", { class: "fav" }, `Fav: ${fav.horse} ${fmtPrice(fav.best_price)}`) : null,
    race.next_stage_change
      ? el("div", { class: "next" }, `next stage ${ukHm.format(new Date(race.next_stage_change))}`)
      : null,
    race.last_update ? el("div", { class: "next" }, `last price ${ukTime.format(new Date(race.last_update))}`) : null);
}

// ---- race view ------------------------------------------------------------------------------
const view = { raceId: null, book: null, cells: new Map(), chartHorse: null, history: [] };

async function openRace(raceId) {
  view.raceId = raceId;
  $("race").hidden = false;
  $("race").dataset.raceId = raceId;
  $("race").scrollIntoView({ behavior: "smooth" });
  try {
    view.book = await api(`/v1/races/${encodeURIComponent(raceId)}/book`);
  } catch (error) {
    $("race-title").textContent = `Race unavailable: ${error.message}`;
    return;
  }
  renderBook();
  live.watch(raceId);
  const favourite = view.book.runners.find((r) => !r.non_runner && r.best_price != null);
  if (favourite) chartRunner(favourite.horse_id);
}

function renderBook() {
  const { race, bookmakers, runners } = view.book;
  $("race-title").textContent = `${ukHm.format(new Date(race.off_dt))} ${race.course} — ${race.race_name}`;
  $("race-meta").textContent = `${race.region} · ${runners.filter((r) => !r.non_runner).length} runners · ${race.status} · off in `;
  $("race-meta").append(el("span", { "data-countdown": race.off_dt }, countdown(race.off_dt)));
  const head = el("tr", {}, el("th", { class: "runner", scope: "col" }, "Runner"),
    el("th", { scope: "col" }, "Best"),
    ...bookmakers.map((b) => el("th", { scope: "col", "data-bookmaker": b.bookmaker_id }, b.bookmaker, freshness(b))));
  $("grid").tHead.replaceChildren(head);
  view.cells.clear();
  const favourite = favouriteId(runners);
  const rows = runners.map((runner) => {
    const nameButton = el("button", { onclick: () => chartRunner(runner.horse_id) }, `${runner.number ?? ""} ${runner.horse}`);
    const nameCell = el("th", { class: "runner", scope: "row" }, nameButton,
      runner.horse_id === favourite ? el("span", { class: "favourite" }, "FAV") : null,
      runner.non_runner ? el("span", { class: "favourite" }, "NR") : null);
    const bestCell = el("td", { "data-best": runner.horse_id }, fmtPrice(runner.best_price));
    const cells = bookmakers.map((b) => {
      const quote = runner.prices[b.bookmaker_id];
      const cell = el("td", { "data-horse": runner.horse_id, "data-bookmaker": b.bookmaker_id }, fmtPrice(quote?.decimal),
        quote?.ew_places ? el("span", { class: "ew" }, `${quote.ew_places} @ 1/${quote.ew_denom}`) : null);
      view.cells.set(`${runner.horse_id}|${b.bookmaker_id}`, { cell, price: quote?.decimal ?? null });
      return cell;
    });
    return el("tr", { class: runner.non_runner ? "nr" : "", "data-horse-row": runner.horse_id }, nameCell, bestCell, ...cells);
  });
  $("grid").tBodies[0].replaceChildren(...rows);
  runners.forEach(highlightBest);
  renderAnalytics();
}

function freshness(bookmaker) {
  if (!bookmaker.last_update) return el("span", { class: "fresh" }, "no prices");
  const age = (Date.now() - new Date(bookmaker.last_update)) / 1000;
  return age > STALE_AFTER_S
    ? el("span", { class: "stale", title: "no price change for over 5 minutes" }, `stale ${Math.round(age / 60)}m`)
    : el("span", { class: "fresh" }, ukHm.format(new Date(bookmaker.last_update)));
}

function favouriteId(runners) {
  const priced = runners.filter((r) => !r.non_runner && r.consensus_price != null);
  priced.sort((a, b) => Number(a.consensus_price) - Number(b.consensus_price));
  return priced[0]?.horse_id;
}

function highlightBest(runner) {
  let best = null;
  for (const b of view.book.bookmakers) {
    const entry = view.cells.get(`${runner.horse_id}|${b.bookmaker_id}`);
    if (entry?.price != null && (best == null || Number(entry.price) > best)) best = Number(entry.price);
  }
  for (const b of view.book.bookmakers) {
    const entry = view.cells.get(`${runner.horse_id}|${b.bookmaker_id}`);
    entry?.cell.classList.toggle("best", best != null && entry.price != null && Number(entry.price) === best);
  }
  const bestCell = document.querySelector(`[data-best="${CSS.escape(runner.horse_id)}"]`);
  if (bestCell) bestCell.textContent = fmtPrice(best);
}

function renderAnalytics() {
  const a = view.book.analytics ?? {};
  const facts = [
    ["Book % (best prices)", a.best_book_percent == null ? "–" : `${a.best_book_percent.toFixed(1)}%`],
    ["Books priced", a.books_priced ?? "–"],
    ["Runners priced", a.runners_priced ?? "–"],
    ["Updates / min", a.update_rate_per_min == null ? "–" : a.update_rate_per_min.toFixed(1)],
    ["Stalest book", a.stalest_bookmaker_id ?? "–"],
  ];
  $("analytics").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, String(v))]));
  const runners = view.book.runners.filter((r) => !r.non_runner);
  const line = (r) => el("li", {}, `${r.horse} ${fmtPrice(r.consensus_price)} (fair ${fmtPct(r.fair_probability)})`);
  $("steamers").replaceChildren(...runners.filter((r) => r.steamer).map(line));
  $("drifters").replaceChildren(...runners.filter((r) => r.drifter).map(line));
  if (!$("steamers").children.length) $("steamers").append(el("li", { class: "muted" }, "none"));
  if (!$("drifters").children.length) $("drifters").append(el("li", { class: "muted" }, "none"));
}

// A price change from the live stream: update the cell, flash it, move the best price.
function applyPrice(raceId, bookmakerId, price, sourceTime) {
  if (raceId !== view.raceId || !view.book) return;
  const entry = view.cells.get(`${price.horse_id}|${bookmakerId}`);
  if (!entry) return;
  const next = price.price ?? price.decimal ?? null;
  const previous = entry.price;
  entry.price = next;
  entry.cell.firstChild.textContent = fmtPrice(next);
  if (previous != null && next != null && Number(previous) !== Number(next)) {
    const cls = Number(next) < Number(previous) ? "flash-up" : "flash-down";
    entry.cell.classList.remove("flash-up", "flash-down");
    void entry.cell.offsetWidth; // restart the animation
    entry.cell.classList.add(cls);
    entry.cell.title = `${Number(next) < Number(previous) ? "shortened" : "lengthened"} from ${fmtPrice(previous)}`;
  }
  const runner = view.book.runners.find((r) => r.horse_id === price.horse_id);
  if (runner) highlightBest(runner);
  const header = document.querySelector(`#grid thead th[data-bookmaker="${CSS.escape(bookmakerId)}"]`);
  if (header && sourceTime) header.lastChild.replaceWith(freshness({ last_update: sourceTime }));
  if (price.horse_id === view.chartHorse && next != null) {
    view.history.push({ t: sourceTime ?? new Date().toISOString(), bookmaker_id: bookmakerId, decimal: next });
    drawChart();
  }
}

// ---- chart ----------------------------------------------------------------------------------
async function chartRunner(horseId) {
  view.chartHorse = horseId;
  const runner = view.book.runners.find((r) => r.horse_id === horseId);
  $("chart-runner").textContent = runner ? runner.horse : horseId;
  try {
    const history = await api(`/v1/races/${encodeURIComponent(view.raceId)}/runners/${encodeURIComponent(horseId)}/history`);
    view.history = history.points;
  } catch {
    view.history = [];
  }
  drawChart();
}

function drawChart() {
  const svg = $("chart");
  const W = 400, H = 220, PAD = 30;
  const byBook = new Map();
  for (const point of view.history) {
    if (!byBook.has(point.bookmaker_id)) byBook.set(point.bookmaker_id, []);
    byBook.get(point.bookmaker_id).push(point);
  }
  const books = [...byBook.entries()].sort((a, b) => b[1].length - a[1].length).slice(0, 3);
  const points = books.flatMap(([, pts]) => pts).filter((p) => p.decimal != null);
  if (!points.length) {
    svg.replaceChildren(svgEl("text", { x: 20, y: 110 }, "no price history yet"));
    return;
  }
  const times = points.map((p) => new Date(p.t).getTime());
  const prices = points.map((p) => Number(p.decimal));
  const [t0, t1] = [Math.min(...times), Math.max(...times) || 1];
  const [p0, p1] = [Math.min(...prices), Math.max(...prices)];
  const x = (t) => PAD + ((t - t0) / Math.max(t1 - t0, 1)) * (W - 2 * PAD);
  const y = (p) => H - PAD - ((p - p0) / Math.max(p1 - p0, 0.01)) * (H - 2 * PAD);
  const colours = ["#ffcc4d", "#6ec6ff", "#c792ea"];
  const lines = books.map(([book, pts], i) => {
    const sorted = [...pts].sort((a, b) => new Date(a.t) - new Date(b.t));
    const path = sorted.map((p, j) => `${j ? "L" : "M"}${x(new Date(p.t).getTime()).toFixed(1)},${y(Number(p.decimal)).toFixed(1)}`).join(" ");
    return [svgEl("path", { d: path, fill: "none", stroke: colours[i], "stroke-width": 2 }),
      svgEl("text", { x: W - PAD - 70, y: 14 + i * 12, fill: colours[i] }, book)];
  }).flat();
  svg.replaceChildren(
    svgEl("text", { x: 2, y: y(p1) + 4 }, fmtPrice(p1)),
    svgEl("text", { x: 2, y: y(p0) + 4 }, fmtPrice(p0)),
    svgEl("text", { x: PAD, y: H - 8 }, ukHm.format(new Date(t0))),
    svgEl("text", { x: W - PAD - 30, y: H - 8 }, ukHm.format(new Date(t1))),
    ...lines);
}

function svgEl(tag, attrs, text) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text != null) node.textContent = text;
  return node;
}

// ---- system panel ---------------------------------------------------------------------------
async function loadSystem() {
  try {
    const health = await api("/v1/statistics/stream");
    const facts = [
      ["Events / s", health.events_per_s?.toFixed(1) ?? "–"],
      ["Consumer lag", health.total_lag ?? "–"],
      ["Last event", health.last_event_time ? ukTime.format(new Date(health.last_event_time)) : "–"],
    ];
    $("stream-health").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, String(v))]));
    $("producers").replaceChildren(...(health.producer_cycles ?? []).map((c) =>
      el("li", {}, `${c.producer} ${ukTime.format(new Date(c.source_time))}: ${c.prices} prices, ${c.errors} errors, ${c.duration_s.toFixed(1)} s`)));
  } catch (error) {
    $("stream-health").replaceChildren(el("dt", {}, "Stream"), el("dd", {}, error.message));
  }
  try {
    const stats = await api("/v1/statistics");
    const live = stats.live?.summary ?? {};
    const historical = stats.historical?.summary ?? {};
    const facts = [
      ["Live prices", live.prices ?? "–"], ["Races priced", live.races ?? "–"],
      ["Bookmakers", live.bookmakers ?? "–"], ["Price changes (1 h)", live.price_changes_last_hour ?? "–"],
      ["Results", historical.races ?? "–"], ["Historical runners", historical.runners ?? "–"],
    ];
    $("stats").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, String(v))]));
  } catch (error) {
    $("stats").replaceChildren(el("dt", {}, "Statistics"), el("dd", {}, error.message));
  }
}

// ---- live feed ------------------------------------------------------------------------------
// The /v1/stream protocol: subscribe to the open race, apply deltas in `seq` order, ask for a
// resync on a gap, and reconnect with the last resume token so nothing is missed.
const live = {
  socket: null, raceId: null, retry: 500, token: null, seq: null,
  watch(raceId) {
    if (this.raceId !== raceId) { this.token = null; this.seq = null; }
    this.raceId = raceId;
    this.connect();
  },
  connect() {
    if (this.socket) { const old = this.socket; this.socket = null; old.close(); }
    if (!this.raceId) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/v1/stream`);
    this.socket = socket;
    socket.onopen = () => {
      this.retry = 500;
      const subscribe = {
        op: "subscribe", id: "race", sub_id: "race", filter: { races: [this.raceId] },
        fields: ["prices", "best", "market"], format: "decimal",
      };
      if (this.token) subscribe.resume_token = this.token;
      socket.send(JSON.stringify(subscribe));
    };
    socket.onmessage = (message) => {
      for (const line of String(message.data).split("\n")) if (line.trim()) onFrame(JSON.parse(line));
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      setConnection("reconnecting…", false);
      setTimeout(() => this.connect(), this.retry);
      this.retry = Math.min(this.retry * 2, 10_000);
    };
  },
  resync(raceId) {
    this.socket?.send(JSON.stringify({ op: "resync", sub_id: "race", race_id: raceId }));
  },
};

function onFrame(frame) {
  if (frame.token) live.token = frame.token;
  switch (frame.type) {
    case "status":
      setConnection("live", true);
      break;
    case "snapshot":
      live.seq = frame.seq;
      for (const price of frame.prices ?? []) applyPrice(frame.race_id, price.bookmaker_id, price, price.source_time);
      break;
    case "delta":
      if (frame.race_id !== view.raceId) break;
      if (live.seq != null && frame.seq <= live.seq) break; // already applied
      if (live.seq != null && frame.prev_seq !== live.seq) { live.resync(frame.race_id); break; }
      live.seq = frame.seq;
      for (const price of frame.prices ?? []) applyPrice(frame.race_id, price.bookmaker_id, price, price.source_time);
      break;
    case "market":
      if (frame.race_id === view.raceId && view.book) {
        view.book.race.status = frame.market?.status ?? view.book.race.status;
        $("race-meta").firstChild.textContent = `${view.book.race.region} · ${view.book.race.status} · off in `;
      }
      break;
    case "heartbeat":
      setConnection(`live · lag ${Math.round(frame.lag_ms ?? 0)} ms`, true);
      break;
    case "reconnect":
      setConnection("server asked to reconnect", false);
      break;
    case "error":
      console.warn("stream error", frame.code, frame.message);
      break;
  }
}

// ---- start ----------------------------------------------------------------------------------
$("race-close").addEventListener("click", () => { $("race").hidden = true; view.raceId = null; });
tick();
setInterval(tick, 1000);
loadKanban();
setInterval(loadKanban, 5000);
loadSystem();
setInterval(loadSystem, 10_000);
fetch("/health").then((r) => r.json()).then((h) => setConnection(h.stream === "ready" ? "stream ready" : "stream starting", h.stream === "ready"))
  .catch(() => setConnection("API unreachable", false));
