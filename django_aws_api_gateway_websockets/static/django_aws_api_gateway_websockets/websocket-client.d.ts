// Type declarations of websocket-client.js (the browser client), checked by `tsc` in the
// repository's tests (tests/test_js_client.py). The wire format is documented in docs/client.md.

export type ClientState = "idle" | "connecting" | "open" | "closed";

/** Any JSON value the server may send as an application's data. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A position in a channel's stream: the last offset delivered, in its epoch. */
export interface StreamPosition {
  offset: number;
  epoch: string;
}

export interface WebSocketClientOptions {
  /** The gateway's `ws://` or `wss://` URL. */
  url: string;
  /** Same-origin endpoint answering a POST with `{"token": "..."}`. Default `/api/ws-token/`. */
  tokenUrl?: string;
  /** Channel joined at connect time (the connection's first subscription). Default "". */
  channel?: string;
  /** Key carrying the action name in sent messages and built-in actions. Default "action". */
  actionKey?: string;
  /** Keep-alive interval; 0 turns the heartbeat off. Default 300000 (5 minutes). */
  heartbeatIntervalMs?: number;
  /** What the heartbeat sends; objects are JSON-encoded. Default `{action: "ping"}`. */
  heartbeatMessage?: object | string;
  /** Reconnect after an unexpected close or a failed attempt. Default true. */
  reconnect?: boolean;
  /** Backoff base for attempt 1. Default 1000. */
  minReconnectDelayMs?: number;
  /** Backoff ceiling. Default 30000. */
  maxReconnectDelayMs?: number;
  /** Queue messages sent while the socket is not open, instead of throwing. Default true. */
  queueWhileClosed?: boolean;
  /** Most messages the queue holds. Default 100. */
  maxQueue?: number;
  /** How many recent `$ws.id`s of plain sends are remembered; 0 turns dedupe off. Default 1000. */
  dedupeWindow?: number;
  /** How long a built-in action waits for its reply. Default 10000. */
  requestTimeoutMs?: number;
  /** How long a channel waits for a missing offset before it recovers. Default 5000. */
  gapTimeoutMs?: number;
  /** Most out-of-order publications held per channel. Default 1000. */
  maxBuffered?: number;
  /** WebSocket constructor to use. Default `globalThis.WebSocket`. */
  WebSocket?: typeof WebSocket;
  /** fetch implementation to use. Default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** Returns the CSRF token. Default: the `csrftoken` cookie. */
  getCsrfToken?: () => string | Promise<string>;
  /** Source of backoff jitter. Default `Math.random`. */
  random?: () => number;
  /**
   * Carry the token in `Sec-WebSocket-Protocol` (offering `django-gateway-sockets` and
   * `ws_token.<token>`) instead of the URL, which access logs record. Default false.
   */
  tokenInProtocol?: boolean;
}

/** A channel publication as handlers receive it (the `"$ws"` envelope unpacked). */
export interface Publication<T = Json> {
  channel: string;
  offset: number;
  epoch: string;
  /** The send's delivery report id. */
  id?: string;
  /** The application's data. */
  data: T;
}

/** The server's answer to `subscribe`. */
export interface SubscribeResult {
  channel: string;
  epoch: string;
  /** Last offset published in the channel when the server answered (0 if none). */
  offset: number;
  /** null: no recovery was asked; false: it was asked and could not be given (see reason). */
  recovered: boolean | null;
  /** Why recovery failed: "epoch_changed", "history_gap", ... */
  reason?: string;
}

export interface SubscribeOptions {
  /** Deliver what was published after this position instead of starting at the live stream. */
  recover?: StreamPosition;
}

export interface PresenceUser {
  id: unknown;
  name: string;
  connections: number;
}

/** The server's answer to `presence`. */
export interface PresenceResult {
  channel: string;
  users: PresenceUser[];
  anonymous: number;
  connections: number;
  /** Whether `users` stops at the server's member cap. */
  truncated: boolean;
}

export interface PresenceChange {
  channel: string;
  /** Who joined or left; null for an anonymous connection. */
  user: { id: unknown; name: string } | null;
  /** That user's connections in the channel now. */
  connections: number;
  /** Connections in the channel now. */
  total: number;
  anonymous: number;
}

export interface PresenceCount {
  channel: string;
  total: number;
  anonymous: number;
}

export interface RecoveryFailure {
  channel: string;
  /** "epoch_changed", "history_gap", ... */
  reason: string;
  /** Where the stream continues: the application should reload the channel's state. */
  epoch: string;
  offset: number;
}

export interface ReconnectInfo {
  attempt: number;
  delayMs: number;
}

/** Events with a fixed meaning, and what their handlers receive. */
export interface WebSocketClientEvents {
  open: undefined;
  close: CloseEvent;
  reconnecting: ReconnectInfo;
  error: Error | Event;
  raw: unknown;
  publication: Publication;
  subscribed: SubscribeResult;
  unsubscribed: { channel: string };
  recoveryfailed: RecoveryFailure;
  join: PresenceChange;
  leave: PresenceChange;
  presence_count: PresenceCount;
}

/** A handler of an application message type (or `"*"`): publications come with their envelope. */
export type MessageHandler = (message: any, publication?: Publication) => void;

/** A refused built-in action (subscribe, unsubscribe, presence), or one never answered. */
export class ChannelError extends Error {
  constructor(message: string, details?: { action?: string; channel?: string; reply?: object });
  readonly name: "ChannelError";
  action: string | undefined;
  channel: string | undefined;
  /** The server's error frame, when there was one. */
  reply: object | undefined;
}

/** Reads Django's CSRF cookie (`csrftoken`); "" when there is none. */
export function readCsrfCookie(): string;

export class WebSocketClient {
  constructor(options: WebSocketClientOptions);
  readonly state: ClientState;
  /** The channel used for the current or next connection. */
  readonly channel: string;
  /** The channels this client holds. */
  readonly subscriptions: string[];
  /** The last position delivered for a channel; null when none is known. */
  position(channel: string): StreamPosition | null;
  connect(): Promise<void>;
  /** Send `{[actionKey]: action, ...payload}`; true when sent at once, false when queued. */
  send(action: string, payload?: object): boolean;
  subscribe(channel: string, options?: SubscribeOptions): Promise<SubscribeResult>;
  unsubscribe(channel: string): Promise<void>;
  presence(channel: string): Promise<PresenceResult>;
  /** Close and reconnect at once to another connect-time channel. */
  changeChannel(name: string): Promise<void>;
  close(code?: number, reason?: string): void;
  on<K extends keyof WebSocketClientEvents>(
    type: K,
    handler: (value: WebSocketClientEvents[K]) => void,
  ): () => void;
  on(type: string, handler: MessageHandler): () => void;
  off<K extends keyof WebSocketClientEvents>(
    type: K,
    handler: (value: WebSocketClientEvents[K]) => void,
  ): void;
  off(type: string, handler: MessageHandler): void;
}

export default WebSocketClient;
