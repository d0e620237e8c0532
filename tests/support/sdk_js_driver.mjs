// Drives a running mock with the official JavaScript SDK (@runware/sdk-js) and with the
// `ws` package it depends on, then prints one JSON object for tests/mock/test_sdk_js.py.
//
// Environment: SDK_JS_DIR (where `npm install --prefix` put the SDK), MOCK_URL (the mock's
// http base URL, loopback), MOCK_KEY, MEDIA_DATA_URI. Every wait is bounded; the whole run too.

import { join } from "node:path";
import { pathToFileURL } from "node:url";

const WAIT_MS = 20_000;
setTimeout(() => {
  console.error("sdk_js_driver: gave up after 90 s");
  process.exit(3);
}, 90_000).unref();

const dir = process.env.SDK_JS_DIR;
const base = process.env.MOCK_URL;
const apiKey = process.env.MOCK_KEY;
if (!base.startsWith("http://127.0.0.1:")) throw new Error("the mock must be on loopback");
const wsUrl = base.replace("http://", "ws://") + "/v1";
const load = (path) => import(pathToFileURL(join(dir, "node_modules", path)).href);
const { RunwareServer } = await load("@runware/sdk-js/dist/index.js");
const { default: WebSocket } = await load("ws/wrapper.mjs");

const PNG = process.env.MEDIA_DATA_URI; // a small picture, made by the test

function bounded(promise, label) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label}: no answer in ${WAIT_MS} ms`)), WAIT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function admin(method, path, body) {
  const answer = await fetch(`${base}/__admin${path}`, {
    method,
    // The mock was started with --require-key: /__admin wants that key too.
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${apiKey}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!answer.ok) throw new Error(`${method} ${path}: HTTP ${answer.status}`);
  return answer.json();
}

// A socket whose messages queue up until read, so none is missed between reads.
async function socket() {
  const ws = new WebSocket(wsUrl);
  const queue = [];
  const waiting = [];
  ws.on("message", (data) => {
    const message = JSON.parse(data.toString());
    const waiter = waiting.shift();
    if (waiter) waiter(message);
    else queue.push(message);
  });
  await bounded(new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject)), "open");
  ws.next = () =>
    bounded(new Promise((resolve) => (queue.length ? resolve(queue.shift()) : waiting.push(resolve))), "message");
  ws.send1 = (task) => ws.send(JSON.stringify([task]));
  return ws;
}

function inference(extra) {
  return {
    taskType: "imageInference",
    taskUUID: crypto.randomUUID(),
    model: "runware:glm-image@0",
    positivePrompt: 'A small sign that reads "RESUME"',
    width: 256,
    height: 256,
    steps: 4,
    ...extra,
  };
}

const out = {};

// 1. mediaStorage with the SDK, then the mediaUUID as a reference image.
const sdk = await bounded(RunwareServer.initialize({ apiKey, url: wsUrl, shouldReconnect: true }), "connect");
const stored = await bounded(sdk.mediaStorage({ media: PNG }), "mediaStorage");
out.media = { taskType: stored.taskType, mediaUUID: stored.mediaUUID, mediaURL: stored.mediaURL };
const images = await bounded(
  sdk.requestImages({
    model: "runware:glm-image@0",
    positivePrompt: 'A poster that reads "FROM JS"',
    width: 256,
    height: 256,
    steps: 4,
    numberResults: 1,
    inputs: { referenceImages: [stored.mediaUUID] },
  }),
  "requestImages",
);
out.referenced = images.map((image) => image.imageUUID);

// 2. The mock drops the SDK's socket; the SDK reconnects on its own and carries on.
out.dropped = (await admin("POST", "/disconnect")).closed;
const again = await bounded(sdk.mediaStorage({ media: PNG }), "mediaStorage after the drop");
out.afterDrop = again.mediaUUID;
sdk.disconnect?.();

// 3. Resume, with the `ws` package: a job finishes while no socket is open, and the
//    images arrive on the next socket that authenticates with the same session.
const first = await socket();
first.send1({ taskType: "authentication", apiKey });
const session = (await first.next()).data[0].connectionSessionUUID;
const job = inference({ numberResults: 2 });
first.send1(job);
await bounded(new Promise((resolve) => { first.once("close", resolve); first.close(); }), "close");
await admin("POST", "/clock", { advance: 60 });
for (let tries = 0; ; tries++) {
  const found = (await admin("GET", "/sessions")).sessions.find((s) => s.connectionSessionUUID === session);
  if (found && !found.connected && found.buffered >= 2) break;
  if (tries > 400) throw new Error("the mock never buffered the job's images");
  await new Promise((resolve) => setTimeout(resolve, 50));
}
const second = await socket();
second.send1({ taskType: "authentication", apiKey, connectionSessionUUID: session });
const resumed = (await second.next()).data[0].connectionSessionUUID;
const delivered = [await second.next(), await second.next()].map((m) => m.data[0]);
second.close();
out.resume = {
  session,
  resumed,
  jobTaskUUID: job.taskUUID,
  delivered: delivered.map((item) => ({ taskUUID: item.taskUUID, imageUUID: item.imageUUID })),
};

console.log(JSON.stringify(out));
process.exit(0);
