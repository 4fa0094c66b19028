// The viewer's choices, remembered in local storage (a storage error only loses the memory).
const PREFIX = "darkhorses.";
const DEFAULTS = {
  format: "fractional", // how UK punters read prices
  density: "compact",
  hiddenBooks: [], // ids, so that a book new to the feed shows up
  staleAfterMin: 5,
  moversWindow: "15m",
};

export const prefs = {
  get(name) {
    try {
      const stored = localStorage.getItem(PREFIX + name);
      return stored == null ? DEFAULTS[name] : JSON.parse(stored);
    } catch {
      return DEFAULTS[name];
    }
  },
  set(name, value) {
    try {
      localStorage.setItem(PREFIX + name, JSON.stringify(value));
    } catch {
      // private mode or full: the choice holds for this page only
    }
  },
};
