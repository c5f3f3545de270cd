import { test, describe } from "node:test";
import assert from "node:assert/strict";

import DefaultExport, {
  WebSocketClient,
} from "../../django_aws_api_gateway_websockets/static/django_aws_api_gateway_websockets/websocket-client.js";
import { FakeWebSocket, flush, makeFakeFetch } from "./fakes.mjs";

const GATEWAY = "wss://abc123.execute-api.eu-west-1.amazonaws.com/prod";

/**
 * Build a client wired to fresh fakes, with mocked timers.
 * `random` defaults to 0 so backoff delays are exactly half the ceiling.
 */
function setup(t, { replies = [], ...options } = {}) {
  t.mock.timers.enable({ apis: ["setTimeout", "setInterval"] });
  const WS = FakeWebSocket.fresh();
  const fetch = makeFakeFetch(replies);
  const client = new WebSocketClient({
    url: GATEWAY,
    WebSocket: WS,
    fetch,
    getCsrfToken: () => "csrf-123",
    random: () => 0,
    ...options,
  });
  return { client, fetch, WS };
}

/** Connect and let the server accept; resolves once connect() has resolved. */
async function openClient(client, WS) {
  const opened = client.connect();
  await flush();
  assert.ok(WS.last, "a socket should have been created");
  WS.last.serverOpen();
  await opened;
  return WS.last;
}

/** Record every emission of the given events, in order. */
function record(client, ...types) {
  const events = [];
  for (const type of types) client.on(type, (value) => events.push([type, value]));
  return events;
}

/**
 * Track interval timers (on top of the mocked ones) so a test can see that
 * every heartbeat interval was cleared, not merely that nothing was sent.
 */
function trackIntervals(t) {
  const setSpy = t.mock.method(globalThis, "setInterval");
  const clearSpy = t.mock.method(globalThis, "clearInterval");
  return {
    live() {
      const cleared = new Set(clearSpy.mock.calls.map((c) => c.arguments[0]));
      return setSpy.mock.calls.map((c) => c.result).filter((id) => !cleared.has(id));
    },
  };
}

function tokenOf(url) {
  return new URL(url).searchParams.get("ws_token");
}

describe("module", () => {
  test("exports WebSocketClient as named and default export", () => {
    assert.equal(DefaultExport, WebSocketClient);
    assert.equal(typeof WebSocketClient, "function");
  });

  test("requires a url", () => {
    assert.throws(() => new WebSocketClient({}), /url/);
  });
});

describe("token request", () => {
  test("POSTs the token URL with CSRF header, JSON content type and same-origin credentials before opening", async (t) => {
    t.mock.timers.enable({ apis: ["setTimeout", "setInterval"] });
    const WS = FakeWebSocket.fresh();
    let release;
    const calls = [];
    const fetch = (url, init) => {
      calls.push({ url, init });
      return new Promise((resolve) => {
        release = () => resolve({ ok: true, status: 200, json: async () => ({ token: "t1" }) });
      });
    };
    const client = new WebSocketClient({
      url: GATEWAY,
      tokenUrl: "/custom/token/",
      WebSocket: WS,
      fetch,
      getCsrfToken: () => "csrf-abc",
    });

    const opened = client.connect();
    assert.equal(client.state, "connecting");
    await flush();

    assert.equal(calls.length, 1);
    const { url, init } = calls[0];
    assert.equal(url, "/custom/token/");
    assert.equal(init.method, "POST");
    assert.equal(init.credentials, "same-origin");
    assert.equal(init.headers["X-CSRFToken"], "csrf-abc");
    assert.equal(init.headers["Content-Type"], "application/json");
    assert.equal(WS.instances.length, 0, "no socket may open before the token arrives");

    release();
    await flush();
    assert.equal(WS.instances.length, 1);
    assert.equal(tokenOf(WS.last.url), "t1");

    WS.last.serverOpen();
    await opened;
    assert.equal(client.state, "open");
  });

  test("uses the default token URL", async (t) => {
    const { client, fetch } = setup(t);
    client.connect();
    await flush();
    assert.equal(fetch.calls[0].url, "/api/ws-token/");
  });

  test("default getCsrfToken reads the csrftoken cookie", async (t) => {
    t.mock.timers.enable({ apis: ["setTimeout", "setInterval"] });
    const hadDocument = "document" in globalThis;
    const previous = globalThis.document;
    globalThis.document = { cookie: "sessionid=s1; csrftoken=cookie%2Dtoken; other=x" };
    t.after(() => {
      if (hadDocument) globalThis.document = previous;
      else delete globalThis.document;
    });
    const WS = FakeWebSocket.fresh();
    const fetch = makeFakeFetch();
    const client = new WebSocketClient({ url: GATEWAY, WebSocket: WS, fetch });
    client.connect();
    await flush();
    assert.equal(fetch.calls[0].init.headers["X-CSRFToken"], "cookie-token");
  });
});

describe("socket URL", () => {
  test("carries the encoded token and channel", async (t) => {
    const token = "a b/c+d=&e?";
    const channel = "room #1&x=y";
    const { client, WS } = setup(t, { replies: [token], channel });
    client.connect();
    await flush();
    assert.equal(
      WS.last.url,
      `${GATEWAY}?ws_token=${encodeURIComponent(token)}&channel=${encodeURIComponent(channel)}`,
    );
    const params = new URL(WS.last.url).searchParams;
    assert.equal(params.get("ws_token"), token);
    assert.equal(params.get("channel"), channel);
  });

  test("omits the channel parameter when the channel is empty", async (t) => {
    const { client, WS } = setup(t, { replies: ["tok"] });
    client.connect();
    await flush();
    assert.equal(WS.last.url, `${GATEWAY}?ws_token=tok`);
  });

  test("carries the token in Sec-WebSocket-Protocol with tokenInProtocol", async (t) => {
    const { client, WS } = setup(t, { replies: ["f00d"], channel: "c", tokenInProtocol: true });
    client.connect();
    await flush();
    assert.equal(WS.last.url, `${GATEWAY}?channel=c`);
    assert.deepEqual(WS.last.protocols, ["django-gateway-sockets", "ws_token.f00d"]);
  });

  test("leaves the URL as given when neither token nor channel is in it", async (t) => {
    const { client, WS } = setup(t, { replies: ["f00d"], tokenInProtocol: true });
    client.connect();
    await flush();
    assert.equal(WS.last.url, GATEWAY);
    assert.equal(tokenOf(WS.last.url), null);
  });

  test("offers no subprotocol by default", async (t) => {
    const { client, WS } = setup(t, { replies: ["tok"] });
    client.connect();
    await flush();
    assert.equal(WS.last.protocols, undefined);
  });

  test("appends with & when the URL already has a query string", async (t) => {
    const { client, WS } = setup(t, { replies: ["tok"], url: `${GATEWAY}?stage=1`, channel: "c" });
    client.connect();
    await flush();
    assert.equal(WS.last.url, `${GATEWAY}?stage=1&ws_token=tok&channel=c`);
  });
});

describe("state", () => {
  test("goes idle -> connecting -> open -> closed", async (t) => {
    const { client, WS } = setup(t);
    assert.equal(client.state, "idle");
    const opened = client.connect();
    assert.equal(client.state, "connecting");
    await flush();
    assert.equal(client.state, "connecting");
    WS.last.serverOpen();
    await opened;
    assert.equal(client.state, "open");
    client.close();
    assert.equal(client.state, "closed");
  });

  test("connect() while open resolves at once without a new token", async (t) => {
    const { client, WS, fetch } = setup(t);
    await openClient(client, WS);
    await client.connect();
    assert.equal(fetch.calls.length, 1);
    assert.equal(WS.instances.length, 1);
  });

  test("connect() twice while connecting shares one attempt", async (t) => {
    const { client, WS, fetch } = setup(t);
    const first = client.connect();
    const second = client.connect();
    await flush();
    assert.equal(fetch.calls.length, 1);
    assert.equal(WS.instances.length, 1);
    WS.last.serverOpen();
    await Promise.all([first, second]);
  });
});

describe("send", () => {
  test("sends JSON with the action under the action key and returns true", async (t) => {
    const { client, WS } = setup(t);
    const socket = await openClient(client, WS);
    assert.equal(client.send("chat", { text: "hi", n: 2 }), true);
    assert.equal(client.send("noop"), true);
    assert.deepEqual(socket.sentJson, [{ action: "chat", text: "hi", n: 2 }, { action: "noop" }]);
  });

  test("honours a custom actionKey", async (t) => {
    const { client, WS } = setup(t, { actionKey: "route" });
    const socket = await openClient(client, WS);
    client.send("join", { room: "r1" });
    assert.deepEqual(socket.sentJson, [{ route: "join", room: "r1" }]);
  });

  test("queues while closed and flushes in order on open", async (t) => {
    const { client, WS } = setup(t);
    assert.equal(client.send("first", { i: 1 }), false);
    assert.equal(client.send("second", { i: 2 }), false);
    const opened = client.connect();
    await flush();
    const socket = WS.last;
    assert.equal(client.send("third", { i: 3 }), false, "still connecting, so queued");
    assert.deepEqual(socket.sent, []);
    socket.serverOpen();
    await opened;
    assert.deepEqual(
      socket.sentJson.map((m) => m.action),
      ["first", "second", "third"],
    );
    client.send("fourth");
    assert.deepEqual(socket.sentJson.at(-1), { action: "fourth" });
    assert.equal(socket.sent.length, 4, "queue is flushed only once");
  });

  test("queues during a reconnect and flushes on the new socket", async (t) => {
    const { client, WS } = setup(t);
    const first = await openClient(client, WS);
    first.serverClose(1006);
    assert.equal(client.send("while-down"), false);
    t.mock.timers.tick(1000);
    await flush();
    const second = WS.last;
    assert.notEqual(second, first);
    second.serverOpen();
    assert.deepEqual(second.sentJson, [{ action: "while-down" }]);
    assert.deepEqual(first.sent, []);
  });

  test("throws when the queue is full", async (t) => {
    const { client, WS } = setup(t, { maxQueue: 2 });
    client.send("a");
    client.send("b");
    assert.throws(() => client.send("c"), /queue is full/i);
    const opened = client.connect();
    await flush();
    WS.last.serverOpen();
    await opened;
    assert.deepEqual(
      WS.last.sentJson.map((m) => m.action),
      ["a", "b"],
    );
  });

  test("throws when closed and queueWhileClosed is false", async (t) => {
    const { client, WS } = setup(t, { queueWhileClosed: false });
    assert.throws(() => client.send("a"), /closed/i);
    const socket = await openClient(client, WS);
    assert.equal(client.send("b"), true);
    assert.deepEqual(socket.sentJson, [{ action: "b" }], "nothing was queued before");
    client.close();
    assert.throws(() => client.send("c"), /closed/i);
  });
});

describe("receiving", () => {
  test("dispatches by type and to wildcard handlers", async (t) => {
    const { client, WS } = setup(t);
    const chats = [];
    const alerts = [];
    const all = [];
    client.on("chat", (m) => chats.push(m));
    client.on("alert", (m) => alerts.push(m));
    client.on("*", (m) => all.push(m));
    const socket = await openClient(client, WS);

    socket.serverMessage({ type: "chat", text: "hello" });
    socket.serverMessage({ type: "alert", level: 2 });
    socket.serverMessage({ untyped: true });

    assert.deepEqual(chats, [{ type: "chat", text: "hello" }]);
    assert.deepEqual(alerts, [{ type: "alert", level: 2 }]);
    assert.deepEqual(all, [
      { type: "chat", text: "hello" },
      { type: "alert", level: 2 },
      { untyped: true },
    ]);
  });

  test("gives non-JSON frames to raw handlers only", async (t) => {
    const { client, WS } = setup(t);
    const raw = [];
    const all = [];
    client.on("raw", (d) => raw.push(d));
    client.on("*", (m) => all.push(m));
    const socket = await openClient(client, WS);

    socket.serverMessage("not json {");
    socket.serverMessage("42");
    const binary = new Uint8Array([1, 2, 3]).buffer;
    socket.serverRawMessage(binary);
    socket.serverMessage({ type: "ok" });

    assert.deepEqual(raw, ["not json {", "42", binary]);
    assert.deepEqual(all, [{ type: "ok" }]);
  });

  test("unsubscribe function and off() stop delivery", async (t) => {
    const { client, WS } = setup(t);
    const a = [];
    const b = [];
    const handlerB = (m) => b.push(m.n);
    const unsubscribe = client.on("tick", (m) => a.push(m.n));
    client.on("tick", handlerB);
    const socket = await openClient(client, WS);

    socket.serverMessage({ type: "tick", n: 1 });
    unsubscribe();
    socket.serverMessage({ type: "tick", n: 2 });
    client.off("tick", handlerB);
    socket.serverMessage({ type: "tick", n: 3 });

    assert.deepEqual(a, [1]);
    assert.deepEqual(b, [1, 2]);
  });

  test("a throwing handler does not stop the others and is reported as an error", async (t) => {
    const { client, WS } = setup(t);
    const errors = [];
    const seen = [];
    client.on("error", (e) => errors.push(e));
    client.on("boom", () => {
      throw new Error("handler failed");
    });
    client.on("boom", (m) => seen.push(m.type));
    const socket = await openClient(client, WS);
    socket.serverMessage({ type: "boom" });
    assert.deepEqual(seen, ["boom"]);
    assert.equal(errors.length, 1);
    assert.match(errors[0].message, /handler failed/);
  });

  test("drops a repeated $ws.id and lets a different one through", async (t) => {
    const { client, WS } = setup(t);
    const got = [];
    const all = [];
    client.on("note", (m) => got.push(m.$ws?.id));
    client.on("*", (m) => all.push(m.$ws?.id));
    const socket = await openClient(client, WS);

    socket.serverMessage({ type: "note", $ws: { id: "d1" } });
    socket.serverMessage({ type: "note", $ws: { id: "d1" } });
    socket.serverMessage({ type: "note", $ws: { id: "d2" } });
    socket.serverMessage({ type: "note", $ws: { id: "d1" } });
    socket.serverMessage({ type: "note" });
    socket.serverMessage({ type: "note" });

    assert.deepEqual(got, ["d1", "d2", undefined, undefined]);
    assert.deepEqual(all, ["d1", "d2", undefined, undefined]);
  });

  test("never dedupes by delivery_id, which an application may copy into a reply", async (t) => {
    const { client, WS } = setup(t);
    const got = [];
    client.on("*", (m) => got.push(m.type));
    const socket = await openClient(client, WS);

    socket.serverMessage({ type: "note", delivery_id: "d1" });
    socket.serverMessage({ type: "note", delivery_id: "d1" });

    assert.deepEqual(got, ["note", "note"]);
  });

  test("remembers only the last dedupeWindow ids, evicting the oldest", async (t) => {
    const { client, WS } = setup(t, { dedupeWindow: 2 });
    const got = [];
    client.on("*", (m) => got.push(m.$ws.id));
    const socket = await openClient(client, WS);

    for (const id of ["a", "b", "c", "a", "c"]) socket.serverMessage({ $ws: { id } });

    // "a" was evicted when "c" arrived, so it passes again; "c" is still known.
    assert.deepEqual(got, ["a", "b", "c", "a"]);
  });

  test("dedupeWindow 0 turns deduplication off", async (t) => {
    const { client, WS } = setup(t, { dedupeWindow: 0 });
    const got = [];
    client.on("*", (m) => got.push(m.$ws.id));
    const socket = await openClient(client, WS);
    socket.serverMessage({ $ws: { id: "a" } });
    socket.serverMessage({ $ws: { id: "a" } });
    assert.deepEqual(got, ["a", "a"]);
  });

  test("remembers ids across reconnects", async (t) => {
    const { client, WS } = setup(t);
    const got = [];
    client.on("*", (m) => got.push(m.$ws.id));
    const first = await openClient(client, WS);
    first.serverMessage({ $ws: { id: 7 } });
    first.serverClose(1006);
    t.mock.timers.tick(1000);
    await flush();
    WS.last.serverOpen();
    WS.last.serverMessage({ $ws: { id: 7 } });
    WS.last.serverMessage({ $ws: { id: 8 } });
    assert.deepEqual(got, [7, 8]);
  });
});

describe("lifecycle events", () => {
  test("emits open, close with the event, error and reconnecting", async (t) => {
    const { client, WS } = setup(t);
    const events = record(client, "open", "close", "error", "reconnecting");
    const socket = await openClient(client, WS);
    socket.serverError();
    socket.serverClose(1006, "gone");

    assert.deepEqual(
      events.map(([type]) => type),
      ["open", "error", "close", "reconnecting"],
    );
    assert.equal(events[2][1].code, 1006);
    assert.equal(events[2][1].reason, "gone");
    assert.deepEqual(events[3][1], { attempt: 1, delayMs: 500 });
  });
});

describe("reconnect", () => {
  test("reconnects after an unexpected close with a fresh token after the backoff delay", async (t) => {
    const { client, WS, fetch } = setup(t, { replies: ["tok-A", "tok-B"] });
    const reconnecting = [];
    client.on("reconnecting", (info) => reconnecting.push(info));
    const first = await openClient(client, WS);
    assert.equal(tokenOf(first.url), "tok-A");

    first.serverClose(1001);
    assert.equal(client.state, "connecting");
    assert.deepEqual(reconnecting, [{ attempt: 1, delayMs: 500 }]);

    t.mock.timers.tick(499);
    await flush();
    assert.equal(fetch.calls.length, 1, "must wait the whole delay");
    assert.equal(WS.instances.length, 1);

    t.mock.timers.tick(1);
    await flush();
    assert.equal(fetch.calls.length, 2, "a fresh token is requested for the reconnect");
    assert.equal(WS.instances.length, 2);
    assert.equal(tokenOf(WS.last.url), "tok-B");

    WS.last.serverOpen();
    assert.equal(client.state, "open");
  });

  test("delay stays within 0.5x..1x of the ceiling and grows per attempt", async (t) => {
    const randoms = [0, 0.999999, 0.5, 0, 0.999999];
    const { client, WS } = setup(t, {
      minReconnectDelayMs: 1000,
      maxReconnectDelayMs: 5000,
      random: () => randoms.shift(),
    });
    const delays = [];
    client.on("reconnecting", ({ attempt, delayMs }) => delays.push([attempt, delayMs]));
    await openClient(client, WS);

    // Each new socket closes before opening: every attempt fails.
    for (let i = 0; i < 5; i += 1) {
      WS.last.serverClose(1006);
      const [, delayMs] = delays.at(-1);
      t.mock.timers.tick(delayMs);
      await flush();
    }

    assert.deepEqual(
      delays.map(([attempt]) => attempt),
      [1, 2, 3, 4, 5],
    );
    // Ceilings: 1000, 2000, 4000, 5000 (capped), 5000 (capped).
    assert.deepEqual(
      delays.map(([, d]) => d),
      [500, 2000, 3000, 2500, 5000],
    );
  });

  test("delays with the real Math.random respect the bounds", async (t) => {
    const { client, WS } = setup(t, {
      minReconnectDelayMs: 100,
      maxReconnectDelayMs: 1600,
      random: Math.random,
    });
    const delays = [];
    client.on("reconnecting", (info) => delays.push(info));
    await openClient(client, WS);
    for (let i = 0; i < 8; i += 1) {
      WS.last.serverClose(1006);
      t.mock.timers.tick(delays.at(-1).delayMs);
      await flush();
    }
    for (const { attempt, delayMs } of delays) {
      const ceiling = Math.min(1600, 100 * 2 ** (attempt - 1));
      assert.ok(delayMs >= ceiling / 2 && delayMs <= ceiling, `attempt ${attempt}: ${delayMs}`);
    }
    assert.equal(delays.length, 8);
  });

  test("resets the attempt count after a successful open", async (t) => {
    const { client, WS } = setup(t);
    const delays = [];
    client.on("reconnecting", (info) => delays.push(info));
    await openClient(client, WS);

    WS.last.serverClose(1006);
    t.mock.timers.tick(500);
    await flush();
    WS.last.serverClose(1006);
    t.mock.timers.tick(1000);
    await flush();
    WS.last.serverOpen();
    WS.last.serverClose(1006);

    assert.deepEqual(delays, [
      { attempt: 1, delayMs: 500 },
      { attempt: 2, delayMs: 1000 },
      { attempt: 1, delayMs: 500 },
    ]);
  });

  test("retries a failed token request (HTTP error, network error) with backoff", async (t) => {
    const { client, WS, fetch } = setup(t, {
      replies: [{ status: 403, body: { detail: "no" } }, new TypeError("Failed to fetch"), "good"],
    });
    const events = record(client, "error", "reconnecting");
    const opened = client.connect();
    await flush();

    assert.equal(fetch.calls.length, 1);
    assert.equal(WS.instances.length, 0);
    assert.deepEqual(events.map(([type]) => type), ["error", "reconnecting"]);
    assert.match(events[0][1].message, /403/);
    assert.deepEqual(events[1][1], { attempt: 1, delayMs: 500 });

    t.mock.timers.tick(500);
    await flush();
    assert.equal(fetch.calls.length, 2);
    assert.equal(WS.instances.length, 0);
    assert.equal(events[2][1].message, "Failed to fetch");
    assert.deepEqual(events[3][1], { attempt: 2, delayMs: 1000 });

    t.mock.timers.tick(999);
    await flush();
    assert.equal(fetch.calls.length, 2);
    t.mock.timers.tick(1);
    await flush();
    assert.equal(fetch.calls.length, 3);
    assert.equal(WS.instances.length, 1);
    assert.equal(tokenOf(WS.last.url), "good");
    WS.last.serverOpen();
    await opened;
    assert.equal(client.state, "open");
  });

  test("a token reply without a token counts as a failed attempt", async (t) => {
    const { client, WS, fetch } = setup(t, { replies: [{ status: 200, body: {} }] });
    const errors = [];
    client.on("error", (e) => errors.push(e));
    client.connect();
    await flush();
    assert.equal(WS.instances.length, 0);
    assert.equal(errors.length, 1);
    t.mock.timers.tick(500);
    await flush();
    assert.equal(fetch.calls.length, 2);
    assert.equal(WS.instances.length, 1);
  });

  test("with reconnect off an unexpected close ends in state closed", async (t) => {
    const { client, WS, fetch } = setup(t, { reconnect: false });
    const reconnecting = [];
    client.on("reconnecting", (info) => reconnecting.push(info));
    await openClient(client, WS);
    WS.last.serverClose(1006);
    t.mock.timers.tick(60_000);
    await flush();
    assert.equal(client.state, "closed");
    assert.equal(fetch.calls.length, 1);
    assert.deepEqual(reconnecting, []);
  });

  test("with reconnect off a failed token request rejects connect()", async (t) => {
    const { client, fetch } = setup(t, { reconnect: false, replies: [{ status: 500, body: {} }] });
    client.on("error", () => {});
    await assert.rejects(client.connect(), /reconnect is off/);
    t.mock.timers.tick(60_000);
    await flush();
    assert.equal(fetch.calls.length, 1);
    assert.equal(client.state, "closed");
  });
});

describe("changeChannel", () => {
  test("closes the socket and reconnects at once to the new channel with a new token", async (t) => {
    const { client, WS, fetch } = setup(t, { channel: "lobby", replies: ["tok-1", "tok-2"] });
    const reconnecting = [];
    client.on("reconnecting", (info) => reconnecting.push(info));
    const first = await openClient(client, WS);
    assert.equal(new URL(first.url).searchParams.get("channel"), "lobby");

    const switched = client.changeChannel("room/42");
    assert.equal(client.channel, "room/42");
    assert.equal(first.closeCalls.length, 1);
    assert.equal(first.closeCalls[0].code, 1000);
    assert.equal(client.state, "connecting");

    // No timer tick: a deliberate switch has no backoff delay.
    await flush();
    assert.equal(fetch.calls.length, 2);
    assert.equal(WS.instances.length, 2);
    const second = WS.last;
    assert.equal(tokenOf(second.url), "tok-2");
    assert.equal(new URL(second.url).searchParams.get("channel"), "room/42");
    assert.ok(second.url.includes("channel=room%2F42"));
    assert.deepEqual(reconnecting, []);

    second.serverOpen();
    await switched;
    assert.equal(client.state, "open");

    // The old socket's close (already delivered) must not trigger a reconnect.
    t.mock.timers.tick(60_000);
    await flush();
    assert.equal(fetch.calls.length, 2);
    assert.equal(WS.instances.length, 2);
  });

  test("messages sent during the switch are queued and flushed on the new socket", async (t) => {
    const { client, WS } = setup(t, { channel: "a" });
    const first = await openClient(client, WS);
    client.changeChannel("b");
    assert.equal(client.send("during", { n: 1 }), false);
    await flush();
    assert.equal(client.send("during", { n: 2 }), false);
    WS.last.serverOpen();
    assert.deepEqual(WS.last.sentJson, [
      { action: "during", n: 1 },
      { action: "during", n: 2 },
    ]);
    assert.deepEqual(first.sent, []);
  });

  test("messages from the old socket are ignored after the switch", async (t) => {
    const { client, WS } = setup(t, { channel: "a" });
    const got = [];
    client.on("*", (m) => got.push(m.from));
    const first = await openClient(client, WS);
    client.changeChannel("b");
    first.serverMessage({ from: "old" });
    await flush();
    WS.last.serverOpen();
    WS.last.serverMessage({ from: "new" });
    assert.deepEqual(got, ["new"]);
  });

  test("switching while a token request is in flight uses only the new channel", async (t) => {
    const { client, WS, fetch } = setup(t, { channel: "a" });
    client.connect();
    client.changeChannel("b");
    await flush();
    assert.equal(fetch.calls.length, 2);
    assert.equal(WS.instances.length, 1, "the stale token must not open a socket");
    assert.equal(new URL(WS.last.url).searchParams.get("channel"), "b");
  });

  test("cancels a pending backoff and connects at once", async (t) => {
    const { client, WS, fetch } = setup(t, { channel: "a" });
    await openClient(client, WS);
    WS.last.serverClose(1006);
    client.changeChannel("b");
    await flush();
    assert.equal(fetch.calls.length, 2);
    t.mock.timers.tick(60_000);
    await flush();
    assert.equal(fetch.calls.length, 2, "the old reconnect timer was cancelled");
    assert.equal(new URL(WS.last.url).searchParams.get("channel"), "b");
  });

  test("on an idle client only stores the channel for the next connect", async (t) => {
    const { client, WS, fetch } = setup(t);
    await client.changeChannel("later");
    assert.equal(fetch.calls.length, 0);
    client.connect();
    await flush();
    assert.equal(new URL(WS.last.url).searchParams.get("channel"), "later");
  });
});

describe("heartbeat", () => {
  test("sends the heartbeat on the interval while open", async (t) => {
    const { client, WS } = setup(t, { heartbeatIntervalMs: 1000 });
    const socket = await openClient(client, WS);
    t.mock.timers.tick(999);
    assert.deepEqual(socket.sent, []);
    t.mock.timers.tick(1);
    assert.deepEqual(socket.sentJson, [{ action: "ping" }]);
    t.mock.timers.tick(2000);
    assert.deepEqual(socket.sentJson, [{ action: "ping" }, { action: "ping" }, { action: "ping" }]);
  });

  test("default interval is five minutes and the message is configurable", async (t) => {
    const { client, WS } = setup(t, { heartbeatMessage: { action: "keepalive", v: 1 } });
    const socket = await openClient(client, WS);
    t.mock.timers.tick(299_999);
    assert.equal(socket.sent.length, 0);
    t.mock.timers.tick(1);
    assert.deepEqual(socket.sentJson, [{ action: "keepalive", v: 1 }]);
  });

  test("stops on close()", async (t) => {
    const { client, WS } = setup(t, { heartbeatIntervalMs: 1000 });
    const intervals = trackIntervals(t);
    const socket = await openClient(client, WS);
    t.mock.timers.tick(1000);
    assert.equal(socket.sent.length, 1);
    assert.equal(intervals.live().length, 1);
    client.close();
    assert.deepEqual(intervals.live(), [], "the heartbeat timer is cleared");
    t.mock.timers.tick(10_000);
    await flush();
    assert.equal(socket.sent.length, 1);
  });

  test("stops on an unexpected close and restarts on the new socket only", async (t) => {
    const { client, WS } = setup(t, { heartbeatIntervalMs: 1000, minReconnectDelayMs: 10_000 });
    const intervals = trackIntervals(t);
    const first = await openClient(client, WS);
    assert.equal(intervals.live().length, 1);
    first.serverClose(1006);
    assert.deepEqual(intervals.live(), [], "the heartbeat timer is cleared");
    t.mock.timers.tick(5000);
    assert.deepEqual(first.sent, [], "no heartbeat after the socket closed");
    t.mock.timers.tick(5000);
    await flush();
    const second = WS.last;
    second.serverOpen();
    t.mock.timers.tick(1000);
    assert.equal(second.sent.length, 1);
    assert.deepEqual(first.sent, []);
    assert.equal(intervals.live().length, 1, "one heartbeat timer, for the new socket");
  });

  test("is not sent before the socket opens", async (t) => {
    const { client, WS } = setup(t, { heartbeatIntervalMs: 1000 });
    client.connect();
    await flush();
    t.mock.timers.tick(5000);
    assert.deepEqual(WS.last.sent, []);
  });
});

describe("close", () => {
  test("closes the socket, emits close and never reconnects", async (t) => {
    const { client, WS, fetch } = setup(t);
    const events = record(client, "close", "reconnecting");
    const socket = await openClient(client, WS);
    client.close(4000, "bye");
    assert.deepEqual(socket.closeCalls, [{ code: 4000, reason: "bye" }]);
    assert.equal(client.state, "closed");
    await flush();
    t.mock.timers.tick(600_000);
    await flush();
    assert.deepEqual(events.map(([type]) => type), ["close"]);
    assert.equal(fetch.calls.length, 1);
    assert.equal(WS.instances.length, 1);
    assert.equal(client.state, "closed");
  });

  test("cancels a pending reconnect", async (t) => {
    const { client, WS, fetch } = setup(t);
    await openClient(client, WS);
    WS.last.serverClose(1006);
    client.close();
    t.mock.timers.tick(600_000);
    await flush();
    assert.equal(fetch.calls.length, 1);
    assert.equal(client.state, "closed");
  });

  test("during a token request: the late token opens no socket and connect() rejects", async (t) => {
    const { client, WS, fetch } = setup(t);
    const opened = client.connect();
    client.close();
    await assert.rejects(opened, /closed/);
    await flush();
    t.mock.timers.tick(600_000);
    await flush();
    assert.equal(fetch.calls.length, 1);
    assert.equal(WS.instances.length, 0);
  });

  test("connect() after close() starts again with a fresh token", async (t) => {
    const { client, WS, fetch } = setup(t);
    await openClient(client, WS);
    client.close();
    await flush();
    await openClient(client, WS);
    assert.equal(fetch.calls.length, 2);
    assert.equal(client.state, "open");
  });
});
