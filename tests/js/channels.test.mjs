// The browser client's channels: subscriptions, ordering and dedupe by offset, recovery
// after a reconnect, presence. The server side is played by the fake socket, frame by frame,
// as CHANNELS-PROTOCOL.md (and docs/client.md) describe the "$ws" envelope.
import { test, describe } from "node:test";
import assert from "node:assert/strict";

import {
  ChannelError,
  WebSocketClient,
} from "../../django_aws_api_gateway_websockets/static/django_aws_api_gateway_websockets/websocket-client.js";
import { FakeWebSocket, flush, makeFakeFetch } from "./fakes.mjs";

const GATEWAY = "wss://abc123.execute-api.eu-west-1.amazonaws.com/prod";

function setup(t, options = {}) {
  t.mock.timers.enable({ apis: ["setTimeout", "setInterval"] });
  const WS = FakeWebSocket.fresh();
  const fetch = makeFakeFetch();
  const client = new WebSocketClient({
    url: GATEWAY,
    WebSocket: WS,
    fetch,
    getCsrfToken: () => "csrf",
    random: () => 0,
    heartbeatIntervalMs: 0,
    ...options,
  });
  return { client, WS, fetch };
}

async function openClient(client, WS) {
  const opened = client.connect();
  await flush();
  WS.last.serverOpen();
  await opened;
  return WS.last;
}

/** Drop the socket as a network cut does, and let the client reconnect and open. */
async function cutAndReconnect(t, WS) {
  const old = WS.last;
  old.serverClose(1006);
  t.mock.timers.tick(1000);
  await flush();
  assert.notEqual(WS.last, old, "a new socket was opened");
  WS.last.serverOpen();
  return WS.last;
}

const publication = (channel, offset, epoch, data) => ({
  $ws: { kind: "publication", id: `r-${channel}-${offset}`, channel, offset, epoch },
  data,
});

const subscribed = (channel, epoch, offset, recovered = null, extra = {}) => {
  const { reason, publications } = extra;
  const meta = { kind: "subscribed", channel, epoch, offset, recovered };
  if (reason !== undefined) meta.reason = reason;
  return publications ? { $ws: meta, publications } : { $ws: meta };
};

/** Every publication delivered, as "channel:offset". */
function delivered(client) {
  const seen = [];
  client.on("publication", (p) => seen.push(`${p.channel}:${p.offset}`));
  return seen;
}

describe("subscribe", () => {
  test("sends the action and resolves with the server's answer", async (t) => {
    const { client, WS } = setup(t);
    const socket = await openClient(client, WS);
    const answer = client.subscribe("room-1");
    assert.deepEqual(socket.sentJson, [{ action: "subscribe", channel: "room-1" }]);
    socket.serverMessage(subscribed("room-1", "e1", 5));
    assert.deepEqual(await answer, { channel: "room-1", epoch: "e1", offset: 5, recovered: null });
    assert.deepEqual(client.subscriptions, ["room-1"]);
    assert.deepEqual(client.position("room-1"), { offset: 5, epoch: "e1" });
  });

  test("one connection holds several channels", async (t) => {
    const { client, WS } = setup(t, { channel: "lobby" });
    const seen = delivered(client);
    const socket = await openClient(client, WS);
    const a = client.subscribe("a");
    const b = client.subscribe("b");
    socket.serverMessage(subscribed("b", "eb", 0));
    socket.serverMessage(subscribed("a", "ea", 2));
    await Promise.all([a, b]);
    socket.serverMessage(publication("a", 3, "ea", { n: 1 }));
    socket.serverMessage(publication("lobby", 9, "el", { n: 2 }));
    socket.serverMessage(publication("b", 1, "eb", { n: 3 }));
    assert.deepEqual(seen, ["a:3", "lobby:9", "b:1"]);
    assert.deepEqual(client.subscriptions.sort(), ["a", "b", "lobby"]);
    assert.equal(WS.instances.length, 1, "no reconnect to change rooms");
  });

  test("made while connecting is sent on open, before queued messages", async (t) => {
    const { client, WS } = setup(t);
    const answer = client.subscribe("room-1");
    client.send("chat", { text: "hi" });
    client.connect();
    await flush();
    assert.deepEqual(WS.last.sent, []);
    WS.last.serverOpen();
    assert.deepEqual(WS.last.sentJson, [
      { action: "subscribe", channel: "room-1" },
      { action: "chat", text: "hi" },
    ]);
    WS.last.serverMessage(subscribed("room-1", "e", 0));
    assert.equal((await answer).channel, "room-1");
  });

  test("twice while pending sends one request; once answered it resolves at once", async (t) => {
    const { client, WS } = setup(t);
    const socket = await openClient(client, WS);
    const first = client.subscribe("r");
    const second = client.subscribe("r");
    assert.equal(socket.sent.length, 1);
    socket.serverMessage(subscribed("r", "e", 1));
    assert.deepEqual(await first, await second);
    assert.deepEqual(await client.subscribe("r"), await first);
    assert.equal(socket.sent.length, 1);
  });

  test("with recover asks for what followed a saved position", async (t) => {
    const { client, WS } = setup(t);
    const seen = delivered(client);
    const socket = await openClient(client, WS);
    const answer = client.subscribe("r", { recover: { offset: 4, epoch: "e" } });
    assert.deepEqual(socket.sentJson, [
      { action: "subscribe", channel: "r", recover: { offset: 4, epoch: "e" } },
    ]);
    socket.serverMessage(
      subscribed("r", "e", 6, true, {
        publications: [publication("r", 5, "e", {}), publication("r", 6, "e", {})],
      }),
    );
    assert.equal((await answer).recovered, true);
    assert.deepEqual(seen, ["r:5", "r:6"]);
  });

  test("a refusal rejects with a ChannelError naming the action and channel", async (t) => {
    const { client, WS } = setup(t);
    const socket = await openClient(client, WS);
    const answer = client.subscribe("secret");
    socket.serverMessage({
      $ws: { kind: "error", action: "subscribe", channel: "secret" },
      error: "You may not join this channel.",
    });
    await assert.rejects(answer, (error) => {
      assert.ok(error instanceof ChannelError);
      assert.equal(error.message, "You may not join this channel.");
      assert.equal(error.action, "subscribe");
      assert.equal(error.channel, "secret");
      return true;
    });
    assert.deepEqual(client.subscriptions, []);
  });

  test("an unanswered subscribe rejects after requestTimeoutMs", async (t) => {
    const { client, WS } = setup(t, { requestTimeoutMs: 2000 });
    await openClient(client, WS);
    const answer = client.subscribe("r");
    t.mock.timers.tick(2000);
    await assert.rejects(answer, /No answer to subscribe/);
    assert.deepEqual(client.subscriptions, []);
  });

  test("uses the configured actionKey for the built-in actions", async (t) => {
    const { client, WS } = setup(t, { actionKey: "route" });
    const socket = await openClient(client, WS);
    const subscribing = client.subscribe("r");
    client.presence("r").catch(() => {});
    client.unsubscribe("r").catch(() => {});
    await assert.rejects(subscribing, /unsubscribed before the server answered/);
    assert.deepEqual(socket.sentJson, [
      { route: "subscribe", channel: "r" },
      { route: "presence", channel: "r" },
      { route: "unsubscribe", channel: "r" },
    ]);
  });

  test("needs a channel name", async (t) => {
    const { client } = setup(t);
    await assert.rejects(client.subscribe(""), TypeError);
    await assert.rejects(client.presence(), TypeError);
  });
});

describe("subscribe, more cases", () => {
  test("subscribing the connect-time channel asks for its position", async (t) => {
    const { client, WS } = setup(t, { channel: "lobby" });
    const seen = delivered(client);
    const socket = await openClient(client, WS);
    const answer = client.subscribe("lobby");
    assert.deepEqual(socket.sentJson, [{ action: "subscribe", channel: "lobby" }]);
    socket.serverMessage(subscribed("lobby", "e", 7));
    assert.equal((await answer).offset, 7);
    socket.serverMessage(publication("lobby", 8, "e", {}));
    assert.deepEqual(seen, ["lobby:8"]);
  });

  test("a channel unsubscribed can be subscribed again", async (t) => {
    const { client, WS } = setup(t);
    const seen = delivered(client);
    const socket = await openClient(client, WS);
    client.subscribe("r");
    socket.serverMessage(subscribed("r", "e", 0));
    client.unsubscribe("r");
    socket.serverMessage({ $ws: { kind: "unsubscribed", channel: "r" } });
    const again = client.subscribe("r");
    assert.deepEqual(socket.sentJson.at(-1), { action: "subscribe", channel: "r" });
    socket.serverMessage(subscribed("r", "e", 4));
    await again;
    socket.serverMessage(publication("r", 5, "e", {}));
    assert.deepEqual(seen, ["r:5"]);
  });

  test("more out-of-order publications than maxBuffered recover at once", async (t) => {
    const { client, WS } = setup(t, { maxBuffered: 3 });
    const socket = await openClient(client, WS);
    client.subscribe("r");
    socket.serverMessage(subscribed("r", "e", 0));
    for (const offset of [3, 4, 5]) socket.serverMessage(publication("r", offset, "e", {}));
    assert.equal(socket.sent.length, 1, "within the bound: the gap timer waits");
    socket.serverMessage(publication("r", 6, "e", {}));
    assert.deepEqual(socket.sentJson.at(-1), {
      action: "subscribe",
      channel: "r",
      recover: { offset: 0, epoch: "e" },
    });
  });

  test("a channel the server unsubscribed is no longer held", async (t) => {
    const { client, WS } = setup(t);
    const events = [];
    client.on("unsubscribed", (e) => events.push(e.channel));
    const socket = await openClient(client, WS);
    client.subscribe("r");
    socket.serverMessage(subscribed("r", "e", 0));
    socket.serverMessage({ $ws: { kind: "unsubscribed", channel: "r" } });
    assert.deepEqual(events, ["r"]);
    assert.deepEqual(client.subscriptions, []);
    const next = await cutAndReconnect(t, WS);
    assert.deepEqual(next.sent, []);
  });

  test("a malformed publication is reported, not delivered", async (t) => {
    const { client, WS } = setup(t);
    const errors = [];
    client.on("error", (e) => errors.push(e.message));
    const seen = delivered(client);
    const socket = await openClient(client, WS);
    socket.serverMessage({ $ws: { kind: "publication", channel: "r", offset: "7", epoch: "e" } });
    socket.serverMessage({ $ws: { kind: "publication", channel: "r", offset: 0, epoch: "e" } });
    assert.deepEqual(errors, ["Malformed channel publication", "Malformed channel publication"]);
    assert.deepEqual(seen, []);
  });

  test("frames of an unknown kind are ignored", async (t) => {
    const { client, WS } = setup(t);
    const all = [];
    client.on("*", (m) => all.push(m));
    const socket = await openClient(client, WS);
    socket.serverMessage({ $ws: { kind: "from-a-later-version" }, data: 1 });
    assert.deepEqual(all, []);
  });
});

describe("unsubscribe", () => {
  test("sends the action, resolves on the answer and drops later publications", async (t) => {
    const { client, WS } = setup(t);
    const seen = delivered(client);
    const events = [];
    client.on("unsubscribed", (e) => events.push(e));
    const socket = await openClient(client, WS);
    client.subscribe("r");
    socket.serverMessage(subscribed("r", "e", 0));
    socket.serverMessage(publication("r", 1, "e", {}));
    const done = client.unsubscribe("r");
    assert.deepEqual(socket.sentJson.at(-1), { action: "unsubscribe", channel: "r" });
    socket.serverMessage(publication("r", 2, "e", {})); // still in flight
    socket.serverMessage({ $ws: { kind: "unsubscribed", channel: "r" } });
    await done;
    socket.serverMessage(publication("r", 3, "e", {}));
    assert.deepEqual(seen, ["r:1"]);
    assert.deepEqual(events, [{ channel: "r" }]);
    assert.deepEqual(client.subscriptions, []);
  });

  test("a refusal rejects", async (t) => {
    const { client, WS } = setup(t);
    const socket = await openClient(client, WS);
    const done = client.unsubscribe("r");
    socket.serverMessage({
      $ws: { kind: "error", action: "unsubscribe", channel: "r" },
      error: "Not subscribed.",
    });
    await assert.rejects(done, { name: "ChannelError", message: "Not subscribed." });
  });

  test("while closed resolves at once and is not resubscribed", async (t) => {
    const { client, WS } = setup(t);
    const socket = await openClient(client, WS);
    client.subscribe("r");
    socket.serverMessage(subscribed("r", "e", 0));
    socket.serverClose(1006);
    await client.unsubscribe("r");
    t.mock.timers.tick(1000);
    await flush();
    WS.last.serverOpen();
    assert.deepEqual(WS.last.sent, []);
  });

  test("of the connect-time channel drops it from the next connection's URL", async (t) => {
    const { client, WS } = setup(t, { channel: "lobby" });
    const socket = await openClient(client, WS);
    client.unsubscribe("lobby");
    assert.deepEqual(socket.sentJson, [{ action: "unsubscribe", channel: "lobby" }]);
    assert.equal(client.channel, "");
    const next = await cutAndReconnect(t, WS);
    assert.equal(new URL(next.url).searchParams.get("channel"), null);
  });
});

describe("ordering and dedupe", () => {
  test("publications are delivered in offset order, each once", async (t) => {
    const { client, WS } = setup(t);
    const seen = delivered(client);
    const socket = await openClient(client, WS);
    client.subscribe("r");
    socket.serverMessage(subscribed("r", "e", 10));
    for (const offset of [12, 11, 11, 14, 10, 13, 12, 15]) {
      socket.serverMessage(publication("r", offset, "e", { offset }));
    }
    assert.deepEqual(seen, ["r:11", "r:12", "r:13", "r:14", "r:15"]);
    assert.deepEqual(client.position("r"), { offset: 15, epoch: "e" });
  });

  test("publications that arrive before the subscribe answer wait for it", async (t) => {
    const { client, WS } = setup(t);
    const seen = delivered(client);
    const socket = await openClient(client, WS);
    client.subscribe("r");
    socket.serverMessage(publication("r", 8, "e", {}));
    socket.serverMessage(publication("r", 7, "e", {}));
    socket.serverMessage(publication("r", 6, "e", {})); // published before the subscription
    assert.deepEqual(seen, []);
    socket.serverMessage(subscribed("r", "e", 6));
    assert.deepEqual(seen, ["r:7", "r:8"]);
  });

  test("the connect-time channel's first publication fixes where its stream starts", async (t) => {
    const { client, WS } = setup(t, { channel: "lobby" });
    const seen = delivered(client);
    const socket = await openClient(client, WS);
    socket.serverMessage(publication("lobby", 41, "e", {}));
    socket.serverMessage(publication("lobby", 41, "e", {}));
    socket.serverMessage(publication("lobby", 43, "e", {}));
    socket.serverMessage(publication("lobby", 42, "e", {}));
    assert.deepEqual(seen, ["lobby:41", "lobby:42", "lobby:43"]);
    assert.deepEqual(socket.sent, [], "no frame the 4.x protocol did not send");
  });

  test("publication data is dispatched by its type, with the publication", async (t) => {
    const { client, WS } = setup(t);
    const calls = [];
    client.on("chat_message", (data, meta) => calls.push(["chat", data, meta.channel, meta.offset]));
    client.on("*", (data, meta) => calls.push(["*", data, meta?.epoch]));
    const socket = await openClient(client, WS);
    client.subscribe("r");
    socket.serverMessage(subscribed("r", "e", 0));
    socket.serverMessage(publication("r", 1, "e", { type: "chat_message", text: "hi" }));
    socket.serverMessage(publication("r", 2, "e", "not an object"));
    assert.deepEqual(calls, [
      ["chat", { type: "chat_message", text: "hi" }, "r", 1],
      ["*", { type: "chat_message", text: "hi" }, "e"],
    ]);
  });

  test("a missing offset that never comes is asked for again after gapTimeoutMs", async (t) => {
    const { client, WS } = setup(t, { gapTimeoutMs: 3000 });
    const seen = delivered(client);
    const socket = await openClient(client, WS);
    client.subscribe("r");
    socket.serverMessage(subscribed("r", "e", 1));
    socket.serverMessage(publication("r", 3, "e", {}));
    t.mock.timers.tick(2999);
    assert.equal(socket.sent.length, 1);
    t.mock.timers.tick(1);
    assert.deepEqual(socket.sentJson.at(-1), {
      action: "subscribe",
      channel: "r",
      recover: { offset: 1, epoch: "e" },
    });
    socket.serverMessage(
      subscribed("r", "e", 3, true, { publications: [publication("r", 2, "e", {})] }),
    );
    assert.deepEqual(seen, ["r:2", "r:3"]);
  });

  test("the default gap timeout is five seconds", async (t) => {
    const { client, WS } = setup(t);
    const socket = await openClient(client, WS);
    client.subscribe("r");
    socket.serverMessage(subscribed("r", "e", 1));
    socket.serverMessage(publication("r", 3, "e", {}));
    t.mock.timers.tick(4999);
    assert.equal(socket.sent.length, 1);
    t.mock.timers.tick(1);
    assert.equal(socket.sent.length, 2);
  });

  test("a live publication of a new epoch says the stream was lost", async (t) => {
    const { client, WS } = setup(t);
    const seen = delivered(client);
    const failures = [];
    client.on("recoveryfailed", (f) => failures.push(f));
    const socket = await openClient(client, WS);
    client.subscribe("r");
    socket.serverMessage(subscribed("r", "old", 5));
    socket.serverMessage(publication("r", 6, "old", {}));
    socket.serverMessage(publication("r", 1, "new", {}));
    socket.serverMessage(publication("r", 2, "new", {}));
    assert.deepEqual(seen, ["r:6", "r:1", "r:2"]);
    assert.deepEqual(failures, [{ channel: "r", reason: "epoch_changed", epoch: "new", offset: 0 }]);
  });
});

describe("the quickstart's reply and its broadcast", () => {
  test("a reply carrying delivery_id does not hide the broadcast with the same delivery_id", async (t) => {
    const { client, WS } = setup(t);
    const sent = [];
    const chats = [];
    client.on("sent", (m) => sent.push(m.delivery_id));
    client.on("chat_message", (m) => chats.push(m.message));
    const socket = await openClient(client, WS);
    for (let i = 0; i < 10; i += 1) {
      const id = `report-${i}`;
      // The view's reply, then the fan-out that reaches the sender too.
      socket.serverMessage({ type: "sent", delivery_id: id });
      socket.serverMessage({
        type: "chat_message",
        message: `own ${i}`,
        delivery_id: id,
        $ws: { id },
      });
    }
    assert.equal(sent.length, 10);
    assert.equal(chats.length, 10, "10 of 10 own messages seen");
  });
});

describe("recovery after a reconnect", () => {
  test("every channel held is resubscribed from the last (offset, epoch) delivered", async (t) => {
    const { client, WS, fetch } = setup(t, { channel: "lobby" });
    const socket = await openClient(client, WS);
    client.subscribe("a");
    client.subscribe("b");
    client.subscribe("c");
    socket.serverMessage(subscribed("a", "ea", 3));
    socket.serverMessage(subscribed("b", "eb", 0));
    socket.serverMessage(subscribed("c", "ec", 0));
    socket.serverMessage(publication("a", 4, "ea", {}));
    socket.serverMessage(publication("lobby", 20, "el", {}));

    const next = await cutAndReconnect(t, WS);
    assert.equal(fetch.calls.length, 2, "a fresh token");
    assert.equal(new URL(next.url).searchParams.get("channel"), "lobby");
    const frames = next.sentJson.sort((x, y) => x.channel.localeCompare(y.channel));
    assert.deepEqual(frames, [
      { action: "subscribe", channel: "a", recover: { offset: 4, epoch: "ea" } },
      { action: "subscribe", channel: "b", recover: { offset: 0, epoch: "eb" } },
      { action: "subscribe", channel: "c", recover: { offset: 0, epoch: "ec" } },
      { action: "subscribe", channel: "lobby", recover: { offset: 20, epoch: "el" } },
    ]);
  });

  test("what was missed arrives once, in order, whatever the arrival order", async (t) => {
    const { client, WS } = setup(t);
    const seen = delivered(client);
    const socket = await openClient(client, WS);
    client.subscribe("r");
    socket.serverMessage(subscribed("r", "e", 0));
    socket.serverMessage(publication("r", 1, "e", {}));
    socket.serverMessage(publication("r", 2, "e", {}));

    const next = await cutAndReconnect(t, WS);
    // Live publications first, a missed one posted separately, then the reply with the rest
    // inline (one of them also posted), then a late repeat.
    next.serverMessage(publication("r", 7, "e", {}));
    next.serverMessage(publication("r", 4, "e", {}));
    next.serverMessage(
      subscribed("r", "e", 6, true, {
        publications: [3, 4, 5, 6].map((o) => publication("r", o, "e", {})),
      }),
    );
    next.serverMessage(publication("r", 5, "e", {}));
    next.serverMessage(publication("r", 8, "e", {}));
    assert.deepEqual(seen, ["r:1", "r:2", "r:3", "r:4", "r:5", "r:6", "r:7", "r:8"]);
  });

  test("missed publications posted after the reply are waited for", async (t) => {
    const { client, WS } = setup(t);
    const seen = delivered(client);
    const socket = await openClient(client, WS);
    client.subscribe("r");
    socket.serverMessage(subscribed("r", "e", 2));
    const next = await cutAndReconnect(t, WS);
    next.serverMessage(subscribed("r", "e", 4, true));
    next.serverMessage(publication("r", 5, "e", {}));
    assert.deepEqual(seen, []);
    next.serverMessage(publication("r", 4, "e", {}));
    next.serverMessage(publication("r", 3, "e", {}));
    assert.deepEqual(seen, ["r:3", "r:4", "r:5"]);
  });

  test("recovered: false tells the application to reload, then the live stream follows", async (t) => {
    const { client, WS } = setup(t);
    const seen = delivered(client);
    const events = [];
    client.on("recoveryfailed", (f) => events.push(["recoveryfailed", f]));
    client.on("subscribed", (s) => events.push(["subscribed", s]));
    const socket = await openClient(client, WS);
    client.subscribe("r");
    socket.serverMessage(subscribed("r", "e", 0));
    events.length = 0;
    socket.serverMessage(publication("r", 1, "e", {}));

    const next = await cutAndReconnect(t, WS);
    assert.deepEqual(next.sentJson, [
      { action: "subscribe", channel: "r", recover: { offset: 1, epoch: "e" } },
    ]);
    next.serverMessage(publication("r", 501, "e", {}));
    next.serverMessage(subscribed("r", "e", 500, false, { reason: "history_gap" }));
    next.serverMessage(publication("r", 502, "e", {}));
    assert.deepEqual(events, [
      ["recoveryfailed", { channel: "r", reason: "history_gap", epoch: "e", offset: 500 }],
      [
        "subscribed",
        { channel: "r", epoch: "e", offset: 500, recovered: false, reason: "history_gap" },
      ],
    ]);
    assert.deepEqual(seen, ["r:1", "r:501", "r:502"]);
  });

  test("a changed epoch is a failed recovery even without a reason", async (t) => {
    const { client, WS } = setup(t);
    const failures = [];
    client.on("recoveryfailed", (f) => failures.push(f.reason));
    const socket = await openClient(client, WS);
    client.subscribe("r");
    socket.serverMessage(subscribed("r", "e1", 3));
    const next = await cutAndReconnect(t, WS);
    next.serverMessage(subscribed("r", "e2", 0, false));
    assert.deepEqual(failures, ["epoch_changed"]);
    assert.deepEqual(client.position("r"), { offset: 0, epoch: "e2" });
  });

  test("the connect-time channel without anything delivered is left to the URL", async (t) => {
    const { client, WS } = setup(t, { channel: "lobby" });
    await openClient(client, WS);
    const next = await cutAndReconnect(t, WS);
    assert.deepEqual(next.sent, []);
  });

  test("a channel the server subscribed this connection to is held and recovered", async (t) => {
    const { client, WS } = setup(t);
    const socket = await openClient(client, WS);
    socket.serverMessage(publication("user-7", 12, "eu", { type: "notice" }));
    assert.deepEqual(client.subscriptions, ["user-7"]);
    const next = await cutAndReconnect(t, WS);
    assert.deepEqual(next.sentJson, [
      { action: "subscribe", channel: "user-7", recover: { offset: 12, epoch: "eu" } },
    ]);
  });

  test("a channel the server subscribed is held from its subscribed frame on", async (t) => {
    const { client, WS } = setup(t);
    const seen = delivered(client);
    const events = [];
    client.on("subscribed", (s) => events.push(s));
    const socket = await openClient(client, WS);
    socket.serverMessage(subscribed("user-7", "eu", 3));
    assert.deepEqual(events, [{ channel: "user-7", epoch: "eu", offset: 3, recovered: null }]);
    socket.serverMessage(publication("user-7", 5, "eu", {}));
    socket.serverMessage(publication("user-7", 4, "eu", {}));
    assert.deepEqual(seen, ["user-7:4", "user-7:5"], "ordered from the frame's offset");
    const next = await cutAndReconnect(t, WS);
    assert.deepEqual(next.sentJson, [
      { action: "subscribe", channel: "user-7", recover: { offset: 5, epoch: "eu" } },
    ]);
  });

  test("server code's subscribed frame crossing a recovery's answer is not taken for it", async (t) => {
    const { client, WS } = setup(t);
    const failures = [];
    client.on("recoveryfailed", (f) => failures.push(f));
    const socket = await openClient(client, WS);
    client.subscribe("r");
    socket.serverMessage(subscribed("r", "e", 2));
    const next = await cutAndReconnect(t, WS);
    next.serverMessage(subscribed("r", "e", 4)); // recovered: null
    next.serverMessage(
      subscribed("r", "e", 4, true, {
        publications: [publication("r", 3, "e", {}), publication("r", 4, "e", {})],
      }),
    );
    assert.deepEqual(failures, []);
    assert.deepEqual(client.position("r"), { offset: 4, epoch: "e" });
  });

  test("a subscribed frame of a channel unsubscribed here is ignored", async (t) => {
    const { client, WS } = setup(t);
    const socket = await openClient(client, WS);
    client.unsubscribe("r").catch(() => {});
    socket.serverMessage(subscribed("r", "e", 0));
    assert.deepEqual(client.subscriptions, []);
  });

  test("a refused resubscription is reported and the channel no longer held", async (t) => {
    const { client, WS } = setup(t);
    const errors = [];
    client.on("error", (e) => errors.push(e));
    const socket = await openClient(client, WS);
    client.subscribe("r");
    socket.serverMessage(subscribed("r", "e", 0));
    const next = await cutAndReconnect(t, WS);
    next.serverMessage({
      $ws: { kind: "error", action: "subscribe", channel: "r" },
      error: "You may not join this channel.",
    });
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof ChannelError);
    assert.equal(errors[0].channel, "r");
    assert.deepEqual(client.subscriptions, []);
  });

  test("an unanswered resubscription is sent again", async (t) => {
    const { client, WS } = setup(t, { requestTimeoutMs: 1000 });
    const socket = await openClient(client, WS);
    client.subscribe("r");
    socket.serverMessage(subscribed("r", "e", 2));
    const next = await cutAndReconnect(t, WS);
    assert.equal(next.sent.length, 1);
    t.mock.timers.tick(1000);
    assert.equal(next.sent.length, 2);
    assert.deepEqual(next.sentJson[0], next.sentJson[1]);
  });

  test("subscriptions survive close(); connect() recovers them", async (t) => {
    const { client, WS } = setup(t);
    const socket = await openClient(client, WS);
    client.subscribe("r");
    socket.serverMessage(subscribed("r", "e", 9));
    client.close();
    await flush();
    const again = await openClient(client, WS);
    assert.deepEqual(again.sentJson, [
      { action: "subscribe", channel: "r", recover: { offset: 9, epoch: "e" } },
    ]);
  });

  test("changeChannel keeps subscriptions and drops only the old connect-time channel", async (t) => {
    const { client, WS } = setup(t, { channel: "old-room" });
    const socket = await openClient(client, WS);
    client.subscribe("side");
    socket.serverMessage(subscribed("side", "es", 1));
    socket.serverMessage(publication("old-room", 5, "eo", {}));
    client.changeChannel("new-room");
    await flush();
    WS.last.serverOpen();
    assert.equal(new URL(WS.last.url).searchParams.get("channel"), "new-room");
    assert.deepEqual(WS.last.sentJson, [
      { action: "subscribe", channel: "side", recover: { offset: 1, epoch: "es" } },
    ]);
    assert.deepEqual(client.subscriptions, ["side"]);
  });
});

describe("presence", () => {
  test("presence(channel) asks and resolves with who is there", async (t) => {
    const { client, WS } = setup(t);
    const socket = await openClient(client, WS);
    const answer = client.presence("r");
    assert.deepEqual(socket.sentJson, [{ action: "presence", channel: "r" }]);
    socket.serverMessage({
      $ws: { kind: "presence", channel: "r" },
      users: [{ id: 1, name: "alice", connections: 2 }],
      anonymous: 1,
      connections: 3,
      truncated: false,
    });
    assert.deepEqual(await answer, {
      channel: "r",
      users: [{ id: 1, name: "alice", connections: 2 }],
      anonymous: 1,
      connections: 3,
      truncated: false,
    });
  });

  test("a refusal rejects; a request made while closed waits for the connection", async (t) => {
    const { client, WS } = setup(t);
    const early = client.presence("r");
    const socket = await openClient(client, WS);
    assert.deepEqual(socket.sentJson, [{ action: "presence", channel: "r" }]);
    socket.serverMessage({
      $ws: { kind: "error", action: "presence", channel: "r" },
      error: "You may not read who is in this channel.",
    });
    await assert.rejects(early, { action: "presence", channel: "r" });
  });

  test("a request whose connection closes before the answer rejects", async (t) => {
    const { client, WS } = setup(t);
    const socket = await openClient(client, WS);
    const answer = client.presence("r");
    socket.serverClose(1006);
    await assert.rejects(answer, /closed before presence was answered/);
  });

  test("an unanswered request rejects after requestTimeoutMs", async (t) => {
    const { client, WS } = setup(t, { requestTimeoutMs: 500 });
    await openClient(client, WS);
    const answer = client.presence("r");
    t.mock.timers.tick(500);
    await assert.rejects(answer, /No answer to presence/);
  });

  test("join, leave and presence_count events", async (t) => {
    const { client, WS } = setup(t);
    const events = [];
    for (const type of ["join", "leave", "presence_count"]) {
      client.on(type, (e) => events.push([type, e]));
    }
    const all = [];
    client.on("*", (m) => all.push(m));
    const socket = await openClient(client, WS);
    const alice = { id: 1, name: "alice" };
    socket.serverMessage({
      $ws: { kind: "join", channel: "r" },
      user: alice,
      connections: 1,
      total: 2,
      anonymous: 0,
    });
    socket.serverMessage({
      $ws: { kind: "leave", channel: "r" },
      user: null,
      connections: 0,
      total: 1,
      anonymous: 0,
    });
    socket.serverMessage({ $ws: { kind: "presence_count", channel: "big" }, total: 10001, anonymous: 7 });
    assert.deepEqual(events, [
      ["join", { channel: "r", user: alice, connections: 1, total: 2, anonymous: 0 }],
      ["leave", { channel: "r", user: null, connections: 0, total: 1, anonymous: 0 }],
      ["presence_count", { channel: "big", total: 10001, anonymous: 7 }],
    ]);
    assert.deepEqual(all, [], "library frames are not application messages");
  });
});
