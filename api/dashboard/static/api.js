// REST calls. Local use is open; where the API requires a key (DARKHORSES_API_AUTH_REQUIRED),
// the viewer enters one, it is kept for this browser tab only and sent as X-API-Key.
const KEY = "darkhorses.apiKey";

export class AuthRequired extends Error {}

export function apiKey() {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

// After a 401, calls wait for a (new) key instead of asking again every few seconds.
let refused = false;

export function setApiKey(value) {
  refused = false;
  try {
    if (value) sessionStorage.setItem(KEY, value);
    else sessionStorage.removeItem(KEY);
  } catch {
    // storage unavailable: the key is not remembered
  }
}

export async function api(path) {
  if (refused) throw new AuthRequired("an API key is required");
  const headers = { Accept: "application/json" };
  const key = apiKey();
  if (key) headers["X-API-Key"] = key;
  const response = await fetch(path, { headers });
  if (response.status === 401) {
    refused = true;
    throw new AuthRequired("an API key is required");
  }
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new Error(body?.error?.message ?? `${response.status} ${response.statusText}`);
  }
  return (await response.json()).data;
}
