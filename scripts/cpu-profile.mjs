// Records a V8 CPU profile of a Worker through workerd's inspector (Chrome DevTools protocol)
// while a load runs, and prints where the time went: self time by function, the JS↔Wasm
// boundary, garbage collection and workerd's own native work ("(program)").
//
// Usage: node scripts/cpu-profile.mjs <inspector port> <seconds> <out.cpuprofile> [worker name]
// (workerd serve … --inspector-addr=127.0.0.1:<port>; roam_stack::workerd_edge sets it from
// WorkerdEdgeOptions::inspector_port).
// Start the load first (or right after); the profile covers the next <seconds>.

import { writeFileSync } from "node:fs";
import WebSocket from "ws";

const [port, seconds, out, name] = process.argv.slice(2);
const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
const target = targets.find((t) => !name || t.title?.includes(name) || t.id?.includes(name)) ?? targets[0];
if (!target) throw new Error(`no inspector target on port ${port}`);
const ws = new WebSocket(target.webSocketDebuggerUrl);
await new Promise((resolve, reject) => { ws.once("open", resolve); ws.once("error", reject); });
let nextId = 1;
const pending = new Map();
ws.on("message", (data) => {
  const msg = JSON.parse(data.toString());
  if (msg.id && pending.has(msg.id)) { pending.get(msg.id)(msg); pending.delete(msg.id); }
});
const send = (method, params = {}) => new Promise((resolve) => {
  const id = nextId++;
  pending.set(id, resolve);
  ws.send(JSON.stringify({ id, method, params }));
});
await send("Profiler.enable");
await send("Profiler.setSamplingInterval", { interval: 100 });
await send("Profiler.start");
await new Promise((r) => setTimeout(r, Number(seconds) * 1000));
const { result } = await send("Profiler.stop");
writeFileSync(out, JSON.stringify(result.profile));
ws.close();

// Self time per function, from the sample counts.
const profile = result.profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const hits = new Map();
for (const s of profile.samples) hits.set(s, (hits.get(s) ?? 0) + 1);
const total = profile.samples.length;
const self = new Map();
for (const [id, count] of hits) {
  const f = byId.get(id).callFrame;
  const key = `${f.functionName || "(anonymous)"} ${f.url ? f.url.split("/").pop() : ""}`.trim();
  self.set(key, (self.get(key) ?? 0) + count);
}
const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, 40);
console.log(`${total} samples`);
for (const [key, count] of rows) console.log(`${((100 * count) / total).toFixed(1).padStart(5)} %  ${key}`);
