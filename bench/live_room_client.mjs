// The live room's load: VIEWERS WebSocket subscribers of one session's `sessionStock`, then
// SALES one-unit orders through the session's code, one every INTERVAL_MS, and for each viewer
// how long after an order was sent (and after its answer came back) it first showed the quota
// that order left. Prints one JSON line. Node 20 with the `ws` package (WS_MODULE names its folder); run by bench/live_room.sh.
//
// Environment: BASE (http://host:port), SESSION, VARIANT, CODE, TOKEN (the buyer's), VIEWERS,
// SALES, INTERVAL_MS, IDLE_MS (a quiet spell measured before the sales), COUNT_CMD (a shell
// command printing the database's transactions so far).
import { createRequire } from "node:module";
import { execSync } from "node:child_process";

const require = createRequire(import.meta.url);
const WebSocket = require(process.env.WS_MODULE);
const env = (name, fallback) => process.env[name] ?? fallback;
const BASE = env("BASE");
const VIEWERS = Number(env("VIEWERS", "10"));
const SALES = Number(env("SALES", "20"));
const INTERVAL_MS = Number(env("INTERVAL_MS", "1000"));
const IDLE_MS = Number(env("IDLE_MS", "10000"));
const CONNECTING_AT_ONCE = 200;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const now = () => performance.timeOrigin + performance.now();

const subscribe = JSON.stringify({
  id: "1",
  type: "subscribe",
  payload: {
    query: "subscription($id: ID!) { sessionStock(sessionId: $id) { remaining } }",
    variables: { id: env("SESSION") },
  },
});

let start = null; // the quota shown before the first sale
const sent = []; // when sale k (1-based) was sent
const answered = []; // when its answer came back (after the commit)
const delays = [];
const afterAnswer = [];
const firstShown = [];
let refusals = 0;
let closedEarly = 0;

function viewer() {
  return new Promise((resolve) => {
    const socket = new WebSocket(BASE.replace("http", "ws") + "/graphql/ws", "graphql-transport-ws");
    let shown = null;
    socket.on("unexpected-response", (_request, response) => {
      refusals += 1;
      socket.terminate();
      resolve(null);
    });
    socket.on("error", () => resolve(null));
    socket.on("open", () => socket.send(JSON.stringify({ type: "connection_init", payload: {} })));
    socket.on("close", () => {
      if (shown !== null) closedEarly += 1;
    });
    socket.on("message", (data) => {
      const text = data.toString();
      if (text.includes('"connection_ack"')) return socket.send(subscribe);
      const match = /"remaining":(\d+)/.exec(text);
      if (!match) return;
      const remaining = Number(match[1]);
      if (shown === null) {
        shown = remaining;
        firstShown.push(remaining);
        return resolve(socket);
      }
      const at = now();
      // Every sale this figure covers, seen now (a viewer may skip figures in between).
      for (let left = shown - 1; left >= remaining; left--) {
        const sale = start - left;
        if (sale >= 1 && sent[sale] !== undefined) delays.push(at - sent[sale]);
        if (sale >= 1 && answered[sale] !== undefined) afterAnswer.push(at - answered[sale]);
      }
      shown = Math.min(shown, remaining);
    });
  });
}

async function connectAll() {
  const sockets = [];
  while (sockets.length < VIEWERS) {
    const batch = Math.min(CONNECTING_AT_ONCE, VIEWERS - sockets.length);
    const opened = await Promise.all(Array.from({ length: batch }, viewer));
    const ok = opened.filter(Boolean);
    sockets.push(...ok);
    if (ok.length < batch) await sleep(200);
  }
  return sockets;
}

async function sell(k) {
  const body = {
    query: "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id } userErrors { code } } }",
    variables: {
      input: {
        lines: [{ variantId: env("VARIANT"), quantity: 1 }],
        shippingAddress: { name: "李华", phone: "13800138000", province: "湖南省", city: "株洲市", district: "渌口区", line1: "朱亭镇 8 号" },
        idempotencyKey: `live-room-${process.pid}-${k}`,
        paymentMethod: "BANK_TRANSFER",
        referralCode: env("CODE"),
      },
    },
  };
  sent[k] = now();
  const answer = await fetch(BASE + "/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer " + env("TOKEN") },
    body: JSON.stringify(body),
  }).then((response) => response.json());
  answered[k] = now();
  if (!answer.data?.placeOrder?.order) throw new Error("sale refused: " + JSON.stringify(answer));
}

const transactions = () => Number(execSync(env("COUNT_CMD")).toString().trim());
async function statements() {
  const text = await fetch(BASE + "/metrics").then((response) => response.text());
  const line = text.split("\n").find((l) => l.startsWith("huakai_db_statement_duration_seconds_count"));
  return Number(line.split(" ").pop());
}
async function rates(ms) {
  const [s0, t0, at0] = [await statements(), transactions(), now()];
  await sleep(ms);
  const [s1, t1, at1] = [await statements(), transactions(), now()];
  const seconds = (at1 - at0) / 1000;
  return { statementsPerSecond: (s1 - s0) / seconds, transactionsPerSecond: (t1 - t0) / seconds };
}

const connecting = now();
const sockets = await connectAll();
const connectedIn = (now() - connecting) / 1000;
// The quota before the first sale, as the viewers show it (nothing sells meanwhile).
start = Math.max(...firstShown);
const differing = firstShown.filter((shown) => shown !== start).length;
const idle = await rates(IDLE_MS);

const [s0, t0, salesFrom] = [await statements(), transactions(), now()];
for (let k = 1; k <= SALES; k++) {
  const next = salesFrom + k * INTERVAL_MS;
  await sell(k);
  await sleep(Math.max(0, next - now()));
}
await sleep(2000);
const salesSeconds = (now() - salesFrom) / 1000;
const selling = {
  statementsPerSecond: ((await statements()) - s0) / salesSeconds,
  transactionsPerSecond: (transactions() - t0) / salesSeconds,
};

delays.sort((a, b) => a - b);
afterAnswer.sort((a, b) => a - b);
const at = (q, all = delays) => all[Math.min(all.length - 1, Math.floor(q * all.length))];
const expected = VIEWERS * SALES;
console.log(JSON.stringify({
  viewers: sockets.length,
  connectedInSeconds: Number(connectedIn.toFixed(1)),
  refusedWhileConnecting: refusals,
  shownAnotherQuotaFirst: differing,
  sales: SALES,
  seen: delays.length,
  expected,
  delayMs: { p50: Math.round(at(0.5)), p99: Math.round(at(0.99)), max: Math.round(delays[delays.length - 1]) },
  overOneSecond: delays.filter((d) => d > 1000).length,
  // Shown before the order's answer came back counts as 0 here.
  delayAfterAnswerMs: { p50: Math.max(0, Math.round(at(0.5, afterAnswer))), p99: Math.max(0, Math.round(at(0.99, afterAnswer))), max: Math.max(0, Math.round(afterAnswer[afterAnswer.length - 1])) },
  closedEarly,
  idle: { statementsPerSecond: Number(idle.statementsPerSecond.toFixed(1)), transactionsPerSecond: Number(idle.transactionsPerSecond.toFixed(1)) },
  selling: { statementsPerSecond: Number(selling.statementsPerSecond.toFixed(1)), transactionsPerSecond: Number(selling.transactionsPerSecond.toFixed(1)) },
  clientRssMiB: Math.round(process.memoryUsage().rss / 1048576),
}));
for (const socket of sockets) socket.terminate();
process.exit(0);
