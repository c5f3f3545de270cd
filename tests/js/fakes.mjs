// Test doubles for the browser WebSocket and fetch APIs.

/**
 * Stand-in for the browser WebSocket. Tests drive the "server" side with
 * serverOpen / serverMessage / serverClose. Every send() is recorded, even on
 * a closed socket, so a leaked heartbeat timer shows up in `sent`.
 */
export class FakeWebSocket {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSING = 2;
  static CLOSED = 3;

  /** @type {FakeWebSocket[]} */
  static instances = [];

  /** A subclass with its own `instances`, so tests do not share sockets. */
  static fresh() {
    return class extends FakeWebSocket {
      static instances = [];
    };
  }

  static get last() {
    return this.instances.at(-1);
  }

  constructor(url, protocols) {
    this.url = url;
    this.protocols = protocols;
    this.readyState = FakeWebSocket.CONNECTING;
    this.sent = [];
    this.closeCalls = [];
    this.onopen = null;
    this.onmessage = null;
    this.onclose = null;
    this.onerror = null;
    new.target.instances.push(this);
  }

  /** Messages sent by the client, parsed from JSON. */
  get sentJson() {
    return this.sent.map((data) => JSON.parse(data));
  }

  send(data) {
    if (this.readyState === FakeWebSocket.CONNECTING) {
      throw new Error("InvalidStateError: still connecting");
    }
    this.sent.push(data);
  }

  close(code = 1005, reason = "") {
    this.closeCalls.push({ code, reason });
    if (this.readyState === FakeWebSocket.CLOSED) return;
    this.readyState = FakeWebSocket.CLOSING;
    // Like a browser, the close event arrives later, not inside close().
    queueMicrotask(() => this.#finishClose(code, reason, true));
  }

  serverOpen() {
    this.readyState = FakeWebSocket.OPEN;
    this.onopen?.({ type: "open" });
  }

  serverMessage(data) {
    const frame = typeof data === "string" ? data : JSON.stringify(data);
    this.onmessage?.({ type: "message", data: frame });
  }

  serverRawMessage(data) {
    this.onmessage?.({ type: "message", data });
  }

  serverError() {
    this.onerror?.({ type: "error" });
  }

  serverClose(code = 1006, reason = "") {
    this.#finishClose(code, reason, code === 1000);
  }

  #finishClose(code, reason, wasClean) {
    if (this.readyState === FakeWebSocket.CLOSED) return;
    this.readyState = FakeWebSocket.CLOSED;
    this.onclose?.({ type: "close", code, reason, wasClean });
  }
}

/**
 * Build a fake fetch. Each call takes the next planned reply:
 * - a string: OK reply whose JSON is {token: string};
 * - an object {status, body}: reply with that status and JSON body;
 * - an Error: the fetch promise rejects with it (network failure).
 * Without a planned reply it answers with token "tok-N" (N = call number).
 */
export function makeFakeFetch(replies = []) {
  const plan = [...replies];
  const calls = [];
  async function fakeFetch(url, init = {}) {
    calls.push({ url, init });
    const reply = plan.length ? plan.shift() : `tok-${calls.length}`;
    if (reply instanceof Error) throw reply;
    const { status, body } =
      typeof reply === "string" ? { status: 200, body: { token: reply } } : reply;
    return {
      ok: status >= 200 && status < 300,
      status,
      json: async () => body,
    };
  }
  fakeFetch.calls = calls;
  fakeFetch.plan = (reply) => plan.push(reply);
  return fakeFetch;
}

/** Let every pending promise callback and microtask run. */
export function flush() {
  return new Promise((resolve) => setImmediate(resolve));
}
