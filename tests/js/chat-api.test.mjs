import { test } from "node:test";
import assert from "node:assert/strict";

import {
  fetchReport,
  fetchSignedInUser,
  reportState,
} from "../../websockets/static/websockets/chat-api.js";

/** A fetch answering `status` with `body`, recording the URLs it was called with. */
function answering(status, body = {}) {
  const calls = [];
  const fetch = async (url, options) => {
    calls.push({ url, options });
    return { status, ok: status >= 200 && status < 300, json: async () => body };
  };
  return { fetch, calls };
}

test("a report's state follows its timestamps", () => {
  assert.equal(reportState({ started: null, finished: null }), "queued");
  assert.equal(reportState({ started: "t", finished: null }), "delivering");
  assert.equal(reportState({ started: "t", finished: "t" }), "done");
  assert.equal(reportState({ unavailable: true }), "unavailable");
});

test("a readable report is returned as the server sent it", async () => {
  const { fetch, calls } = answering(200, { id: "r1", finished: null });
  assert.deepEqual(await fetchReport("/api/deliveries/r1/", fetch), { id: "r1", finished: null });
  assert.deepEqual(calls, [
    { url: "/api/deliveries/r1/", options: { credentials: "same-origin" } },
  ]);
});

test("a report that answers 404 is unavailable, not queued forever", async () => {
  const report = await fetchReport("/api/deliveries/r1/", answering(404).fetch);
  assert.deepEqual(report, { unavailable: true, status: 404 });
  assert.equal(reportState(report), "unavailable");
  assert.equal(reportState(await fetchReport("/x/", answering(403).fetch)), "unavailable");
});

test("other failures throw so the page retries", async () => {
  await assert.rejects(fetchReport("/x/", answering(502).fetch), /HTTP 502/);
});

test("the signed-in user is read from the server each time", async () => {
  assert.equal(await fetchSignedInUser("/api/whoami/", answering(200, { username: "bob" }).fetch), "bob");
  assert.equal(await fetchSignedInUser("/api/whoami/", answering(403).fetch), null);
  await assert.rejects(fetchSignedInUser("/api/whoami/", answering(500).fetch), /HTTP 500/);
});
