// The demo chat page: one WebSocketClient per page, rooms as channels, and a panel that
// follows the delivery reports of this user's own sends.
import { WebSocketClient } from "websocket-client";
import { fetchReport, fetchSignedInUser, reportState } from "./chat-api.js";

const config = JSON.parse(document.getElementById("chat-config").textContent);
const $ = (id) => document.getElementById(id);
const els = {
  rooms: $("rooms"),
  users: $("users"),
  title: $("room-title"),
  status: $("status"),
  messages: $("messages"),
  composer: $("composer"),
  input: $("message-input"),
  notice: $("notice"),
  deliveries: $("deliveries"),
  whoami: $("whoami"),
};

let room = config.room;
const POLL_MS = 1000;
const pollers = new Map(); // report id -> timer

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

// Messages

function clearEmpty() {
  for (const node of els.messages.querySelectorAll(".empty")) node.remove();
}

function addMessage({ user, message, sent_at: sentAt }) {
  clearEmpty();
  const item = el("li", user === config.username ? "message mine" : "message");
  const who = el("span", "who", user);
  who.append(el("span", "when", timeOf(sentAt)));
  item.append(who, el("div", "text", message));
  els.messages.append(item);
  scrollToEnd();
}

function addSystem(text, className = "system") {
  clearEmpty();
  els.messages.append(el("li", `message ${className}`, text));
  scrollToEnd();
}

function renderHistory(messages) {
  els.messages.replaceChildren();
  if (!messages.length) {
    els.messages.append(el("li", "empty", `No messages in #${room} yet. Say hello!`));
  }
  for (const message of messages) addMessage(message);
}

function renderUsers(users) {
  els.users.replaceChildren();
  if (!users.length) els.users.append(el("li", "muted", "Nobody yet"));
  for (const name of users) {
    els.users.append(el("li", name === config.username ? "me" : "", name));
  }
}

// Rooms

function selectRoom(name) {
  if (name === room) return;
  room = name;
  for (const button of els.rooms.querySelectorAll("button[data-room]")) {
    button.classList.toggle("active", button.dataset.room === name);
  }
  els.title.textContent = `#${name}`;
  document.title = `#${name} · Gateway chat`;
  if (config.canChat) els.input.placeholder = `Message #${name}`;
  els.messages.replaceChildren();
  renderUsers([]);
  history.replaceState(null, "", `?room=${encodeURIComponent(name)}`);
  setStatus("connecting", "joining…");
  client.changeChannel(name).catch(() => {});
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
  channel: room,
  heartbeatIntervalMs: 60000,
  minReconnectDelayMs: 500,
  maxReconnectDelayMs: 10000,
});
// Exposed for debugging in the browser console.
window.chatClient = client;

const pendingSnippets = [];

client.on("open", () => {
  setStatus("open", "connected");
  showNotice("");
  checkSignedInUser();
  client.send("fetch_history");
  client.send("who_is_here");
});
client.on("close", () => setStatus("closed", "disconnected"));
client.on("reconnecting", ({ delayMs }) =>
  setStatus("connecting", `reconnecting in ${(delayMs / 1000).toFixed(1)} s…`),
);
client.on("history", (data) => {
  if (data.room === room) renderHistory(data.messages);
});
client.on("presence", (data) => {
  if (data.room === room) renderUsers(data.users);
});
client.on("chat_message", (data) => {
  if (data.room === undefined || data.room === room) addMessage(data);
});
client.on("announcement", (data) => addSystem(`📣 ${data.message}`, "announcement"));
client.on("notification", (data) => addSystem(`🔔 ${data.message}`, "announcement"));
client.on("sent", (data) => {
  trackReport(data.report_id, pendingSnippets.shift() ?? "message", data.room ?? room);
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

els.composer.addEventListener("submit", (event) => {
  event.preventDefault();
  const message = els.input.value.trim();
  if (!message) return;
  pendingSnippets.push(message.length > 40 ? `${message.slice(0, 39)}…` : message);
  client.send("chat_message", { message });
  els.input.value = "";
  els.input.focus();
});

window.addEventListener("focus", checkSignedInUser);
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") checkSignedInUser();
});

loadReports();
client.connect().catch((error) => showNotice(error.message));
