// The demo chat page: one WebSocketClient holds several rooms (channel subscriptions, no
// reconnect to change room), shows who is in each room from the library's presence, gets what
// it missed after a reconnect from the channels' history, and follows the delivery reports of
// this user's own sends.
import { WebSocketClient } from "websocket-client";
import { fetchReport, fetchSignedInUser, reportState } from "./chat-api.js";
import { Rooms } from "./chat-rooms.js";

const config = JSON.parse(document.getElementById("chat-config").textContent);
const $ = (id) => document.getElementById(id);
const els = {
  rooms: $("rooms"),
  users: $("users"),
  title: $("room-title"),
  membership: $("membership"),
  status: $("status"),
  messages: $("messages"),
  composer: $("composer"),
  input: $("message-input"),
  send: $("send-button"),
  notice: $("notice"),
  deliveries: $("deliveries"),
  whoami: $("whoami"),
};

const POLL_MS = 1000;
const PRESENCE_REFRESH_MS = 300;
const JOINED_KEY = "chat.joined";
const pollers = new Map(); // report id -> timer
const presenceTimers = new Map(); // room -> timer

// The rooms this tab holds survive a reload of the tab (not of the browser).
function savedRooms() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(JOINED_KEY));
    if (Array.isArray(saved)) return saved;
  } catch {
    // Nothing saved, or not readable: join every room.
  }
  return config.rooms;
}

const rooms = new Rooms(config.rooms, new Set([...savedRooms(), config.room]), config.room);
// What the page did, for whoever watches it (the end-to-end tests, a curious developer).
const stats = { historyFetches: Object.fromEntries(config.rooms.map((r) => [r, 0])) };

function saveRooms() {
  try {
    sessionStorage.setItem(JOINED_KEY, JSON.stringify([...rooms.joined]));
  } catch {
    // Storage may be off; the tab then joins every room next time.
  }
}

// Small DOM helpers; text always goes through textContent.

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function timeOf(iso) {
  const date = iso ? new Date(iso) : new Date();
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

function scrollToEnd() {
  els.messages.scrollTop = els.messages.scrollHeight;
}

function setStatus(state, label) {
  els.status.className = `status ${state}`;
  els.status.dataset.state = state;
  els.status.textContent = label;
}

function showNotice(text) {
  els.notice.textContent = text;
  els.notice.hidden = !text;
}

// Rendering

function messageItem({ id, user, message, sent_at: sentAt }) {
  const item = el("li", user === config.username ? "message mine" : "message");
  item.dataset.id = String(id);
  const who = el("span", "who", user);
  who.append(el("span", "when", timeOf(sentAt)));
  item.append(who, el("div", "text", message));
  return item;
}

function renderMessages() {
  const room = rooms.active;
  els.messages.replaceChildren();
  if (!rooms.joined.has(room)) {
    els.messages.append(el("li", "empty", `You are not in #${room}. Join it to read and post.`));
    return;
  }
  const messages = rooms.list(room);
  if (!messages.length) {
    els.messages.append(el("li", "empty", `No messages in #${room} yet. Say hello!`));
  }
  for (const message of messages) els.messages.append(messageItem(message));
  scrollToEnd();
}

function addSystem(text, className = "system") {
  for (const node of els.messages.querySelectorAll(".empty")) node.remove();
  els.messages.append(el("li", `message ${className}`, text));
  scrollToEnd();
}

function renderUsers() {
  const room = rooms.active;
  const names = rooms.users(room);
  els.users.replaceChildren();
  if (!names.length) els.users.append(el("li", "muted", "Nobody yet"));
  for (const name of names) {
    const item = el("li", name === config.username ? "me" : "", name);
    const connections = rooms.presence.get(room).get(name);
    item.title = `${connections} connection${connections === 1 ? "" : "s"}`;
    els.users.append(item);
  }
}

function renderRooms() {
  for (const button of els.rooms.querySelectorAll("button[data-room]")) {
    const room = button.dataset.room;
    button.classList.toggle("active", room === rooms.active);
    button.classList.toggle("joined", rooms.joined.has(room));
    const badge = button.querySelector(".unread");
    const unread = rooms.unread.get(room);
    badge.textContent = unread ? String(unread) : "";
    badge.hidden = !unread;
  }
  const room = rooms.active;
  const joined = rooms.joined.has(room);
  els.title.textContent = `#${room}`;
  document.title = `#${room} · Gateway chat`;
  els.membership.textContent = joined ? "Leave" : "Join";
  els.membership.dataset.action = joined ? "leave" : "join";
  const canPost = config.canChat && joined;
  els.input.disabled = !canPost;
  els.send.disabled = !canPost;
  els.input.placeholder = !config.canChat
    ? "You may read but not post in this chat"
    : joined
      ? `Message #${room}`
      : `Join #${room} to post`;
}

function render() {
  renderRooms();
  renderMessages();
  renderUsers();
}

// Rooms: held by one connection

function selectRoom(room) {
  if (!rooms.select(room)) return;
  history.replaceState(null, "", `?room=${encodeURIComponent(room)}`);
  render();
}

function fetchHistory(room) {
  stats.historyFetches[room] += 1;
  client.send("fetch_history", { room });
}

// Who is in a room: the library's presence action; join/leave events update the list at
// once and ask again shortly after, so the list ends as the server has it.
async function refreshPresence(room) {
  presenceTimers.delete(room);
  if (!rooms.joined.has(room)) return;
  try {
    rooms.setPresence(room, await client.presence(room));
  } catch {
    return; // The next join, leave or reconnect asks again.
  }
  if (room === rooms.active) renderUsers();
}

function schedulePresence(room) {
  if (presenceTimers.has(room)) return;
  presenceTimers.set(room, setTimeout(() => refreshPresence(room), PRESENCE_REFRESH_MS));
}

function joinRoom(room) {
  rooms.join(room);
  saveRooms();
  render();
  client.subscribe(room).catch((error) => {
    rooms.leave(room);
    saveRooms();
    render();
    showNotice(error.message);
  });
}

function leaveRoom(room) {
  rooms.leave(room);
  saveRooms();
  render();
  client.unsubscribe(room).catch((error) => showNotice(error.message));
}

// Delivery reports

const UNAVAILABLE_NOTE =
  "This report cannot be read as the user signed in now: it was sent by another user of " +
  "this browser, or it has been cleaned up.";

function renderReport(item, report) {
  const state = reportState(report);
  item.classList.toggle("done", state === "done");
  item.classList.toggle("unavailable", state === "unavailable");
  const stateNode = item.querySelector(".state");
  stateNode.textContent = state;
  stateNode.classList.toggle("done", state === "done");
  if (state === "unavailable") {
    item.title = UNAVAILABLE_NOTE;
    if (!item.querySelector(".note")) {
      item.append(el("div", "note", "Not readable as the user signed in now."));
    }
    return;
  }
  const progress = state === "done" ? 1 : (report.progress ?? 0);
  item.querySelector(".bar span").style.width = `${Math.round(progress * 100)}%`;
  for (const name of ["recipients", "delivered", "gone", "failed", "retried"]) {
    item.querySelector(`[data-count="${name}"] b`).textContent = String(report[name]);
  }
}

function reportItem(id, snippet, roomName) {
  let item = els.deliveries.querySelector(`[data-report-id="${id}"]`);
  if (item) return item;
  item = el("li", "delivery");
  item.dataset.reportId = id;
  const line = el("div", "line");
  line.append(el("span", "snippet", `#${roomName} · ${snippet}`), el("span", "state", "queued"));
  const bar = el("div", "bar");
  bar.append(el("span"));
  const counts = el("div", "counts");
  for (const name of ["recipients", "delivered", "gone", "failed", "retried"]) {
    const count = el("span", name);
    count.dataset.count = name;
    count.append(el("b", "", "0"), ` ${name}`);
    counts.append(count);
  }
  item.append(line, bar, counts);
  els.deliveries.prepend(item);
  while (els.deliveries.children.length > 10) {
    const last = els.deliveries.lastElementChild;
    clearTimeout(pollers.get(last.dataset.reportId));
    pollers.delete(last.dataset.reportId);
    last.remove();
  }
  return item;
}

async function poll(id) {
  pollers.delete(id);
  const item = els.deliveries.querySelector(`[data-report-id="${id}"]`);
  if (!item) return;
  let report;
  try {
    report = await fetchReport(`${config.deliveriesUrl}${id}/`);
  } catch {
    pollers.set(id, setTimeout(() => poll(id), POLL_MS * 3));
    return;
  }
  renderReport(item, report);
  if (!report.finished && !report.unavailable) {
    pollers.set(id, setTimeout(() => poll(id), POLL_MS));
  }
}

// Who is signed in: windows of one browser share the login cookie, so signing in elsewhere
// changes who this page sends as. Read it again on every connection and when the window
// comes back into focus, and say so when it changed.

async function checkSignedInUser() {
  let username;
  try {
    username = await fetchSignedInUser(config.whoamiUrl);
  } catch {
    return;
  }
  if (username === config.username) return;
  config.username = username;
  if (els.whoami) els.whoami.textContent = username ?? "nobody";
  showNotice(
    username
      ? `This browser is now signed in as ${username} (from another window), so this page ` +
          `sends as ${username}. For two users at once, use a second browser or a private window.`
      : "You have been signed out in another window.",
  );
}

function trackReport(id, snippet, roomName) {
  reportItem(id, snippet, roomName);
  if (!pollers.has(id)) pollers.set(id, setTimeout(() => poll(id), 200));
}

async function loadReports() {
  try {
    const response = await fetch(config.deliveriesUrl, { credentials: "same-origin" });
    if (!response.ok) return;
    const { deliveries } = await response.json();
    for (const report of [...deliveries].reverse()) {
      renderReport(reportItem(report.id, report.message, report.room), report);
      if (!report.finished) trackReport(report.id, report.message, report.room);
    }
  } catch {
    // The panel is informative only; the chat works without it.
  }
}

// The connection

const client = new WebSocketClient({
  url: config.wsUrl,
  tokenUrl: config.tokenUrl,
  // The connect-time channel is the connection's first subscription (as in 4.x); the other
  // rooms are subscribed on the same connection.
  channel: config.room,
  heartbeatIntervalMs: 60000,
  minReconnectDelayMs: 500,
  maxReconnectDelayMs: 10000,
});
// Exposed for debugging in the browser console (and read by the end-to-end tests).
window.chatDemo = { client, rooms, stats };

const pendingSnippets = [];

client.on("open", () => {
  setStatus("open", "connected");
  showNotice("");
  checkSignedInUser();
});
client.on("close", () => setStatus("closed", "disconnected"));
client.on("reconnecting", ({ delayMs }) =>
  setStatus("connecting", `reconnecting in ${(delayMs / 1000).toFixed(1)} s…`),
);
client.on("subscribed", ({ channel, recovered }) => {
  // Recovered: what was missed is being delivered, in order. Otherwise (first subscription,
  // or the history no longer covers the gap) the room's state is read again.
  if (recovered !== true) fetchHistory(channel);
  refreshPresence(channel);
});
client.on("recoveryfailed", ({ channel, reason }) => {
  // The "subscribed" that follows reads the room's messages again.
  showNotice(
    `Messages of #${channel} missed while away could not be recovered (${reason}): reloaded.`,
  );
});
client.on("history", ({ room, messages }) => {
  if (!rooms.joined.has(room)) return;
  rooms.setHistory(room, messages);
  if (room === rooms.active) renderMessages();
});
client.on("chat_message", (message, publication) => {
  const room = publication?.channel ?? message.room;
  if (!rooms.joined.has(room) || !rooms.add(room, message)) return;
  if (room === rooms.active) renderMessages();
  else renderRooms();
});
for (const kind of ["join", "leave"]) {
  client.on(kind, (event) => {
    if (!rooms.joined.has(event.channel)) return;
    rooms.applyPresenceEvent(event.channel, event);
    if (event.channel === rooms.active) renderUsers();
    schedulePresence(event.channel);
  });
}
client.on("announcement", (data) => addSystem(`📣 ${data.message}`, "announcement"));
client.on("notification", (data) => addSystem(`🔔 ${data.message}`, "announcement"));
client.on("sent", (data) => {
  const snippet = pendingSnippets.shift() ?? "message";
  if (data.delivery_id) trackReport(data.delivery_id, snippet, data.room);
});
client.on("*", (data) => {
  // Refusals from the server: {"error": "..."} (a 4xx answer of the event view).
  if (typeof data.error === "string") {
    pendingSnippets.shift();
    showNotice(data.error);
  }
});
client.on("error", (value) => {
  if (value instanceof Error) showNotice(value.message);
});

els.rooms.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-room]");
  if (button) selectRoom(button.dataset.room);
});

els.membership.addEventListener("click", () => {
  if (els.membership.dataset.action === "leave") leaveRoom(rooms.active);
  else joinRoom(rooms.active);
});

els.composer.addEventListener("submit", (event) => {
  event.preventDefault();
  const message = els.input.value.trim();
  if (!message || !rooms.joined.has(rooms.active)) return;
  pendingSnippets.push(message.length > 40 ? `${message.slice(0, 39)}…` : message);
  client.send("chat_message", { room: rooms.active, message });
  els.input.value = "";
  els.input.focus();
});

window.addEventListener("focus", checkSignedInUser);
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") checkSignedInUser();
});

render();
loadReports();
// Subscriptions wait for the connection and are sent on it as soon as it opens.
for (const room of rooms.joined) {
  client.subscribe(room).catch((error) => showNotice(error.message));
}
client.connect().catch((error) => showNotice(error.message));
