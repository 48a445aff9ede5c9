/* global URLSearchParams, fetch */
// The dashboard's only way to the server: same-origin JSON calls (the access cookie rides along).

/** An API error with the server's hint, shown to the user as text. */
export class ApiError extends Error {
  constructor(status, message, hint) {
    super(message);
    this.status = status;
    this.hint = hint ?? '';
  }
}

async function parse(response) {
  let body;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const message = body && typeof body.error === 'string' ? body.error : `${response.status} ${response.statusText}`;
    const hint =
      response.status === 401 || response.status === 403
        ? 'open the URL that offbox serve printed (it carries the access token) again'
        : body?.hint;
    throw new ApiError(response.status, message, hint);
  }
  return body;
}

function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') continue;
    search.set(key, Array.isArray(value) ? value.join(',') : String(value));
  }
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}

/** GET /api/PATH?params → parsed JSON. */
export async function getJson(path, params = {}, signal) {
  const response = await fetch(`/api/${path}${query(params)}`, {
    headers: { Accept: 'application/json' },
    credentials: 'same-origin',
    signal,
  });
  return parse(response);
}

/** POST /api/PATH with a JSON body; the X-Offbox-Request header is the server's CSRF check. */
export async function postJson(path, body) {
  const response = await fetch(`/api/${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Offbox-Request': '1', Accept: 'application/json' },
    credentials: 'same-origin',
    body: JSON.stringify(body),
  });
  return parse(response);
}

export const api = {
  meta: (signal) => getJson('meta', {}, signal),
  findings: (params, signal) => getJson('findings', params, signal),
  finding: (id, signal) => getJson(`findings/${encodeURIComponent(id)}`, {}, signal),
  setStatus: (id, status, note) => postJson(`findings/${encodeURIComponent(id)}/status`, { status, note }),
  plan: (id, signal) => getJson(`findings/${encodeURIComponent(id)}/plan`, {}, signal),
  incidents: (params, signal) => getJson('incidents', params, signal),
  incident: (id, signal) => getJson(`incidents/${encodeURIComponent(id)}`, {}, signal),
  exposure: (params, signal) => getJson('exposure', params, signal),
};
