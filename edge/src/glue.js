// The JavaScript half of the edge's hot paths (see glue.rs). Every call from Rust into
// JavaScript costs a boundary crossing, a string copy each way and, through the `worker`
// crate's wrappers, an object per value; a function here does several JavaScript steps for one
// crossing. Values travel as one string of fields separated by NUL, which no header,
// URL or `request.cf` value we keep can contain (NULs are dropped from `cf` text).

const SEP = "\u0000";

// A `cf` field as text: strings (NULs dropped) and numbers; anything else is missing ("").
const text = (value) =>
  typeof value === "string"
    ? value.replaceAll(SEP, "")
    : typeof value === "number"
      ? String(value)
      : "";

// method, url, request id (the client's, else a fresh UUID: Rust validates it), traceparent
// (empty when none: Rust parses it), then the geo fields of request.cf: country, city, colo,
// continent, latitude, longitude.
export function requestFacts(request) {
  const headers = request.headers;
  const id = headers.get("x-request-id") ?? crypto.randomUUID();
  const traceparent = headers.get("traceparent") ?? "";
  return [
    request.method,
    request.url,
    id.replaceAll(SEP, ""),
    traceparent.replaceAll(SEP, ""),
    cfFacts(request),
  ].join(SEP);
}

// Every request header: name, value, name, value, … (names lowercase, as Headers gives them).
export function requestHeaders(request) {
  let out = "";
  for (const [name, value] of request.headers) out += name + SEP + value + SEP;
  return out;
}

// The geo fields of request.cf (see requestFacts); all empty when there is no cf object.
export function cfFacts(request) {
  const cf = request.cf;
  if (cf === null || typeof cf !== "object") return "\u0000\u0000\u0000\u0000\u0000";
  return [cf.country, cf.city, cf.colo, cf.continent, cf.latitude, cf.longitude]
    .map(text)
    .join(SEP);
}

// Response headers: name, value, name, value, … as a plain object, which workerd converts
// far faster than a list of pairs (that goes through the iterator protocol, one step per pair
// and per value: callgrind counted 15 % of a /ping's instructions in it). A name given twice
// (two set-cookie) needs the list.
function headerInit(joined) {
  const parts = joined.split(SEP);
  const record = {};
  for (let i = 0; i + 1 < parts.length; i += 2) {
    if (Object.hasOwn(record, parts[i])) return pairs(parts);
    record[parts[i]] = parts[i + 1];
  }
  return record;
}

function pairs(parts) {
  const list = [];
  for (let i = 0; i + 1 < parts.length; i += 2) list.push([parts[i], parts[i + 1]]);
  return list;
}

// A response with a text body.
export function respond(status, body, headers) {
  return new Response(body, { status, headers: headerInit(headers) });
}

// A response with a byte body; `bytes` is a view of Wasm memory, so it is copied first.
export function respondBytes(status, bytes, headers) {
  return new Response(bytes.slice(), { status, headers: headerInit(headers) });
}

// A response with no body (204, 304, …).
export function respondEmpty(status, headers) {
  return new Response(null, { status, headers: headerInit(headers) });
}

// A response whose body is another response's (a cache entry's), passed on unread.
export function respondFrom(status, source, headers) {
  return new Response(source.body, { status, headers: headerInit(headers) });
}

// caches.default.match(key): a Promise of the entry's Response, or undefined.
export function cacheMatch(key) {
  return caches.default.match(key);
}

// A cache entry's status, then name, value for each of `names` (NUL-separated) it has.
export function entryFacts(response, names) {
  const headers = response.headers;
  let out = String(response.status);
  for (const name of names.split(SEP)) {
    const value = headers.get(name);
    if (value !== null) out += SEP + name + SEP + value;
  }
  return out;
}
