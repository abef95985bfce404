// The baseline for the edge's cached vehicle reads: what roam's edge does on a cache hit, in
// plain JavaScript. The same Cache API lookup under the same kind of key, the same metadata
// headers (stored with the entry, judged here: fresh, stale-while-revalidate, too old), the
// same answer headers, the body passed through as it is. It gets its entries by asking
// UPSTREAM (roam's edge) on a miss, so it needs no signing key; the bench warms it first and
// measures hits.
const KEY_BASE = "https://edge-cache.roam.internal/v1";
const KEPT = ["content-type", "etag", "last-modified"];

function keyFor(url) {
  const match = /^\/api\/v1\/cities\/([^/]+)\/vehicles$/.exec(url.pathname);
  if (!match) return null;
  const status = url.searchParams.get("status");
  const query = status === "available" || status === "unavailable" ? `?status=${status}` : "";
  return { key: `${KEY_BASE}/cities/${match[1]}/vehicles${query}`, path: url.pathname + query };
}

function windows(cacheControl) {
  const secs = (name) => Number(new RegExp(`${name}=(\\d+)`).exec(cacheControl)?.[1] ?? 0) * 1000;
  return { fresh: secs("s-maxage"), swr: secs("stale-while-revalidate"), sie: secs("stale-if-error") };
}

async function refresh(request, env, cache, key, path) {
  const upstream = await fetch(env.UPSTREAM + path, {
    headers: { "mf-cf-blob": request.headers.get("mf-cf-blob") ?? "{}" },
  });
  const cacheControl = upstream.headers.get("cache-control") ?? "";
  const w = windows(cacheControl);
  const body = await upstream.arrayBuffer();
  if (upstream.status !== 200 || w.fresh === 0) return new Response(body, upstream);
  const headers = {
    "cache-control": `public, s-maxage=${Math.ceil((w.fresh + Math.max(w.swr, w.sie)) / 1000)}`,
    "x-edge-cache-fetched-at": String(Date.now()),
    "x-edge-cache-windows": `${w.fresh},${w.swr},${w.sie}`,
    "x-edge-cache-served-by": upstream.headers.get("x-roam-served-by") ?? "",
    "x-edge-cache-origin-cache-control": cacheControl,
  };
  for (const name of KEPT) {
    const value = upstream.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  await cache.put(key, new Response(body, { headers }));
  return new Response(body, upstream);
}

export default {
  async fetch(request, env, ctx) {
    const started = Date.now();
    const requestId = request.headers.get("x-request-id") ?? crypto.randomUUID();
    const found = keyFor(new URL(request.url));
    if (found === null) return new Response("not found", { status: 404 });
    const bookmark =
      request.headers.get("x-roam-bookmark") ?? /roam_bookmark=/.test(request.headers.get("cookie") ?? "");
    const cache = caches.default;
    const entry = bookmark ? undefined : await cache.match(found.key);
    if (entry !== undefined) {
      const age = started - Number(entry.headers.get("x-edge-cache-fetched-at"));
      const [fresh, swr] = (entry.headers.get("x-edge-cache-windows") ?? "").split(",").map(Number);
      if (age <= fresh + swr) {
        if (age > fresh) ctx.waitUntil(refresh(request, env, cache, found.key, found.path));
        const headers = {
          "cache-control": entry.headers.get("x-edge-cache-origin-cache-control") ?? "",
          "x-roam-served-by": entry.headers.get("x-edge-cache-served-by") ?? "",
          "x-roam-cache": age > fresh ? "stale" : "hit",
          "server-timing": `edge;dur=${(Date.now() - started).toFixed(1)}`,
          "x-request-id": requestId,
        };
        for (const name of KEPT) {
          const value = entry.headers.get(name);
          if (value !== null) headers[name] = value;
        }
        return new Response(entry.body, { status: entry.status, headers });
      }
    }
    return refresh(request, env, cache, found.key, found.path);
  },
};
