// How an application uses the browser client from TypeScript. `tsc -p tests/js` compiles
// this against websocket-client.d.ts; every `@ts-expect-error` line must stay an error.
import WebSocketClientDefault, {
  ChannelError,
  WebSocketClient,
  readCsrfCookie,
  type Publication,
  type PresenceResult,
  type StreamPosition,
  type SubscribeResult,
} from "../../django_aws_api_gateway_websockets/static/django_aws_api_gateway_websockets/websocket-client.js";

interface ChatMessage {
  type: "chat_message";
  user: string;
  message: string;
}

const client: WebSocketClient = new WebSocketClientDefault({
  url: "wss://ws.example.com/",
  channel: "general",
  heartbeatIntervalMs: 60_000,
  getCsrfToken: readCsrfCookie,
  tokenInProtocol: true,
  gapTimeoutMs: 5000,
});

async function main(): Promise<void> {
  await client.connect();
  client.send("chat_message", { message: "hello" });

  const result: SubscribeResult = await client.subscribe("room-2");
  const recovered: boolean | null = result.recovered;
  const saved: StreamPosition | null = client.position("room-2");
  if (saved) await client.subscribe("room-3", { recover: saved });
  await client.unsubscribe("room-3");

  const here: PresenceResult = await client.presence("room-2");
  const names: string[] = here.users.map((user) => `${user.name} (${user.connections})`);
  console.log(recovered, names, here.anonymous, here.truncated, client.subscriptions);

  try {
    await client.subscribe("secret");
  } catch (error) {
    if (error instanceof ChannelError) console.log(error.action, error.channel, error.message);
  }
}

// Events with a fixed meaning are typed.
client.on("publication", (p: Publication) => console.log(p.channel, p.offset, p.epoch, p.data));
client.on("recoveryfailed", ({ channel, reason }) => console.log(`reload ${channel}: ${reason}`));
client.on("join", ({ channel, user, total }) => console.log(channel, user?.name, total));
client.on("leave", ({ connections }) => console.log(connections));
client.on("presence_count", ({ total, anonymous }) => console.log(total, anonymous));
client.on("reconnecting", ({ attempt, delayMs }) => console.log(attempt, delayMs));
client.on("close", (event) => console.log(event.code));
// Application message types receive the message, and a publication's envelope.
const off = client.on("chat_message", (message: ChatMessage, publication?: Publication) => {
  console.log(message.user, message.message, publication?.offset);
});
off();
client.changeChannel("random").catch(() => undefined);
client.close(1000, "bye");
void main();

// @ts-expect-error: the gateway url is required.
new WebSocketClient({});
// @ts-expect-error: a channel name is a string.
client.subscribe(42);
// @ts-expect-error: recover needs an offset and an epoch.
client.subscribe("r", { recover: { offset: 3 } });
// @ts-expect-error: a reconnect's info has no such field.
client.on("reconnecting", (info) => info.channel);
// @ts-expect-error: tokenInProtocol is a boolean.
new WebSocketClient({ url: "wss://x/", tokenInProtocol: "yes" });
// @ts-expect-error: state is read-only.
client.state = "open";
