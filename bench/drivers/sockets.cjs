// The socket side of bench.subscriptions: opens graphql-transport-ws sockets, holds them, and times
// the first "next" message on each. In Node because the driver shares the box with the server it
// measures: Python's websockets client spent more CPU per socket than the API process did.
//
//   node sockets.cjs <ws url> <tokens.tsv> <sockets> <opening at a time> <document> <wait seconds>
//
// Prints one JSON line when it starts opening, one when every socket is subscribed ({"opened",
// "seconds", "cpuSeconds"}), then waits for a line on stdin (the tweet is being posted) and prints
// {"latenciesMs": [...]}: each socket's first next message, in ms after that line (those that got
// none within the wait are left out). Then it closes everything and exits.
"use strict";
const fs = require("fs");
const readline = require("readline");
const WebSocket = require("ws");

const [url, tokensPath, wanted, atATime, document, waitSeconds] = process.argv.slice(2);
const print = (value) => process.stdout.write(JSON.stringify(value) + "\n");
// The first line is the author's; followers follow.
const tokens = fs
  .readFileSync(tokensPath, "utf8")
  .trim()
  .split("\n")
  .slice(1, 1 + Number(wanted))
  .map((line) => line.split("\t")[1]);

const sockets = [];
const latencies = [];
let postedAt = null;
let finish = null;

function open(token) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, "graphql-transport-ws", { perMessageDeflate: false });
    let subscribed = false;
    let heard = false;
    socket.on("open", () => {
      socket.send(
        JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${token}` } }),
      );
    });
    socket.on("message", (data) => {
      const message = JSON.parse(data);
      if (message.type === "connection_ack") {
        socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: document } }));
        subscribed = true;
        sockets.push(socket);
        resolve();
      } else if (message.type === "ping") {
        socket.send('{"type":"pong"}');
      } else if (message.type === "next" && postedAt !== null && !heard) {
        heard = true;
        latencies.push(Math.round((performance.now() - postedAt) * 10) / 10);
        if (latencies.length === sockets.length && finish !== null) finish();
      }
    });
    socket.on("error", (error) => {
      if (!subscribed) reject(error);
    });
    socket.on("close", (code) => {
      if (!subscribed) reject(new Error(`closed with ${code} before connection_ack`));
    });
  });
}

async function openAll() {
  let next = 0;
  async function opener() {
    while (next < tokens.length) {
      await open(tokens[next++]);
    }
  }
  await Promise.all(Array.from({ length: Number(atATime) }, opener));
}

async function main() {
  print({ opening: tokens.length });
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  await openAll();
  const cpu = process.cpuUsage(cpuBefore);
  print({
    opened: sockets.length,
    seconds: (performance.now() - started) / 1000,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  });
  const lines = readline.createInterface({ input: process.stdin });
  await new Promise((resolve) => lines.once("line", resolve));
  postedAt = performance.now();
  await new Promise((resolve) => {
    finish = resolve;
    setTimeout(resolve, Number(waitSeconds) * 1000);
  });
  for (const socket of sockets) socket.terminate();
  // Exit once the line is written: a pipe takes 64 KiB at a time, and exiting cuts the rest.
  process.stdout.write(JSON.stringify({ latenciesMs: latencies }) + "\n", () => process.exit(0));
}

main().catch((error) => {
  print({ error: String(error) });
  process.exit(1);
});
