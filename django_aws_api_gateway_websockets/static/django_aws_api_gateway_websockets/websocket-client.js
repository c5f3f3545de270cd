/**
 * Browser client for WebSockets served through AWS API Gateway and Django.
 *
 * API Gateway holds the socket; Django authenticates the connection with a
 * single-use token handed out by a same-origin endpoint. This module fetches
 * that token, opens the socket, reconnects with backoff, keeps the connection
 * alive with a heartbeat and dispatches server messages by their `type`.
 *
 * No dependencies, no build step: load it with
 * `<script type="module">import { WebSocketClient } from ".../websocket-client.js";</script>`.
 *
 * @module websocket-client
 */

const SOCKET_OPEN = 1;
const SOCKET_CONNECTING = 0;

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
 * @typedef {"idle" | "connecting" | "open" | "closed"} ClientState
 */

/**
 * @typedef {object} WebSocketClientOptions
 * @property {string} url The gateway's `ws://` or `wss://` URL.
 * @property {string} [tokenUrl="/api/ws-token/"] Same-origin endpoint that
 *   answers a POST with `{"token": "..."}`.
 * @property {string} [channel=""] Channel to join; sent as the `channel`
 *   query parameter, left out when empty.
 * @property {string} [actionKey="action"] Key that carries the action name in
 *   every message sent with {@link WebSocketClient#send}.
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
 * @property {number} [dedupeWindow=1000] How many recent `delivery_id`s are
 *   remembered to drop repeated deliveries; 0 turns this off.
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
 * A WebSocket connection to API Gateway that authenticates with a fresh
 * token on every attempt, reconnects, queues, deduplicates and heartbeats.
 *
 * Events for {@link WebSocketClient#on}:
 * - any server message `type`: the parsed message;
 * - `"*"`: every parsed server message;
 * - `"raw"`: frames that are not a JSON object (the frame's data);
 * - `"open"`: the socket opened (no argument);
 * - `"close"`: the socket closed (the CloseEvent);
 * - `"reconnecting"`: `{attempt, delayMs}` before a reconnect is scheduled;
 * - `"error"`: a socket error event, a failed token request (an Error) or an
 *   Error thrown by a handler.
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
  #WebSocket;
  #fetch;
  #getCsrfToken;
  #random;
  #tokenInProtocol;

  /** @type {ClientState} */
  #state = "idle";
  /** @type {WebSocket | null} */
  #socket = null;
  #handlers = new Map();
  /** @type {string[]} */
  #queue = [];
  #seenDeliveryIds = new Set();
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
    if (this.#socket && this.#socket.readyState === SOCKET_OPEN && this.#state === "open") {
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
   * Register a handler for a message type or lifecycle event.
   *
   * @param {string} type Message `type`, `"*"`, `"raw"`, `"open"`, `"close"`,
   *   `"reconnecting"` or `"error"`.
   * @param {(value: any) => void} handler
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
   * @param {(value: any) => void} handler
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
   * client is idle or closed only the channel is stored.
   *
   * @param {string} name
   * @returns {Promise<void>} Resolves when the new socket is open.
   */
  changeChannel(name) {
    this.#channel = name ?? "";
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
   * {@link WebSocketClient#connect} starts over.
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
      if (socket.readyState === SOCKET_OPEN || socket.readyState === SOCKET_CONNECTING) {
        socket.close(code, reason);
      }
    }
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
    if (message === null || typeof message !== "object" || Array.isArray(message)) {
      this.#emit("raw", data);
      return;
    }
    if (this.#isDuplicate(message.delivery_id)) return;
    if (typeof message.type === "string") this.#emit(message.type, message);
    this.#emit("*", message);
  }

  #isDuplicate(deliveryId) {
    if (deliveryId === undefined || deliveryId === null || this.#dedupeWindow <= 0) return false;
    const key = String(deliveryId);
    if (this.#seenDeliveryIds.has(key)) return true;
    this.#seenDeliveryIds.add(key);
    // A Set iterates in insertion order, so the first value is the oldest.
    while (this.#seenDeliveryIds.size > this.#dedupeWindow) {
      this.#seenDeliveryIds.delete(this.#seenDeliveryIds.values().next().value);
    }
    return false;
  }

  #handleClose(socket, event) {
    if (socket !== this.#socket) return;
    this.#socket = null;
    this.#stopHeartbeat();
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

  #emit(type, value) {
    const set = this.#handlers.get(type);
    if (!set) return;
    // Copy so handlers may unsubscribe while being called.
    for (const handler of [...set]) {
      try {
        handler(value);
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
