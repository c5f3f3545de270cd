// The demo page's reads of its own JSON endpoints: a delivery report, and who is signed in.
// Apart from chat.js (which needs a page) so that node's test runner can check them.

/** What a delivery card shows: "queued", "delivering", "done", or "unavailable". */
export function reportState(report) {
  if (report.unavailable) return "unavailable";
  if (report.finished) return "done";
  if (report.started) return "delivering";
  return "queued";
}

/**
 * The report at `url`, or `{ unavailable: true, status }` when this browser may not read it
 * (404: sent by another user, or cleaned up; 403: signed out). Other failures throw, to be
 * retried.
 */
export async function fetchReport(url, fetchImpl = globalThis.fetch) {
  const response = await fetchImpl(url, { credentials: "same-origin" });
  if (response.status === 404 || response.status === 403) {
    return { unavailable: true, status: response.status };
  }
  if (!response.ok) throw new Error(`Delivery report: HTTP ${response.status}`);
  return response.json();
}

/**
 * Who this browser is signed in as now, or null when signed out. Windows of one browser
 * share the login cookie, so another window may have changed it since the page loaded.
 */
export async function fetchSignedInUser(url, fetchImpl = globalThis.fetch) {
  const response = await fetchImpl(url, { credentials: "same-origin" });
  if (response.status === 403) return null;
  if (!response.ok) throw new Error(`Who am I: HTTP ${response.status}`);
  return (await response.json()).username;
}
