// The JavaScript half of the edge's hot paths (see glue.rs). Every call from Rust into
// JavaScript costs a boundary crossing, a string copy each way and, through the `worker`
// crate's wrappers, often an object per value; a function here does several JavaScript steps
// for one crossing. Values travel as one string of fields separated by NUL, which no header,
// URL or `request.cf` value we keep can contain (NULs are dropped from `cf` text).

const SEP = "\u0000";

// A `cf` field as text: strings (NULs dropped) and numbers; anything else is missing ("").
const text = (value) =>
  typeof value === "string"
    ? value.replaceAll(SEP, "")
    : typeof value === "number"
      ? String(value)
      : "";

// method, url, request id (the client's, else a fresh UUID: Rust validates it), then the
// geo fields of request.cf: country, city, colo, continent, latitude, longitude.
export function requestFacts(request) {
  const id = request.headers.get("x-request-id") ?? crypto.randomUUID();
  return [request.method, request.url, id.replaceAll(SEP, ""), cfFacts(request)].join(SEP);
}

// The geo fields of request.cf (see requestFacts); all empty when there is no cf object.
export function cfFacts(request) {
  const cf = request.cf;
  if (cf === null || typeof cf !== "object") return "\u0000\u0000\u0000\u0000\u0000";
  return [cf.country, cf.city, cf.colo, cf.continent, cf.latitude, cf.longitude]
    .map(text)
    .join(SEP);
}

// A response from a text body and headers given as name, value, name, value, … (no name
// twice). The headers go as a plain object: workerd converts a list of pairs through the
// iterator protocol, one step per pair and per value, which measured (callgrind) as costly as
// all the rest of /ping.
export function respond(status, body, headers) {
  const parts = headers.split(SEP);
  const record = {};
  for (let i = 0; i + 1 < parts.length; i += 2) record[parts[i]] = parts[i + 1];
  return new Response(body, { status, headers: record });
}
