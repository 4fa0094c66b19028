// How the dashboard writes prices, times and countdowns: one definition each, used everywhere.
export const UK = "Europe/London";
export const ukTime = new Intl.DateTimeFormat("en-GB", { timeZone: UK, hour: "2-digit", minute: "2-digit", second: "2-digit" });
export const ukHm = new Intl.DateTimeFormat("en-GB", { timeZone: UK, hour: "2-digit", minute: "2-digit" });
const ukZone = new Intl.DateTimeFormat("en-GB", { timeZone: UK, timeZoneName: "short" });
export const zoneName = (date) => ukZone.formatToParts(date).find((p) => p.type === "timeZoneName")?.value ?? "";

export const FORMATS = ["fractional", "decimal", "probability"];

// Fractions as the books quote them (e.g. 10/11, not 91/100): learned from every quote the API
// sends with its fractional; a price only the live stream has sent is converted (`toFraction`).
const quoted = new Map();
const key = (decimal) => Number(decimal).toFixed(4);

export function learnFractional(decimal, fractional) {
  if (decimal != null && fractional) quoted.set(key(decimal), fractional);
}

// The simplest fraction that rounds to the price at two decimals (how the UK ladder's prices are
// stored: 10/11 is 1.91), e.g. 4.3 -> 33/10, 1.33 -> 1/3.
export function toFraction(decimal) {
  const x = Number(decimal) - 1;
  if (!(x > 0)) return null;
  for (let d = 1; d <= 200; d += 1) {
    const n = Math.round(x * d);
    if (n > 0 && Math.abs(n / d - x) < 0.005) return `${n}/${d}`;
  }
  return `${Math.round(x * 200)}/200`;
}

// A decimal price (string or number; null: unpriced) in the chosen format.
export function formatOdds(decimal, format) {
  if (decimal == null || decimal === "") return "–";
  const d = Number(decimal);
  if (!Number.isFinite(d) || d <= 1) return "–";
  if (format === "decimal") return d.toFixed(2);
  if (format === "probability") return `${(100 / d).toFixed(1)}%`;
  const fraction = quoted.get(key(decimal)) ?? toFraction(d);
  return fraction === "1/1" || /^evs?$/i.test(fraction) ? "Evs" : fraction;
}

// Starting prices: as quoted in fractional ("13/8F"), else from the decimal, with the favourite mark.
export function formatSp(runner, format) {
  if (format === "fractional" && runner.sp) return runner.sp;
  if (runner.sp_decimal == null) return runner.sp ?? "–";
  const mark = /JF$/i.test(runner.sp ?? "") ? " JF" : runner.sp_favourite ? " F" : "";
  return `${formatOdds(runner.sp_decimal, format)}${mark}`;
}

// The one countdown format: "2h 05m", "4m 07s", "45s"; "Off" once the off time has passed.
export function countdown(iso, now = Date.now()) {
  const seconds = Math.round((new Date(iso) - now) / 1000);
  if (seconds <= 0) return "Off";
  const h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
  if (h) return `${h}h ${String(m).padStart(2, "0")}m`;
  if (m) return `${m}m ${String(s).padStart(2, "0")}s`;
  return `${s}s`;
}

// What a race's clock shows: the countdown before the off, then its state after it.
export function raceClock(race, now = Date.now()) {
  switch (race.status) {
    case "result": return "Result";
    case "abandoned": return "Abandoned";
    case "off": return "Off";
    case "suspended": return `${countdown(race.off_dt, now)} · suspended`;
    default: return countdown(race.off_dt, now);
  }
}

// A move in implied probability (+ shortened) as percentage points.
export const fmtMove = (move) => (move == null ? "" : `${move > 0 ? "+" : ""}${(move * 100).toFixed(1)} pts`);
export const fmtPct = (value) => (value == null ? "–" : `${(value * 100).toFixed(1)}%`);

export function ago(iso, now = Date.now()) {
  const seconds = Math.max(0, Math.round((now - new Date(iso)) / 1000));
  if (seconds < 60) return `${seconds}s`;
  const m = Math.floor(seconds / 60);
  return m < 60 ? `${m}m` : `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`;
}
