// The HTTP API as the pages see it: the site's config, JSON calls with the shopper's bearer token or the
// operator's admin key, and the API's error shape turned into one exception type.

let configPromise = null;

export function loadConfig() {
  configPromise ??= fetch("/config.json", { cache: "no-cache" }).then((response) => {
    if (!response.ok) throw new Error(`config.json: HTTP ${response.status}`);
    return response.json();
  });
  return configPromise;
}

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

// One call. `auth` is {bearer} (a shopper) or {adminKey} (an operator); the result is {data, headers}.
export async function call(path, { method = "GET", body, auth = {}, sessionToken, headers = {} } = {}) {
  const config = await loadConfig();
  const sent = { Accept: "application/json", ...headers };
  if (body !== undefined) sent["Content-Type"] = "application/json";
  if (auth.bearer) sent.Authorization = `Bearer ${auth.bearer}`;
  if (auth.adminKey) sent["x-functions-key"] = auth.adminKey;
  if (sessionToken) sent["X-Session-Token"] = sessionToken;
  let response;
  try {
    response = await fetch(config.apiBase + path, {
      method, headers: sent, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store",
    });
  } catch (error) {
    throw new ApiError(0, "network_error", "the service cannot be reached", String(error));
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = data?.error ?? {};
    const failure = new ApiError(response.status, error.code ?? "http_error",
      error.message ?? `HTTP ${response.status}`, error.details ?? null);
    failure.withToken = Boolean(auth.bearer);   // a 401 then means the shopper's token, not a missing key
    throw failure;
  }
  return { data, headers: response.headers };
}

export const encode = encodeURIComponent;
