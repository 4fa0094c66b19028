// DarkHorses dashboard: REST for state, the websocket for every price change. No build step.
// Routes: `#/` the races, `#/race/{race_id}` one race (back, forward and reload keep the view).
import { AuthRequired, api, apiKey, setApiKey } from "./api.js";
import { drawChart } from "./chart.js";
import { $, el, facts } from "./dom.js";
import { FORMATS, ago, fmtMove, fmtPct, formatOdds, formatSp, raceClock, ukHm, ukTime, zoneName } from "./format.js";
import { RaceGrid, renderChooser } from "./grid.js";
import { prefs } from "./prefs.js";

const STAGES = ["Early Market", "Pre Race", "Going To Post", "At Post", "Off", "Result"];
const ORDINAL = ["", "1st", "2nd", "3rd", "4th", "5th", "6th"];

const state = {
  format: FORMATS.includes(prefs.get("format")) ? prefs.get("format") : "fractional",
  hidden: new Set(prefs.get("hiddenBooks")),
  registry: new Map(), // bookmaker id -> {name, type}, from /v1/bookmakers
  board: null,
  movers: { steamers: [], drifters: [] },
  results: new Map(), // race id -> result with runners
  raceId: null,
  book: null,
  chartHorse: null,
  history: [],
};

const grid = new RaceGrid($("grid"), { onChart: (horseId) => chartRunner(horseId) });
grid.format = state.format;
grid.hidden = state.hidden;
grid.staleAfterS = Number(prefs.get("staleAfterMin")) * 60;

const nameOf = (id) => grid.nameOf(id) ?? state.registry.get(id)?.name ?? id;
const isExchange = (id) => (grid.books.find((b) => b.id === id)?.type ?? state.registry.get(id)?.type) === "exchange";
const raceHref = (raceId) => `#/race/${encodeURIComponent(raceId)}`;
const odds = (decimal) => el("span", { class: "odds", "data-decimal": decimal ?? "" }, formatOdds(decimal, state.format));

function setConnection(text, ok) {
  const badge = $("connection");
  badge.textContent = text;
  badge.className = `badge ${ok ? "ok" : "bad"}`;
}

function needKey(error) {
  if (!(error instanceof AuthRequired)) return false;
  $("key-form").hidden = false;
  setConnection(apiKey() ? "API key refused" : "API key required", false);
  return true;
}

// ---- clock and countdowns -------------------------------------------------------------------
function tick() {
  const now = new Date();
  $("uk-clock").textContent = ukTime.format(now);
  $("uk-clock").dateTime = now.toISOString();
  $("uk-zone").textContent = zoneName(now);
  for (const node of document.querySelectorAll("[data-off]")) {
    node.textContent = raceClock({ off_dt: node.dataset.off, status: node.dataset.status }, now);
  }
  grid.updateFreshness(now.getTime());
  if (state.book) renderStalest();
}

// ---- Kanban ---------------------------------------------------------------------------------
async function loadKanban() {
  try {
    state.board = await api("/v1/races/by-stage");
    await loadResults(state.board.stages.find((s) => s.stage === "Result")?.races.map((r) => r.race_id) ?? []);
    renderKanban();
    $("kanban-updated").textContent = `updated ${ukTime.format(new Date())}`;
  } catch (error) {
    if (!needKey(error)) $("kanban-updated").textContent = `unavailable: ${error.message}`;
  }
}

// Results of these races, fetched once each; only those the API lists (no 404s while a result
// is on its way to the database).
async function loadResults(raceIds) {
  const wanted = raceIds.filter((id) => !state.results.has(id));
  if (!wanted.length) return;
  const since = new Date(Date.now() - 36 * 3600_000).toISOString().slice(0, 10);
  const listed = new Set((await api(`/v1/results?from=${since}&limit=500&sort=-off_dt`)).map((r) => r.race_id));
  await Promise.all(wanted.filter((id) => listed.has(id)).map(async (id) => {
    state.results.set(id, await api(`/v1/results/${encodeURIComponent(id)}`));
  }));
}

function renderKanban() {
  if (!state.board) return;
  const focused = document.activeElement?.closest?.(".card")?.dataset.raceId;
  const byStage = new Map(state.board.stages.map((s) => [s.stage, s.races]));
  const columns = STAGES.map((stage) => {
    const races = byStage.get(stage) ?? [];
    return el("div", { class: "stage", "data-stage": stage },
      el("h3", {}, stage, el("span", { class: "muted" }, String(races.length))),
      ...races.map(raceCard));
  });
  $("stages").replaceChildren(...columns);
  if (focused) document.querySelector(`.card[data-race-id="${CSS.escape(focused)}"]`)?.focus();
  tick();
}

const clockOf = (race) => el("span", { class: "when", "data-off": race.off_dt, "data-status": race.status }, raceClock(race));

function raceCard(race) {
  const result = state.results.get(race.race_id);
  const lines = [];
  if (race.stage === "Result" || race.status === "result") {
    if (result) {
      const [winner, ...placed] = placings(result);
      if (winner) lines.push(el("div", { class: "winner" }, "1st ", el("strong", {}, winner.horse), " ", el("span", { class: "sp" }, formatSp(winner, state.format))));
      if (placed.length) lines.push(el("div", { class: "placed" }, placed.map((r) => `${ORDINAL[r.finished] ?? r.position} ${r.horse}`).join(" · ")));
    } else {
      lines.push(el("div", { class: "next" }, "result due"));
    }
  } else if (race.favourite) {
    lines.push(el("div", { class: "fav" }, `Fav ${race.favourite.horse} `, odds(race.favourite.consensus_price ?? race.favourite.best_price)));
  }
  if (race.next_stage_change) lines.push(el("div", { class: "next" }, `next stage ${ukHm.format(new Date(race.next_stage_change))}`));
  return el("a", {
    class: `card${race.race_id === state.raceId ? " selected" : ""}`, href: raceHref(race.race_id), "data-race-id": race.race_id,
    "aria-current": race.race_id === state.raceId ? "page" : null,
  },
  el("div", { class: "card-head" }, el("strong", {}, `${ukHm.format(new Date(race.off_dt))} ${race.course}`), clockOf(race)),
  ...lines);
}

// Finishers in the places: the winner, then the placed horses (each-way places, at least 3).
function placings(result) {
  const places = Math.max(result.ew_places ?? 0, 3);
  return (result.runners ?? []).filter((r) => r.finished != null && r.finished <= places).sort((a, b) => a.finished - b.finished);
}

// ---- movers across races --------------------------------------------------------------------
async function loadMovers() {
  const span = prefs.get("moversWindow");
  try {
    const [steamers, drifters] = await Promise.all(["steamers", "drifters"].map((direction) =>
      api(`/v1/movers?window=${encodeURIComponent(span)}&direction=${direction}&limit=8`)));
    state.movers = { steamers, drifters };
    renderMovers();
  } catch (error) {
    if (!needKey(error)) $("movers-steamers").replaceChildren(el("li", { class: "muted" }, `unavailable: ${error.message}`));
  }
}

function renderMovers() {
  for (const direction of ["steamers", "drifters"]) {
    const list = state.movers[direction];
    $(`movers-${direction}`).replaceChildren(...(list.length ? list.map((m) => el("li", { "data-race-id": m.race_id },
      el("a", { href: raceHref(m.race_id) }, `${ukHm.format(new Date(m.off_dt))} ${m.course}`), " ",
      el("strong", {}, m.horse), " ", odds(m.opening_consensus_price), " → ", odds(m.consensus_price), " ",
      el("span", { class: direction === "steamers" ? "steamer-text" : "drifter-text" }, fmtMove(m.move))))
      : [el("li", { class: "muted" }, "none")]));
  }
}

// ---- race view ------------------------------------------------------------------------------
async function openRace(raceId) {
  const fresh = state.raceId !== raceId;
  state.raceId = raceId;
  document.body.classList.add("race-open");
  $("race").hidden = false;
  $("race").dataset.raceId = raceId;
  renderKanban();
  if (fresh) {
    state.book = null;
    $("race-title").textContent = "Loading…";
    $("race-facts").textContent = "";
    $("race-clock").replaceChildren();
    grid.clear();
    $("result").hidden = true;
    $("chooser").open = false;
  }
  let book;
  try {
    book = await api(`/v1/races/${encodeURIComponent(raceId)}/book`);
  } catch (error) {
    if (!needKey(error)) $("race-title").textContent = `Race unavailable: ${error.message}`;
    return;
  }
  if (state.raceId !== raceId) return; // the viewer has moved on
  state.book = book;
  grid.load(book);
  renderRace();
  live.watch(raceId);
  if (fresh) {
    $("grid-wrap").scrollLeft = 0;
    window.scrollTo({ top: 0 }); // the race is the page's first section
    const favourite = book.runners.filter((r) => !r.non_runner && r.consensus_price != null)
      .sort((a, b) => Number(a.consensus_price) - Number(b.consensus_price))[0];
    if (favourite) chartRunner(favourite.horse_id);
  }
}

function closeRace() {
  state.raceId = null;
  state.book = null;
  document.body.classList.remove("race-open");
  $("race").hidden = true;
  delete $("race").dataset.raceId;
  live.stop();
  renderKanban();
}

async function refreshRace() {
  const raceId = state.raceId;
  if (!raceId || !state.book) return;
  try {
    const book = await api(`/v1/races/${encodeURIComponent(raceId)}/book`);
    if (state.raceId !== raceId) return;
    state.book = book;
    grid.refresh(book);
    renderRace();
  } catch (error) {
    needKey(error);
  }
}

function renderRace() {
  const { race, runners } = state.book;
  $("race-title").textContent = `${ukHm.format(new Date(race.off_dt))} ${race.course} — ${race.race_name}`;
  const running = runners.filter((r) => !r.non_runner).length;
  $("race-facts").textContent = [race.region, race.race_type, race.going, `${running} runners`, race.status].filter(Boolean).join(" · ");
  $("race-clock").replaceChildren(clockOf(race));
  renderChooserControl();
  renderAnalytics();
  renderResult();
}

function renderChooserControl() {
  const shown = grid.books.filter((b) => !state.hidden.has(b.id)).length;
  $("chooser-count").textContent = `${shown}/${grid.books.length}`;
  renderChooser($("chooser-body"), grid.books, state.hidden, (hidden) => {
    prefs.set("hiddenBooks", [...hidden]);
    grid.setHidden(hidden);
    renderChooserControl();
  });
}

function renderAnalytics() {
  const a = state.book.analytics ?? {};
  $("analytics").replaceChildren(...facts([
    ["Book % (best prices)", a.best_book_percent == null ? null : `${a.best_book_percent.toFixed(1)}%`],
    ["Books priced", a.books_priced],
    ["Runners priced", a.runners_priced],
    ["Updates / min", a.update_rate_per_min == null ? null : a.update_rate_per_min.toFixed(1)],
    ["Stalest book", el("span", { id: "stalest" })],
  ]));
  renderStalest();
  const runners = state.book.runners.filter((r) => !r.non_runner);
  const line = (r) => el("li", {}, `${r.horse} `, odds(r.consensus_price), ` ${fmtMove(r.move_15m)} · fair ${fmtPct(r.fair_probability)}`);
  for (const [id, flag] of [["steamers", "steamer"], ["drifters", "drifter"]]) {
    const list = runners.filter((r) => r[flag]);
    $(id).replaceChildren(...(list.length ? list.map(line) : [el("li", { class: "muted" }, "none")]));
  }
}

function renderStalest() {
  const node = $("stalest");
  const id = state.book?.analytics?.stalest_bookmaker_id;
  if (!node) return;
  if (!id) {
    node.textContent = "–";
    return;
  }
  const last = grid.books.find((b) => b.id === id)?.lastUpdate;
  node.textContent = last ? `${nameOf(id)} (${ago(last)} ago)` : nameOf(id);
}

async function renderResult() {
  const race = state.book?.race;
  if (!race || race.status !== "result") {
    $("result").hidden = true;
    return;
  }
  if (!state.results.has(race.race_id)) {
    try {
      await loadResults([race.race_id]);
    } catch (error) {
      needKey(error);
    }
  }
  const result = state.results.get(race.race_id);
  if (!result || state.raceId !== race.race_id) return;
  const rows = placings(result).map((r) => el("li", { class: r.finished === 1 ? "winner" : "placed", "data-horse": r.horse_id },
    el("span", { class: "pos" }, ORDINAL[r.finished] ?? r.position), " ", el("strong", {}, r.horse), " ",
    el("span", { class: "sp" }, `SP ${formatSp(r, state.format)}`)));
  const fallers = (result.runners ?? []).filter((r) => r.finished == null).map((r) => `${r.horse} (${r.position})`);
  $("result").replaceChildren(
    el("h3", { id: "result-title" }, "Result"),
    el("ol", { class: "placings" }, ...rows),
    el("p", { class: "muted small" }, [`${result.field_size} ran`,
      result.ew_places ? `each way ${result.ew_fraction ?? ""} ${result.ew_places} places` : null,
      fallers.length ? `also: ${fallers.join(", ")}` : null].filter(Boolean).join(" · ")));
  $("result").hidden = false;
}

// ---- chart ----------------------------------------------------------------------------------
async function chartRunner(horseId) {
  const raceId = state.raceId;
  state.chartHorse = horseId;
  const runner = state.book?.runners.find((r) => r.horse_id === horseId);
  $("chart-runner").textContent = runner ? runner.horse : horseId;
  try {
    const history = await api(`/v1/races/${encodeURIComponent(raceId)}/runners/${encodeURIComponent(horseId)}/history`);
    if (state.raceId !== raceId || state.chartHorse !== horseId) return;
    state.history = history.points;
  } catch (error) {
    needKey(error);
    state.history = [];
  }
  redrawChart();
}

let chartPending = false;
function redrawChart() {
  if (chartPending) return;
  chartPending = true;
  requestAnimationFrame(() => {
    chartPending = false;
    drawChart($("chart"), $("chart-legend"), { history: state.history, nameOf, isExchange, format: state.format });
  });
}

// ---- system panel ---------------------------------------------------------------------------
async function loadSystem() {
  try {
    const health = await api("/v1/statistics/stream");
    $("stream-health").replaceChildren(...facts([
      ["Events / s", health.events_per_s?.toFixed(1)],
      ["Consumer lag", health.total_lag],
      ["Last event", health.last_event_time ? ukTime.format(new Date(health.last_event_time)) : null],
    ].map(([k, v]) => [k, v == null ? null : String(v)])));
    $("producers").replaceChildren(...(health.producer_cycles ?? []).map((c) =>
      el("li", {}, `${c.producer} ${ukTime.format(new Date(c.source_time))}: ${c.prices} prices, ${c.errors} errors, ${c.duration_s.toFixed(1)} s`)));
  } catch (error) {
    if (!needKey(error)) $("stream-health").replaceChildren(...facts([["Stream", error.message]]));
  }
  try {
    const stats = await api("/v1/statistics");
    const live = stats.live?.summary ?? {}, historical = stats.historical?.summary ?? {};
    $("stats").replaceChildren(...facts([
      ["Live prices", live.prices], ["Races priced", live.races],
      ["Bookmakers", live.bookmakers], ["Price changes (1 h)", live.price_changes_last_hour],
      ["Results", historical.races], ["Historical runners", historical.runners],
    ].map(([k, v]) => [k, v == null ? null : String(v)])));
  } catch (error) {
    if (!needKey(error)) $("stats").replaceChildren(...facts([["Statistics", error.message]]));
  }
}

async function loadRegistry() {
  try {
    for (const b of await api("/v1/bookmakers?limit=500")) state.registry.set(b.bookmaker_id, { name: b.name, type: b.type });
  } catch (error) {
    needKey(error);
  }
}

// ---- live feed ------------------------------------------------------------------------------
// The /v1/stream protocol: subscribe to the open race, apply deltas in `seq` order, ask for a
// resync on a gap, and reconnect with the last resume token so nothing is missed.
const live = {
  socket: null, raceId: null, retry: 500, token: null, seq: null,
  watch(raceId) {
    if (this.raceId === raceId && this.socket) return;
    if (this.raceId !== raceId) { this.token = null; this.seq = null; }
    this.raceId = raceId;
    this.connect();
  },
  stop() {
    this.raceId = null;
    if (this.socket) { const old = this.socket; this.socket = null; old.close(); }
  },
  connect() {
    if (this.socket) { const old = this.socket; this.socket = null; old.close(); }
    if (!this.raceId) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/v1/stream`);
    this.socket = socket;
    socket.onopen = () => {
      this.retry = 500;
      const key = apiKey();
      if (key) socket.send(JSON.stringify({ op: "auth", id: "auth", api_key: key }));
      const subscribe = {
        op: "subscribe", id: "race", sub_id: "race", filter: { races: [this.raceId] },
        fields: ["prices", "market"], format: "decimal",
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

function applyPrices(frame, flash) {
  if (frame.race_id !== state.raceId || !state.book) return;
  let charted = false;
  for (const price of frame.prices ?? []) {
    grid.applyPrice(price.horse_id, price.bookmaker_id, price.price ?? null, price.source_time, flash);
    if (flash && price.horse_id === state.chartHorse && price.price != null) {
      state.history.push({ t: price.source_time ?? new Date().toISOString(), bookmaker_id: price.bookmaker_id, decimal: price.price });
      charted = true;
    }
  }
  if (charted) redrawChart();
}

function onFrame(frame) {
  if (frame.token) live.token = frame.token;
  switch (frame.type) {
    case "status":
      setConnection("live", true);
      break;
    case "snapshot":
      live.seq = frame.seq;
      applyPrices(frame, false);
      break;
    case "delta":
      if (frame.race_id !== state.raceId) break;
      if (live.seq != null && frame.seq <= live.seq) break; // already applied
      if (live.seq != null && frame.prev_seq !== live.seq) { live.resync(frame.race_id); break; }
      live.seq = frame.seq;
      applyPrices(frame, true);
      break;
    case "market":
      if (frame.race_id === state.raceId && state.book && frame.market?.status) {
        state.book.race.status = frame.market.status;
        renderRace();
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

// ---- routing and controls -------------------------------------------------------------------
function route() {
  const match = location.hash.match(/^#\/race\/([^/?#]+)$/);
  if (match) openRace(decodeURIComponent(match[1]));
  else if (state.raceId) closeRace();
}

function applyFormat(format) {
  state.format = format;
  prefs.set("format", format);
  for (const input of document.querySelectorAll("input[name=format]")) input.checked = input.value === format;
  grid.setFormat(format);
  for (const node of document.querySelectorAll(".odds[data-decimal]")) node.textContent = formatOdds(node.dataset.decimal || null, format);
  renderKanban();
  renderMovers();
  if (state.book) renderResult();
  redrawChart();
}

function applyDensity(density) {
  prefs.set("density", density);
  document.body.classList.toggle("compact", density === "compact");
  $("density").textContent = density === "compact" ? "Compact" : "Comfortable";
  $("density").setAttribute("aria-pressed", String(density === "compact"));
}

function start() {
  for (const input of document.querySelectorAll("input[name=format]")) {
    input.checked = input.value === state.format;
    input.addEventListener("change", () => applyFormat(input.value));
  }
  applyDensity(prefs.get("density"));
  $("density").addEventListener("click", () => applyDensity(document.body.classList.contains("compact") ? "comfortable" : "compact"));
  $("stale-after").value = String(prefs.get("staleAfterMin"));
  $("stale-after").addEventListener("change", (event) => {
    prefs.set("staleAfterMin", Number(event.target.value));
    grid.staleAfterS = Number(event.target.value) * 60;
    grid.updateFreshness();
  });
  $("movers-window").value = prefs.get("moversWindow");
  $("movers-window").addEventListener("change", (event) => {
    prefs.set("moversWindow", event.target.value);
    loadMovers();
  });
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    setApiKey($("key-input").value.trim());
    $("key-form").hidden = true;
    loadRegistry();
    loadKanban();
    loadMovers();
    loadSystem();
    if (state.raceId) { const raceId = state.raceId; state.raceId = null; live.stop(); openRace(raceId); }
  });
  window.addEventListener("hashchange", route);

  tick();
  setInterval(tick, 1000);
  loadRegistry();
  loadKanban();
  setInterval(loadKanban, 5000);
  loadMovers();
  setInterval(loadMovers, 10_000);
  setInterval(refreshRace, 10_000);
  loadSystem();
  setInterval(loadSystem, 10_000);
  route();
  fetch("/health").then((r) => r.json())
    .then((h) => { if (!live.socket && $("key-form").hidden) setConnection(h.stream === "ready" ? "stream ready" : "stream starting", h.stream === "ready"); })
    .catch(() => setConnection("API unreachable", false));
}

start();
