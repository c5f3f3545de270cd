// What the demo page knows about its rooms, apart from the DOM (chat.js) so that node's test
// runner can check it: which rooms this page holds, each room's messages (one per id, in id
// order, however they came: a history, live, or recovered after a reconnect), unread counts,
// and who is in each room as the library's presence says.

export class Rooms {
  /**
   * @param {string[]} names Every room of the chat.
   * @param {Iterable<string>} joined The rooms this page holds.
   * @param {string} active The room shown.
   */
  constructor(names, joined, active) {
    this.names = [...names];
    this.joined = new Set([...joined].filter((name) => this.names.includes(name)));
    this.active = active;
    this.messages = new Map(this.names.map((name) => [name, new Map()]));
    this.unread = new Map(this.names.map((name) => [name, 0]));
    this.presence = new Map(this.names.map((name) => [name, new Map()]));
  }

  /**
   * Add a message to its room; false when the room already shows it (or is unknown).
   * Messages of a room that is not shown count as unread.
   */
  add(room, message) {
    const messages = this.messages.get(room);
    if (!messages || message.id === undefined || messages.has(message.id)) return false;
    messages.set(message.id, message);
    if (room !== this.active) this.unread.set(room, this.unread.get(room) + 1);
    return true;
  }

  /** Replace a room's messages with a fresh history, keeping any newer live message. */
  setHistory(room, history) {
    const messages = this.messages.get(room);
    if (!messages) return;
    const newest = history.length ? history[history.length - 1].id : -Infinity;
    const later = [...messages.values()].filter((m) => m.id > newest);
    messages.clear();
    for (const message of [...history, ...later]) messages.set(message.id, message);
  }

  /** A room's messages, oldest first. */
  list(room) {
    return [...(this.messages.get(room)?.values() ?? [])].sort((a, b) => a.id - b.id);
  }

  select(room) {
    if (!this.names.includes(room)) return false;
    this.active = room;
    this.unread.set(room, 0);
    return true;
  }

  join(room) {
    if (this.names.includes(room)) this.joined.add(room);
  }

  leave(room) {
    this.joined.delete(room);
    this.messages.get(room)?.clear();
    this.presence.get(room)?.clear();
    this.unread.set(room, 0);
  }

  /** The answer of the library's presence action: who is in the room now. */
  setPresence(room, { users }) {
    const members = this.presence.get(room);
    if (!members) return;
    members.clear();
    for (const user of users) members.set(user.name, user.connections);
  }

  /** A join or leave event: that user's connections in the room now. */
  applyPresenceEvent(room, { user, connections }) {
    const members = this.presence.get(room);
    if (!members || !user) return;
    if (connections > 0) members.set(user.name, connections);
    else members.delete(user.name);
  }

  /** Names of the users in a room, sorted. */
  users(room) {
    return [...(this.presence.get(room)?.keys() ?? [])].sort();
  }
}
