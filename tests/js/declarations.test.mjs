// The TypeScript declarations beside the client name what the module really has: tsc checks
// a usage example against websocket-client.d.ts, and this checks the .d.ts against the .js.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

import * as client from "../../django_aws_api_gateway_websockets/static/django_aws_api_gateway_websockets/websocket-client.js";

const STATIC = new URL(
  "../../django_aws_api_gateway_websockets/static/django_aws_api_gateway_websockets/",
  import.meta.url,
);
const declarations = readFileSync(new URL("websocket-client.d.ts", STATIC), "utf8");
const source = readFileSync(new URL("websocket-client.js", STATIC), "utf8");

/** The members declared in `export class <name> ... { ... }` (one level of braces). */
function declaredMembers(name) {
  const start = declarations.indexOf(`export class ${name}`);
  assert.notEqual(start, -1, `${name} is declared`);
  const body = declarations.slice(declarations.indexOf("{", start) + 1);
  let depth = 0;
  let end = 0;
  for (; end < body.length; end += 1) {
    if (body[end] === "{") depth += 1;
    if (body[end] === "}") {
      if (depth === 0) break;
      depth -= 1;
    }
  }
  const names = new Set();
  for (const line of body.slice(0, end).split("\n")) {
    const match = /^ {2}(?:readonly )?([A-Za-z_$][\w$]*)[(<?:]/.exec(line);
    if (match && match[1] !== "constructor") names.add(match[1]);
  }
  return names;
}

test("the module's exports are declared", () => {
  for (const name of Object.keys(client)) {
    const declared =
      name === "default"
        ? /export default WebSocketClient;/.test(declarations)
        : new RegExp(`export (?:class|function) ${name}\\b`).test(declarations);
    assert.ok(declared, `export ${name} is declared in websocket-client.d.ts`);
  }
});

test("every public member of WebSocketClient is declared, and nothing else", () => {
  const runtime = new Set(
    Object.getOwnPropertyNames(client.WebSocketClient.prototype).filter((n) => n !== "constructor"),
  );
  assert.deepEqual([...declaredMembers("WebSocketClient")].sort(), [...runtime].sort());
});

test("every constructor option of the client is declared", () => {
  const start = source.indexOf("  constructor({");
  const options = source.slice(start, source.indexOf("} = {}) {", start));
  const names = [...options.matchAll(/^ {4}(\w+)(?: =|,)/gm)].map((m) => m[1]);
  assert.ok(names.length > 10, "the options were found");
  const declaredOptions = declarations.slice(
    declarations.indexOf("export interface WebSocketClientOptions"),
    declarations.indexOf("export interface Publication"),
  );
  for (const name of names) {
    assert.match(declaredOptions, new RegExp(`^ {2}${name}\\??:`, "m"), `option ${name}`);
  }
});

test("a ChannelError has the declared fields", () => {
  const error = new client.ChannelError("no", { action: "subscribe", channel: "c", reply: {} });
  assert.deepEqual(
    [error.name, error.action, error.channel, error.reply, error.message],
    ["ChannelError", "subscribe", "c", {}, "no"],
  );
  for (const field of ["action", "channel", "reply"]) assert.ok(declaredMembers("ChannelError").has(field));
});
