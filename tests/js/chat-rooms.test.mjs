import { test } from "node:test";
import assert from "node:assert/strict";

import { Rooms } from "../../websockets/static/websockets/chat-rooms.js";

const NAMES = ["general", "random", "support"];
const msg = (id, text = `m${id}`) => ({ id, message: text, user: "alice" });

test("a message is shown once, in id order, however it came", () => {
  const rooms = new Rooms(NAMES, NAMES, "general");
  assert.equal(rooms.add("general", msg(3)), true);
  assert.equal(rooms.add("general", msg(1)), true);
  assert.equal(rooms.add("general", msg(3)), false);
  rooms.setHistory("general", [msg(1), msg(2)]);
  assert.deepEqual(
    rooms.list("general").map((m) => m.id),
    [1, 2, 3],
    "a live message newer than the history is kept",
  );
  assert.equal(rooms.add("lobby", msg(9)), false, "unknown rooms are ignored");
});

test("messages of rooms not shown are unread until the room is selected", () => {
  const rooms = new Rooms(NAMES, NAMES, "general");
  rooms.add("random", msg(1));
  rooms.add("random", msg(2));
  rooms.add("general", msg(3));
  assert.equal(rooms.unread.get("random"), 2);
  assert.equal(rooms.unread.get("general"), 0);
  assert.equal(rooms.select("random"), true);
  assert.equal(rooms.unread.get("random"), 0);
  assert.equal(rooms.select("lobby"), false);
  assert.equal(rooms.active, "random");
});

test("joined rooms are only known rooms; leaving forgets the room's messages and members", () => {
  const rooms = new Rooms(NAMES, ["general", "lobby"], "general");
  assert.deepEqual([...rooms.joined], ["general"]);
  rooms.join("support");
  rooms.add("support", msg(1));
  rooms.setPresence("support", { users: [{ id: 1, name: "bob", connections: 1 }] });
  rooms.leave("support");
  assert.deepEqual([...rooms.joined], ["general"]);
  assert.deepEqual(rooms.list("support"), []);
  assert.deepEqual(rooms.users("support"), []);
});

test("presence: the answer sets the members, join and leave events change them", () => {
  const rooms = new Rooms(NAMES, NAMES, "general");
  rooms.setPresence("general", {
    users: [
      { id: 2, name: "bob", connections: 1 },
      { id: 1, name: "alice", connections: 2 },
    ],
  });
  assert.deepEqual(rooms.users("general"), ["alice", "bob"]);
  rooms.applyPresenceEvent("general", { user: { id: 3, name: "carol" }, connections: 1 });
  rooms.applyPresenceEvent("general", { user: { id: 1, name: "alice" }, connections: 1 });
  rooms.applyPresenceEvent("general", { user: { id: 2, name: "bob" }, connections: 0 });
  rooms.applyPresenceEvent("general", { user: null, connections: 0 });
  assert.deepEqual(rooms.users("general"), ["alice", "carol"]);
  assert.equal(rooms.presence.get("general").get("alice"), 1);
});
