// Rewrites worker-build's bundle (built unminified, NO_MINIFY=1) so that workerd calls the
// Worker through a plain module handler, `export default { fetch(request, env, ctx) }`,
// instead of worker-build's `WorkerEntrypoint` subclass behind two Proxies. For a class,
// workerd constructs an instance per request and the Proxies wrap it and its `fetch` anew
// each time: callgrind measured that at ~10 % of the instructions of a `/ping`. We do not use
// RPC, the one thing the class form is for. worker-build's recovery after a Wasm trap is kept
// as it is: the handler runs `checkReinitialize()` first and `handleMaybeCritical()` on a throw,
// exactly as the Proxy did.
//
// Usage: node scripts/plain-handler.mjs build/index.js   (then minify; build-edge.sh does)
// Fails loudly if worker-build's shim is not the one this was written against (0.8.x).

import { readFileSync, writeFileSync } from "node:fs";

const file = process.argv[2];
const source = readFileSync(file, "utf8");

const classExport = "var shim_default = new Proxy(Entrypoint, classProxyHooks);";
const needed = [
  classExport,
  "function checkReinitialize()",
  "function handleMaybeCritical(e)",
  "Entrypoint.prototype.fetch = function",
  "shim_default as default",
];
const missing = needed.filter((text) => !source.includes(text));
if (missing.length > 0) {
  console.error(`plain-handler: ${file} is not the worker-build shim this expects; missing:`);
  for (const text of missing) console.error(`  ${text}`);
  process.exit(1);
}

const plainExport = `// roam (scripts/plain-handler.mjs): a plain module handler, no per-request class or Proxy.
var shim_default = {
  fetch(request, env, ctx) {
    checkReinitialize();
    try {
      return Entrypoint.prototype.fetch.call({ env, ctx }, request);
    } catch (e) {
      handleMaybeCritical(e);
      throw e;
    }
  },
};`;
writeFileSync(file, source.replace(classExport, plainExport));
