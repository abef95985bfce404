// The Cache API behind a Worker run by plain `workerd serve` (see workerd_edge.rs): workerd
// sends each `caches.default` operation of the Worker here (its `cacheApiOutbound`) as an HTTP
// request for the entry's key: GET to look up (a miss is 504 with `cf-cache-status: MISS`), PUT
// with the whole HTTP response as the body to store, PURGE to delete. Entries live in this
// isolate's memory, expire after the response's `s-maxage` (else `max-age`), and responses
// that a shared cache must not keep are refused, as Cloudflare's cache refuses them. Like the
// CDN cache in production it is a separate, fast service: the Worker's own work is what the
// bench then measures (miniflare's cache, a Durable Object over SQLite and files, cost ~1.7 ms
// of CPU per lookup on this machine, ten times a whole JavaScript /ping).

const MAX_ENTRIES = 10000;
const entries = new Map(); // key → { status, headers, body, expires }

function lifetimeMs(cacheControl) {
  const directives = (cacheControl ?? "").toLowerCase();
  if (/(^|[\s,])(private|no-store|no-cache)([\s,=]|$)/.test(directives)) return 0;
  const shared = /s-maxage=(\d+)/.exec(directives) ?? /max-age=(\d+)/.exec(directives);
  return shared ? Number(shared[1]) * 1000 : 0;
}

// "HTTP/1.1 200 OK\r\nname: value\r\n…\r\n\r\nbody" → status, headers, body bytes.
function parseResponse(bytes) {
  let end = -1;
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) {
      end = i;
      break;
    }
  }
  if (end < 0) return null;
  const [statusLine, ...lines] = new TextDecoder().decode(bytes.subarray(0, end)).split("\r\n");
  const status = Number(/^HTTP\/\d\.\d (\d{3})/.exec(statusLine)?.[1]);
  if (!status) return null;
  const headers = lines.map((line) => {
    const colon = line.indexOf(":");
    return [line.slice(0, colon), line.slice(colon + 1).trim()];
  });
  return { status, headers, body: bytes.slice(end + 4) };
}

const miss = () => new Response(null, { status: 504, headers: { "cf-cache-status": "MISS" } });

export default {
  async fetch(request) {
    const key = request.url;
    if (request.method === "GET" || request.method === "HEAD") {
      const entry = entries.get(key);
      if (entry === undefined) return miss();
      if (entry.expires <= Date.now()) {
        entries.delete(key);
        return miss();
      }
      const headers = new Headers(entry.headers);
      headers.set("cf-cache-status", "HIT");
      return new Response(request.method === "HEAD" ? null : entry.body, { status: entry.status, headers });
    }
    if (request.method === "PUT") {
      const parsed = parseResponse(new Uint8Array(await request.arrayBuffer()));
      const headers = new Headers(parsed?.headers ?? []);
      const lifetime = parsed === null || headers.has("set-cookie") ? 0 : lifetimeMs(headers.get("cache-control"));
      if (lifetime === 0) return new Response(null, { status: 413 });
      entries.delete(key);
      if (entries.size >= MAX_ENTRIES) entries.delete(entries.keys().next().value);
      entries.set(key, { ...parsed, expires: Date.now() + lifetime });
      return new Response(null, { status: 204 });
    }
    if (request.method === "PURGE") {
      return new Response(null, { status: entries.delete(key) ? 200 : 404 });
    }
    return new Response(null, { status: 405 });
  },
};
