/**
 * Browser client for WebSockets served through AWS API Gateway and Django.
 *
 * API Gateway holds the socket; Django authenticates the connection with a
 * single-use token handed out by a same-origin endpoint. This module fetches
 * that token, opens the socket, reconnects with backoff, keeps the connection
 * alive with a heartbeat and dispatches server messages by their `type`.
 *
 * Channels: one connection holds many subscriptions (`subscribe`,
 * `unsubscribe`); channel publications are delivered once each, in offset
 * order, and after a reconnect every channel is resubscribed from the last
 * offset delivered, so what was published meanwhile arrives (or a
 * `recoveryfailed` event says the application must reload that channel).
 * Presence: `presence(channel)` and the `join`/`leave`/`presence_count`
 * events. The wire format is the `"$ws"` envelope of docs/client.md.
 *
 * No dependencies, no build step: load it with
 * `<script type="module">import { WebSocketClient } from ".../websocket-client.js";</script>`.
 * Types: websocket-client.d.ts beside this file.
 *
 * @module websocket-client
 */

const SOCKET_OPEN = 1;
const SOCKET_CONNECTING = 0;
/** The reserved top-level key of every frame the library itself produces. */
const ENVELOPE = "$ws";

// The subprotocols that carry the token when `tokenInProtocol` is on; the
// server answers with TOKEN_PROTOCOL (see docs/client.md).
const TOKEN_PROTOCOL = "django-gateway-sockets";
const TOKEN_PROTOCOL_PREFIX = "ws_token.";

/**
 * Read Django's CSRF cookie (`csrftoken`) from `document.cookie`.
 *
 * @returns {string} The token, or an empty string when there is none.
 */
export function readCsrfCookie() {
  if (typeof document === "undefined" || !document.cookie) return "";
  for (const part of document.cookie.split(";")) {
    const eq = part.indexOf("=");
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === "csrftoken") {
      return decodeURIComponent(part.slice(eq + 1).trim());
    }
  }
  return "";
}

/**
 * A refusal of a built-in action (`subscribe`, `unsubscribe`, `presence`), or
 * a request the server never answered.
 */
export class ChannelError extends Error {
  /**
   * @param {string} message What was wrong, as the server said it.
   * @param {{action?: string, channel?: string, reply?: object}} [details]
   */
  constructor(message, { action, channel, reply } = {}) {
    super(message);
    this.name = "ChannelError";
    /** The action refused: "subscribe", "unsubscribe" or "presence". */
    this.action = action;
    /** The channel it named. */
    this.channel = channel;
    /** The server's error frame, when there was one. */
    this.reply = reply;
  }
}

/**
 * @typedef {"idle" | "connecting" | "open" | "closed"} ClientState
 */

/**
 * @typedef {object} WebSocketClientOptions
 * @property {string} url The gateway's `ws://` or `wss://` URL.
 * @property {string} [tokenUrl="/api/ws-token/"] Same-origin endpoint that
 *   answers a POST with `{"token": "..."}`.
 * @property {string} [channel=""] Channel to join at connect time (the
 *   connection's first subscription); sent as the `channel` query parameter,
 *   left out when empty.
 * @property {string} [actionKey="action"] Key that carries the action name in
 *   every message sent with {@link WebSocketClient#send} and in the built-in
 *   actions.
 * @property {number} [heartbeatIntervalMs=300000] Interval of the keep-alive
 *   message; 0 turns the heartbeat off.
 * @property {object | string} [heartbeatMessage={action: "ping"}] What the
 *   heartbeat sends; objects are JSON-encoded, strings are sent as they are.
 * @property {boolean} [reconnect=true] Reconnect after an unexpected close or
 *   a failed attempt.
 * @property {number} [minReconnectDelayMs=1000] Backoff base for attempt 1.
 * @property {number} [maxReconnectDelayMs=30000] Backoff ceiling.
 * @property {boolean} [queueWhileClosed=true] Queue messages sent while the
 *   socket is not open, instead of throwing.
 * @property {number} [maxQueue=100] Most messages the queue holds.
 * @property {number} [dedupeWindow=1000] How many recent `$ws.id`s of plain
 *   sends are remembered to drop repeated deliveries; 0 turns this off.
 * @property {number} [requestTimeoutMs=10000] How long a built-in action
 *   waits for its reply before its promise rejects.
 * @property {number} [gapTimeoutMs=5000] How long a channel waits for a
 *   missing offset before it asks the server to recover from the last one
 *   delivered.
 * @property {number} [maxBuffered=1000] Most out-of-order publications held
 *   per channel; beyond it the channel recovers at once.
 * @property {typeof WebSocket} [WebSocket] WebSocket constructor to use.
 * @property {typeof fetch} [fetch] fetch implementation to use.
 * @property {() => (string | Promise<string>)} [getCsrfToken] Returns the CSRF
 *   token; defaults to reading the `csrftoken` cookie.
 * @property {() => number} [random=Math.random] Source of backoff jitter.
 * @property {boolean} [tokenInProtocol=false] Carry the token in
 *   `Sec-WebSocket-Protocol` (offering `django-gateway-sockets` and
 *   `ws_token.<token>`) instead of the URL, which access logs record.
 */

/**
 * One channel the client holds: where its stream is, what waits to be
 * delivered in order, and the subscribe request in flight.
 */
class Subscription {
  /** @param {string} channel @param {boolean} explicit */
  constructor(channel, explicit) {
    this.channel = channel;
    // Called subscribe() (else: the connect-time channel, or one the server subscribed).
    this.explicit = explicit;
    /** @type {string | null} */
    this.epoch = null;
    /** Last offset delivered (or the start of the live stream). @type {number | null} */
    this.offset = null;
    /** Highest offset the server said exists in this epoch. */
    this.known = 0;
    /** A subscribe request is awaiting its reply on the current socket. */
    this.pending = false;
    /** The position the pending request asked to recover from. */
    this.asked = null;
    /** Publications waiting for the offsets before them, by "epoch:offset". */
    this.buffer = new Map();
    /** @type {{resolve: (r: object) => void, reject: (e: Error) => void}[]} */
    this.waiters = [];
    /** The last `subscribed` answer. */
    this.result = null;
    this.gapTimer = null;
    this.requestTimer = null;
  }

  get position() {
    return this.epoch === null || this.offset === null
      ? null
      : { offset: this.offset, epoch: this.epoch };
  }

  /** Whether an offset is known to exist that has not been delivered yet. */
  get behind() {
    if (this.offset === null) return false;
    if (this.offset < this.known) return true;
    for (const publication of this.buffer.values()) {
      if (publication.epoch === this.epoch && publication.offset > this.offset) return true;
    }
    return false;
  }

  clearTimers() {
    clearTimeout(this.gapTimer);
    clearTimeout(this.requestTimer);
    this.gapTimer = null;
    this.requestTimer = null;
  }
}

/** Parse a publication frame's envelope, or null when it is not one. */
function parsePublication(frame) {
  const meta = frame !== null && typeof frame === "object" ? frame[ENVELOPE] : null;
  if (meta === null || typeof meta !== "object" || meta.kind !== "publication") return null;
  if (typeof meta.channel !== "string" || typeof meta.epoch !== "string") return null;
  if (!Number.isInteger(meta.offset) || meta.offset < 1) return null;
  return {
    channel: meta.channel,
    offset: meta.offset,
    epoch: meta.epoch,
    id: meta.id,
    data: frame.data,
  };
}

function isPlainObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * A WebSocket connection to API Gateway that authenticates with a fresh
 * token on every attempt, reconnects, queues, deduplicates and heartbeats,
 * and holds channel subscriptions across reconnects.
 *
 * Events for {@link WebSocketClient#on}:
 * - any server message `type`: the parsed message; for a channel publication
 *   whose data has a `type`, the data, with the publication as the second
 *   argument;
 * - `"*"`: every application message (plain sends, replies of the
 *   application's own actions, publications' data with the publication);
 * - `"publication"`: every channel publication, in offset order, once:
 *   `{channel, offset, epoch, id, data}`;
 * - `"subscribed"`: `{channel, epoch, offset, recovered, reason}`;
 * - `"unsubscribed"`: `{channel}`;
 * - `"recoveryfailed"`: `{channel, reason, epoch, offset}`: what was
 *   published while this client was away cannot be delivered; reload the
 *   channel's state;
 * - `"join"`, `"leave"`: `{channel, user, connections, total, anonymous}`;
 * - `"presence_count"`: `{channel, total, anonymous}`;
 * - `"raw"`: frames that are not a JSON object (the frame's data);
 * - `"open"`: the socket opened (no argument);
 * - `"close"`: the socket closed (the CloseEvent);
 * - `"reconnecting"`: `{attempt, delayMs}` before a reconnect is scheduled;
 * - `"error"`: a socket error event, a failed token request (an Error), an
 *   Error thrown by a handler, or a {@link ChannelError} for a refused
 *   resubscription.
 *
 * Lifecycle names share the namespace with message types, so a server
 * message with `type: "error"` also reaches `"error"` handlers.
 */
export class WebSocketClient {
  #url;
  #tokenUrl;
  #channel;
  #actionKey;
  #heartbeatIntervalMs;
  #heartbeatMessage;
  #reconnect;
  #minDelay;
  #maxDelay;
  #queueWhileClosed;
  #maxQueue;
  #dedupeWindow;
  #requestTimeoutMs;
  #gapTimeoutMs;
  #maxBuffered;
  #WebSocket;
  #fetch;
  #getCsrfToken;
  #random;
  #tokenInProtocol;

  /** @type {ClientState} */
  #state = "idle";
  /** @type {WebSocket | null} */
  #socket = null;
  /** The channel in the current socket's URL (the server subscribed it at connect). */
  #socketChannel = "";
  #handlers = new Map();
  /** @type {string[]} */
  #queue = [];
  #seenIds = new Set();
  /** @type {Map<string, Subscription>} */
  #subscriptions = new Map();
  /** Channels unsubscribed here: their late publications are dropped. */
  #left = new Set();
  /** unsubscribe / presence requests awaiting their reply. */
  #requests = [];
  #attempt = 0;
  // Bumped whenever an in-flight attempt must be abandoned (close, channel
  // change, new attempt), so a late token reply cannot open a stale socket.
  #generation = 0;
  #closedByUser = false;
  #reconnectTimer = null;
  #heartbeatTimer = null;
  /** @type {{resolve: () => void, reject: (e: Error) => void}[]} */
  #waiters = [];

  /**
   * @param {WebSocketClientOptions} options
   */
  constructor({
    url,
    tokenUrl = "/api/ws-token/",
    channel = "",
    actionKey = "action",
    heartbeatIntervalMs = 300000,
    heartbeatMessage = { action: "ping" },
    reconnect = true,
    minReconnectDelayMs = 1000,
    maxReconnectDelayMs = 30000,
    queueWhileClosed = true,
    maxQueue = 100,
    dedupeWindow = 1000,
    requestTimeoutMs = 10000,
    gapTimeoutMs = 5000,
    maxBuffered = 1000,
    WebSocket = globalThis.WebSocket,
    fetch = typeof globalThis.fetch === "function" ? globalThis.fetch.bind(globalThis) : undefined,
    getCsrfToken = readCsrfCookie,
    random = Math.random,
    tokenInProtocol = false,
  } = {}) {
    if (!url) throw new Error("WebSocketClient needs the gateway url");
    this.#url = url;
    this.#tokenUrl = tokenUrl;
    this.#channel = channel ?? "";
    this.#actionKey = actionKey;
    this.#heartbeatIntervalMs = heartbeatIntervalMs;
    this.#heartbeatMessage = heartbeatMessage;
    this.#reconnect = reconnect;
    this.#minDelay = minReconnectDelayMs;
    this.#maxDelay = maxReconnectDelayMs;
    this.#queueWhileClosed = queueWhileClosed;
    this.#maxQueue = maxQueue;
    this.#dedupeWindow = dedupeWindow;
    this.#requestTimeoutMs = requestTimeoutMs;
    this.#gapTimeoutMs = gapTimeoutMs;
    this.#maxBuffered = maxBuffered;
    this.#WebSocket = WebSocket;
    this.#fetch = fetch;
    this.#getCsrfToken = getCsrfToken;
    this.#random = random;
    this.#tokenInProtocol = tokenInProtocol;
  }

  /**
   * Current state of the client.
   * @returns {ClientState}
   */
  get state() {
    return this.#state;
  }

  /**
   * The channel used for the current or next connection.
   * @returns {string}
   */
  get channel() {
    return this.#channel;
  }

  /**
   * The channels this client holds: those subscribed with
   * {@link WebSocketClient#subscribe}, and the connect-time channel or a
   * channel the server subscribed once a publication of it arrived.
   * @returns {string[]}
   */
  get subscriptions() {
    return [...this.#subscriptions.keys()];
  }

  /**
   * The last (offset, epoch) delivered for a channel, as a reconnect would
   * ask to recover from; null when none is known.
   *
   * @param {string} channel
   * @returns {{offset: number, epoch: string} | null}
   */
  position(channel) {
    return this.#subscriptions.get(channel)?.position ?? null;
  }

  /**
   * Fetch a token and open the socket. Failed attempts are retried with
   * backoff when `reconnect` is on.
   *
   * @returns {Promise<void>} Resolves once the socket is open; rejects when
   *   {@link WebSocketClient#close} is called first, or when an attempt fails
   *   and `reconnect` is off.
   */
  connect() {
    if (this.#state === "open") return Promise.resolve();
    const opened = new Promise((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
    });
    if (this.#state !== "connecting") {
      this.#closedByUser = false;
      this.#attempt = 0;
      void this.#attemptConnect();
    }
    return opened;
  }

  /**
   * Send `{[actionKey]: action, ...payload}` as JSON.
   *
   * @param {string} action Action name, routed by API Gateway.
   * @param {object} [payload={}] Further fields of the message.
   * @returns {boolean} true when sent at once, false when queued.
   * @throws {Error} When the socket is not open and queueing is off, or the
   *   queue is full.
   */
  send(action, payload = {}) {
    const data = JSON.stringify({ [this.#actionKey]: action, ...payload });
    if (this.#isOpen()) {
      this.#socket.send(data);
      return true;
    }
    if (!this.#queueWhileClosed) {
      throw new Error("WebSocket is closed: cannot send (queueWhileClosed is off)");
    }
    if (this.#queue.length >= this.#maxQueue) {
      throw new Error(`WebSocket send queue is full (${this.#maxQueue} messages)`);
    }
    this.#queue.push(data);
    return false;
  }

  /**
   * Subscribe this connection to a channel, and keep it subscribed across
   * reconnects. While the socket is not open the request waits for it.
   *
   * @param {string} channel
   * @param {{recover?: {offset: number, epoch: string}}} [options] `recover`:
   *   deliver what was published after this position (e.g. one saved before
   *   the page reloaded) instead of starting at the live stream.
   * @returns {Promise<{channel: string, epoch: string, offset: number,
   *   recovered: boolean | null, reason?: string}>} The server's answer;
   *   rejects with a {@link ChannelError} when it refuses.
   */
  subscribe(channel, { recover } = {}) {
    if (typeof channel !== "string" || channel === "") {
      return Promise.reject(new TypeError("subscribe needs a channel name"));
    }
    this.#left.delete(channel);
    let subscription = this.#subscriptions.get(channel);
    if (subscription && subscription.explicit && !subscription.pending && subscription.result) {
      return Promise.resolve(subscription.result);
    }
    if (!subscription) {
      subscription = new Subscription(channel, true);
      this.#subscriptions.set(channel, subscription);
    }
    subscription.explicit = true;
    if (recover && subscription.position === null) {
      subscription.epoch = String(recover.epoch);
      subscription.offset = Number(recover.offset);
    }
    const answered = new Promise((resolve, reject) => {
      subscription.waiters.push({ resolve, reject });
    });
    if (!subscription.pending && this.#isOpen()) this.#requestSubscribe(subscription);
    return answered;
  }

  /**
   * Stop receiving a channel. Its publications still in flight are dropped.
   * Unsubscribing the connect-time channel also drops it from the URL of
   * later connections.
   *
   * @param {string} channel
   * @returns {Promise<void>} Resolves when the server confirmed (at once when
   *   there is no connection to tell); rejects with a {@link ChannelError}
   *   when it refuses.
   */
  unsubscribe(channel) {
    const subscription = this.#subscriptions.get(channel);
    if (subscription) this.#drop(subscription, "unsubscribed before the server answered");
    this.#left.add(channel);
    if (channel === this.#channel) this.#channel = "";
    // Only a connection that holds the channel needs telling: the open one, or one
    // opening whose URL named it.
    const held = this.#socket !== null && (this.#isOpen() || this.#socketChannel === channel);
    if (!held) return Promise.resolve();
    return this.#request("unsubscribe", channel).then(() => undefined);
  }

  /**
   * Who is in a channel, as the server's `presence` action answers.
   *
   * @param {string} channel
   * @returns {Promise<{channel: string, users: {id: unknown, name: string,
   *   connections: number}[], anonymous: number, connections: number,
   *   truncated: boolean}>} Rejects with a {@link ChannelError} when the
   *   server refuses or does not answer.
   */
  presence(channel) {
    if (typeof channel !== "string" || channel === "") {
      return Promise.reject(new TypeError("presence needs a channel name"));
    }
    return this.#request("presence", channel);
  }

  /**
   * Register a handler for a message type or lifecycle event.
   *
   * @param {string} type Message `type`, `"*"`, `"raw"`, `"open"`, `"close"`,
   *   `"reconnecting"`, `"error"` or a channel event.
   * @param {(value: any, publication?: object) => void} handler
   * @returns {() => void} Function that removes the handler.
   */
  on(type, handler) {
    if (typeof handler !== "function") throw new TypeError("handler must be a function");
    let set = this.#handlers.get(type);
    if (!set) {
      set = new Set();
      this.#handlers.set(type, set);
    }
    set.add(handler);
    return () => this.off(type, handler);
  }

  /**
   * Remove a handler registered with {@link WebSocketClient#on}.
   *
   * @param {string} type
   * @param {(value: any, publication?: object) => void} handler
   */
  off(type, handler) {
    const set = this.#handlers.get(type);
    if (!set) return;
    set.delete(handler);
    if (set.size === 0) this.#handlers.delete(type);
  }

  /**
   * Switch to another channel: close the current socket and connect again
   * at once, with a fresh token. Messages sent meanwhile follow the queue
   * rule. The old socket is detached first, so its close is not reported as
   * a "close" event and nothing more arrives from the old channel. When the
   * client is idle or closed only the channel is stored. Channels held with
   * {@link WebSocketClient#subscribe} stay held (and are recovered on the new
   * connection); {@link WebSocketClient#subscribe} changes room without a
   * reconnect.
   *
   * @param {string} name
   * @returns {Promise<void>} Resolves when the new socket is open.
   */
  changeChannel(name) {
    const previous = this.#subscriptions.get(this.#channel);
    if (previous && !previous.explicit) this.#drop(previous, "channel changed");
    this.#channel = name ?? "";
    this.#left.delete(this.#channel);
    if (this.#state === "idle" || this.#state === "closed") return Promise.resolve();
    this.#clearReconnectTimer();
    this.#stopHeartbeat();
    this.#retireSocket(1000, "channel change");
    this.#attempt = 0;
    const opened = new Promise((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
    });
    void this.#attemptConnect();
    return opened;
  }

  /**
   * Close the socket for good: no heartbeat, no reconnect. A later
   * {@link WebSocketClient#connect} starts over, and resubscribes the
   * channels still held, recovering what was published meanwhile.
   *
   * @param {number} [code=1000]
   * @param {string} [reason=""]
   */
  close(code = 1000, reason = "") {
    this.#closedByUser = true;
    this.#generation += 1;
    this.#clearReconnectTimer();
    this.#stopHeartbeat();
    this.#state = "closed";
    this.#rejectWaiters(new Error("WebSocketClient was closed before the connection opened"));
    const socket = this.#socket;
    if (socket) {
      // Keep onclose so the "close" event still reaches handlers.
      socket.onopen = null;
      socket.onmessage = null;
      this.#socketGone(socket);
      if (socket.readyState === SOCKET_OPEN || socket.readyState === SOCKET_CONNECTING) {
        socket.close(code, reason);
      }
    }
  }

  #isOpen() {
    return (
      this.#socket !== null && this.#socket.readyState === SOCKET_OPEN && this.#state === "open"
    );
  }

  async #attemptConnect() {
    const generation = ++this.#generation;
    this.#state = "connecting";
    let token;
    try {
      token = await this.#requestToken();
    } catch (error) {
      if (generation !== this.#generation) return;
      this.#emit("error", error);
      this.#attemptFailed();
      return;
    }
    if (generation !== this.#generation) return;

    let socket;
    try {
      if (typeof this.#WebSocket !== "function") throw new Error("WebSocket is not available");
      socket = this.#tokenInProtocol
        ? new this.#WebSocket(this.#socketUrl(""), [TOKEN_PROTOCOL, TOKEN_PROTOCOL_PREFIX + token])
        : new this.#WebSocket(this.#socketUrl(token));
    } catch (error) {
      this.#emit("error", error);
      this.#attemptFailed();
      return;
    }
    this.#socket = socket;
    this.#socketChannel = this.#channel;
    socket.onopen = () => this.#handleOpen(socket);
    socket.onmessage = (event) => this.#handleMessage(socket, event);
    socket.onerror = (event) => {
      if (socket === this.#socket) this.#emit("error", event);
    };
    socket.onclose = (event) => this.#handleClose(socket, event);
  }

  async #requestToken() {
    if (typeof this.#fetch !== "function") throw new Error("fetch is not available");
    const headers = { "Content-Type": "application/json" };
    const csrf = await this.#getCsrfToken();
    if (csrf) headers["X-CSRFToken"] = csrf;
    const response = await this.#fetch(this.#tokenUrl, {
      method: "POST",
      credentials: "same-origin",
      headers,
      body: JSON.stringify({ channel: this.#channel }),
    });
    if (!response.ok) {
      throw new Error(`Token request failed with HTTP ${response.status}`);
    }
    const body = await response.json();
    if (!body || typeof body.token !== "string" || body.token === "") {
      throw new Error("Token response has no token");
    }
    return body.token;
  }

  #socketUrl(token) {
    const params = [];
    if (token) params.push("ws_token=" + encodeURIComponent(token));
    if (this.#channel) params.push("channel=" + encodeURIComponent(this.#channel));
    if (!params.length) return this.#url;
    return this.#url + (this.#url.includes("?") ? "&" : "?") + params.join("&");
  }

  #handleOpen(socket) {
    if (socket !== this.#socket) return;
    this.#state = "open";
    this.#attempt = 0;
    this.#startHeartbeat(socket);
    // Subscriptions first, so what the application queued meets its channels held.
    for (const subscription of this.#subscriptions.values()) {
      // The connect-time channel with nothing delivered yet: the URL subscribed it.
      if (!subscription.explicit && subscription.position === null) continue;
      this.#requestSubscribe(subscription);
    }
    for (const request of this.#requests) {
      if (request.socket === null) this.#sendRequest(request);
    }
    const queued = this.#queue;
    this.#queue = [];
    for (const data of queued) socket.send(data);
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter.resolve();
    this.#emit("open");
  }

  #handleMessage(socket, event) {
    if (socket !== this.#socket) return;
    const data = event.data;
    let message;
    if (typeof data === "string") {
      try {
        message = JSON.parse(data);
      } catch {
        message = undefined;
      }
    }
    if (!isPlainObject(message)) {
      this.#emit("raw", data);
      return;
    }
    const meta = message[ENVELOPE];
    if (isPlainObject(meta) && typeof meta.kind === "string") {
      this.#handleLibraryFrame(meta, message);
      return;
    }
    // A plain send: dedupe by the library's own id only, never by `delivery_id`,
    // which an application may copy into its own reply (the sender would then lose
    // its broadcast as a "repeat").
    if (isPlainObject(meta) && this.#isDuplicate(meta.id)) return;
    if (typeof message.type === "string") this.#emit(message.type, message);
    this.#emit("*", message);
  }

  #handleLibraryFrame(meta, message) {
    const channel = meta.channel;
    switch (meta.kind) {
      case "publication":
        this.#handlePublication(message);
        return;
      case "subscribed":
        this.#handleSubscribed(meta, message);
        return;
      case "unsubscribed":
        this.#settleRequest("unsubscribe", channel, { channel });
        this.#handleUnsubscribed(channel);
        return;
      case "presence":
        this.#settleRequest("presence", channel, {
          channel,
          users: Array.isArray(message.users) ? message.users : [],
          anonymous: message.anonymous ?? 0,
          connections: message.connections ?? 0,
          truncated: Boolean(message.truncated),
        });
        return;
      case "join":
      case "leave":
        this.#emit(meta.kind, {
          channel,
          user: message.user ?? null,
          connections: message.connections ?? 0,
          total: message.total ?? 0,
          anonymous: message.anonymous ?? 0,
        });
        return;
      case "presence_count":
        this.#emit("presence_count", {
          channel,
          total: message.total ?? 0,
          anonymous: message.anonymous ?? 0,
        });
        return;
      case "error":
        this.#handleRefusal(meta, message);
        return;
      default:
      // A kind of a later version: nothing here knows what it means.
    }
  }

  #isDuplicate(id) {
    if (id === undefined || id === null || this.#dedupeWindow <= 0) return false;
    const key = String(id);
    if (this.#seenIds.has(key)) return true;
    this.#seenIds.add(key);
    // A Set iterates in insertion order, so the first value is the oldest.
    while (this.#seenIds.size > this.#dedupeWindow) {
      this.#seenIds.delete(this.#seenIds.values().next().value);
    }
    return false;
  }

  // Channels: ordering, dedupe and recovery

  #handlePublication(frame) {
    const publication = parsePublication(frame);
    if (publication === null) {
      this.#emit("error", new Error("Malformed channel publication"));
      return;
    }
    let subscription = this.#subscriptions.get(publication.channel);
    if (!subscription) {
      if (this.#left.has(publication.channel)) return;
      // The connect-time channel, or one server code subscribed this connection to.
      subscription = new Subscription(publication.channel, false);
      this.#subscriptions.set(publication.channel, subscription);
    }
    if (subscription.pending) {
      // Until the reply says where the stream starts, hold everything.
      this.#hold(subscription, publication);
      return;
    }
    if (subscription.position === null) {
      // The first publication of a channel joined without a reply fixes the start.
      subscription.epoch = publication.epoch;
      subscription.offset = publication.offset - 1;
    } else if (publication.epoch !== subscription.epoch) {
      // The server lost the stream: what was missed of the old one is gone.
      this.#emit("recoveryfailed", {
        channel: subscription.channel,
        reason: "epoch_changed",
        epoch: publication.epoch,
        offset: publication.offset - 1,
      });
      if (this.#subscriptions.get(subscription.channel) !== subscription) return;
      subscription.epoch = publication.epoch;
      subscription.offset = publication.offset - 1;
      subscription.known = 0;
      subscription.buffer.clear();
    }
    this.#hold(subscription, publication);
    this.#drain(subscription);
  }

  #hold(subscription, publication) {
    subscription.buffer.set(`${publication.epoch}:${publication.offset}`, publication);
    if (subscription.buffer.size > this.#maxBuffered && !subscription.pending && this.#isOpen()) {
      this.#requestSubscribe(subscription);
    }
  }

  /** Deliver what follows the last offset delivered, in order; drop what is stale. */
  #drain(subscription) {
    const current = () => this.#subscriptions.get(subscription.channel) === subscription;
    for (;;) {
      const key = `${subscription.epoch}:${subscription.offset + 1}`;
      const next = subscription.buffer.get(key);
      if (next === undefined) break;
      subscription.buffer.delete(key);
      subscription.offset = next.offset;
      this.#deliver(next);
      if (!current() || subscription.pending) return;
    }
    for (const [key, publication] of subscription.buffer) {
      if (publication.epoch !== subscription.epoch || publication.offset <= subscription.offset) {
        subscription.buffer.delete(key);
      }
    }
    this.#watchGap(subscription);
  }

  #deliver(publication) {
    this.#emit("publication", publication);
    const data = publication.data;
    if (!isPlainObject(data)) return;
    if (typeof data.type === "string") this.#emit(data.type, data, publication);
    this.#emit("*", data, publication);
  }

  /** A missing offset that does not come is asked for again, from the last delivered. */
  #watchGap(subscription) {
    if (!subscription.behind) {
      clearTimeout(subscription.gapTimer);
      subscription.gapTimer = null;
      return;
    }
    if (subscription.gapTimer !== null || subscription.pending) return;
    subscription.gapTimer = setTimeout(() => {
      subscription.gapTimer = null;
      if (this.#subscriptions.get(subscription.channel) !== subscription) return;
      if (subscription.behind && !subscription.pending && this.#isOpen()) {
        this.#requestSubscribe(subscription);
      }
    }, this.#gapTimeoutMs);
  }

  #requestSubscribe(subscription) {
    clearTimeout(subscription.gapTimer);
    subscription.gapTimer = null;
    const frame = { [this.#actionKey]: "subscribe", channel: subscription.channel };
    subscription.asked = subscription.position;
    if (subscription.asked) frame.recover = { ...subscription.asked };
    subscription.pending = true;
    this.#socket.send(JSON.stringify(frame));
    clearTimeout(subscription.requestTimer);
    subscription.requestTimer = setTimeout(() => {
      subscription.requestTimer = null;
      if (!subscription.pending || this.#subscriptions.get(subscription.channel) !== subscription) {
        return;
      }
      if (subscription.waiters.length) {
        this.#drop(subscription, `No answer to subscribe within ${this.#requestTimeoutMs} ms`);
      } else if (this.#isOpen()) {
        this.#requestSubscribe(subscription);
      }
    }, this.#requestTimeoutMs);
  }

  #handleSubscribed(meta, message) {
    let subscription = this.#subscriptions.get(meta.channel);
    if (!subscription && typeof meta.channel === "string" && !this.#left.has(meta.channel)) {
      // Server code subscribed this connection: hold the channel from here on, so that a
      // reconnect resubscribes it even before its first publication.
      subscription = new Subscription(meta.channel, false);
      subscription.pending = true;
      this.#subscriptions.set(meta.channel, subscription);
    }
    if (!subscription || !subscription.pending) return;
    // A recovery asked for is answered true or false: a null one is server code's own
    // subscribed frame crossing the answer, which is still to come.
    if (subscription.asked && (meta.recovered ?? null) === null) return;
    subscription.pending = false;
    clearTimeout(subscription.requestTimer);
    subscription.requestTimer = null;
    const epoch = String(meta.epoch);
    const offset = Number.isInteger(meta.offset) ? meta.offset : 0;
    const recovered = meta.recovered ?? null;
    const asked = subscription.asked;
    subscription.asked = null;
    const result = { channel: subscription.channel, epoch, offset, recovered };
    if (meta.reason !== undefined) result.reason = meta.reason;
    let failure = null;
    if (asked && recovered === true && asked.epoch === epoch) {
      // Recovered: keep the position; everything up to `offset` must come.
      subscription.known = Math.max(subscription.known, offset);
    } else {
      if (asked) {
        failure = {
          channel: subscription.channel,
          reason: meta.reason ?? (asked.epoch !== epoch ? "epoch_changed" : "not_recovered"),
          epoch,
          offset,
        };
      }
      // A fresh subscription (or a failed recovery) starts at the live stream.
      subscription.epoch = epoch;
      subscription.offset = offset;
      subscription.known = offset;
    }
    subscription.result = result;
    for (const frame of Array.isArray(message.publications) ? message.publications : []) {
      const publication = parsePublication(frame);
      if (publication && publication.channel === subscription.channel) {
        this.#hold(subscription, publication);
      }
    }
    if (failure) this.#emit("recoveryfailed", failure);
    this.#emit("subscribed", result);
    const waiters = subscription.waiters;
    subscription.waiters = [];
    for (const waiter of waiters) waiter.resolve(result);
    if (this.#subscriptions.get(subscription.channel) === subscription && !subscription.pending) {
      this.#drain(subscription);
    }
  }

  #handleUnsubscribed(channel) {
    // Also what server code sends when it unsubscribes this connection.
    const subscription = this.#subscriptions.get(channel);
    if (subscription && !subscription.pending) this.#drop(subscription, "unsubscribed");
    this.#emit("unsubscribed", { channel });
  }

  #handleRefusal(meta, message) {
    const text = typeof message.error === "string" ? message.error : "Refused";
    const error = new ChannelError(text, {
      action: meta.action,
      channel: meta.channel,
      reply: message,
    });
    if (meta.action === "subscribe") {
      const subscription = this.#subscriptions.get(meta.channel);
      if (subscription && subscription.pending) {
        const hadWaiters = subscription.waiters.length > 0;
        this.#drop(subscription, error);
        // A resubscription nobody awaits: say so, since the channel is no longer held.
        if (!hadWaiters) this.#emit("error", error);
        return;
      }
    } else if (this.#settleRequest(meta.action, meta.channel, null, error)) {
      return;
    }
    this.#emit("error", error);
  }

  /** Stop holding a channel; its pending subscribe promises reject. */
  #drop(subscription, reason) {
    subscription.clearTimers();
    subscription.buffer.clear();
    if (this.#subscriptions.get(subscription.channel) === subscription) {
      this.#subscriptions.delete(subscription.channel);
    }
    const error =
      reason instanceof Error
        ? reason
        : new ChannelError(reason, { action: "subscribe", channel: subscription.channel });
    const waiters = subscription.waiters;
    subscription.waiters = [];
    for (const waiter of waiters) waiter.reject(error);
  }

  // unsubscribe / presence requests

  #request(action, channel) {
    return new Promise((resolve, reject) => {
      const request = { action, channel, resolve, reject, socket: null, timer: null };
      this.#requests.push(request);
      request.timer = setTimeout(() => {
        this.#settleRequest(
          action,
          channel,
          null,
          new ChannelError(`No answer to ${action} within ${this.#requestTimeoutMs} ms`, {
            action,
            channel,
          }),
          request,
        );
      }, this.#requestTimeoutMs);
      if (this.#isOpen()) this.#sendRequest(request);
    });
  }

  #sendRequest(request) {
    request.socket = this.#socket;
    this.#socket.send(
      JSON.stringify({ [this.#actionKey]: request.action, channel: request.channel }),
    );
  }

  /** Answer the oldest matching request (or `only`); whether there was one. */
  #settleRequest(action, channel, value, error = null, only = null) {
    const index = this.#requests.findIndex((request) =>
      only ? request === only : request.action === action && request.channel === channel,
    );
    if (index === -1) return false;
    const [request] = this.#requests.splice(index, 1);
    clearTimeout(request.timer);
    if (error) request.reject(error);
    else request.resolve(value);
    return true;
  }

  /** A socket ended: its requests will never be answered; channels must resubscribe. */
  #socketGone(socket) {
    for (const request of [...this.#requests]) {
      if (request.socket !== socket) continue;
      if (request.action === "unsubscribe") {
        // The connection's subscriptions ended with it: nothing is left to undo.
        this.#settleRequest(request.action, request.channel, undefined, null, request);
        continue;
      }
      const text = `The connection closed before ${request.action} was answered`;
      const error = new ChannelError(text, { action: request.action, channel: request.channel });
      this.#settleRequest(request.action, request.channel, null, error, request);
    }
    for (const subscription of this.#subscriptions.values()) {
      subscription.pending = false;
      subscription.asked = null;
      subscription.clearTimers();
    }
  }

  #handleClose(socket, event) {
    if (socket !== this.#socket) return;
    this.#socket = null;
    this.#stopHeartbeat();
    this.#socketGone(socket);
    this.#emit("close", event);
    if (this.#closedByUser) return;
    this.#attemptFailed();
  }

  #attemptFailed() {
    if (!this.#reconnect) {
      this.#state = "closed";
      this.#rejectWaiters(new Error("WebSocket connection failed and reconnect is off"));
      return;
    }
    this.#state = "connecting";
    this.#attempt += 1;
    const delayMs = this.#backoffDelay(this.#attempt);
    this.#emit("reconnecting", { attempt: this.#attempt, delayMs });
    // A "reconnecting" handler may have called close().
    if (this.#closedByUser) return;
    this.#clearReconnectTimer();
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = null;
      void this.#attemptConnect();
    }, delayMs);
  }

  #backoffDelay(attempt) {
    const ceiling = Math.min(this.#maxDelay, this.#minDelay * 2 ** (attempt - 1));
    return Math.round(ceiling * (0.5 + 0.5 * this.#random()));
  }

  #retireSocket(code, reason) {
    const socket = this.#socket;
    this.#socket = null;
    if (!socket) return;
    socket.onopen = null;
    socket.onmessage = null;
    socket.onerror = null;
    socket.onclose = null;
    this.#socketGone(socket);
    if (socket.readyState === SOCKET_OPEN || socket.readyState === SOCKET_CONNECTING) {
      socket.close(code, reason);
    }
  }

  #startHeartbeat(socket) {
    this.#stopHeartbeat();
    if (!(this.#heartbeatIntervalMs > 0)) return;
    const data =
      typeof this.#heartbeatMessage === "string"
        ? this.#heartbeatMessage
        : JSON.stringify(this.#heartbeatMessage);
    this.#heartbeatTimer = setInterval(() => {
      if (socket === this.#socket && socket.readyState === SOCKET_OPEN) socket.send(data);
    }, this.#heartbeatIntervalMs);
  }

  #stopHeartbeat() {
    if (this.#heartbeatTimer !== null) {
      clearInterval(this.#heartbeatTimer);
      this.#heartbeatTimer = null;
    }
  }

  #clearReconnectTimer() {
    if (this.#reconnectTimer !== null) {
      clearTimeout(this.#reconnectTimer);
      this.#reconnectTimer = null;
    }
  }

  #rejectWaiters(error) {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter.reject(error);
  }

  #emit(type, value, publication) {
    const set = this.#handlers.get(type);
    if (!set) return;
    // Copy so handlers may unsubscribe while being called.
    for (const handler of [...set]) {
      try {
        if (publication === undefined) handler(value);
        else handler(value, publication);
      } catch (error) {
        if (type !== "error" && this.#handlers.has("error")) {
          this.#emit("error", error);
        } else if (typeof globalThis.reportError === "function") {
          globalThis.reportError(error);
        } else {
          console.error(error);
        }
      }
    }
  }
}

export default WebSocketClient;
