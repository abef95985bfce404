//! The bench's written notes: how the throughput and load parts measure, and where the edge's
//! and the origin's time goes (profiles measured while writing them; the commands are in them).

pub(super) const THROUGHPUT_HOW: &str =
    "The edge runs in **plain workerd** (`workerd serve` with a \
generated config: the Worker alone on its socket, as production runs it, its Cache API backed \
by an in-memory cache service: roam_stack::workerd_edge), the figures the targets are judged \
by; the **wrangler dev** column is the same under the development tool (its proxy worker in \
front, its local cache), to keep that cost visible. Each JavaScript baseline runs in the same \
runtime as the edge it is compared with and does the same work; each pair is measured in \
alternating rounds and the median kept. *µs CPU/req* is the CPU time workerd spent per request \
(user + system), steadier than req/s on this shared machine.";

/// New York at home, next to the single region: what was found and what is left.
pub(super) const AT_HOME_NEXT_TO_THE_SINGLE_REGION: &str = "- **At home next to the single \
region (New York).** Distance gives multi-region nothing here, so any cost of its own shows. Two \
were found by counting, not timing (`pg_stat_statements` on each topology's us-east node, the \
same 30 at-home journeys): the multi-region node planned every statement anew, because on \
parent tables that also hold other regions' foreign partitions PostgreSQL prices the generic \
plan out (0.1–0.2 ms each, several statements a step); statements now name the node's own \
partition (`here.<table>`), and both nodes plan alike and spend the same statement time per \
journey (4.1 ms). And the bench warmed one \
journey while the single-region origin had served every city's before New York's turn, so the \
multi-region origin's connections were still preparing and planning (now ten warm-up journeys). \
The origin's own time (`app`) is now within 0.1 ms for the writes and the ride list; what was \
left (0.2–1.4 ms) lay in the edge's cache work, which the cacheless baseline never does (cache \
off in both, one run: 0.96–1.02× instead of 0.91–0.99×). Part of it was a Cache API lookup on \
the path of every list read after a write in this PoP, for an entry the isolate itself had \
just marked superseded: an isolate now remembers what it stored and marked (`cache/known.rs`) \
and sends such a read straight to the origin, looking the entry up only if the origin fails \
(New York, one run: list vehicles 0.90× → 0.98×, the writes 1.0–1.1×). What remains is within \
noise: both topologies take the same path here, so the target line gives each slower step's \
95 % bootstrap interval and says *met within noise* when every interval reaches 1.0×. List rides at home cannot meet 1.3 × (PoP → us-east + \
service) at this distance: that bound has no term for the user → PoP link (1.0 ms) or the \
edge's fixed 2–3 ms, more than the 5.1 ms round trip it scales.\n";

/// Where the edge's time goes: measured while writing this note (see the commands in it).
pub(super) const EDGE_PROFILE: &str =
    "- **The edge's own cost.** Instructions per `/ping` in plain \
workerd, counted by `valgrind --tool=callgrind --separate-threads=yes` on `workerd serve` (the \
request thread; 1,300 requests after 2,000 to warm up; wrk -c4): roam 314 k, the JavaScript \
worker 230 k (73 %). Before this work roam took 440 k (48 %); the steps, each measured so: \
reading the request and building the response in one crossing each changed little alone \
(446 k: the crossings were not the cost); headers handed to `Response` as an object instead of \
a list of pairs (workerd converts pairs through the iterator protocol, a step per pair and per \
value) 395 k; worker-build's per-request `WorkerEntrypoint` instance and the two Proxies around \
it replaced by a plain module handler 323 k; the response type that crosses once and `request.cf` \
read once 314 k. What is left over the JavaScript worker is JIT code (~69 k of the ~85 k \
difference): in a V8 CPU profile through workerd's inspector, roam's Wasm is 13 % of the busy \
samples (spread thin: parsing the request facts, the nearest region, serde_json, the header list, \
dlmalloc) and the JavaScript glue around it 27 % — most of it `request.cf`, which workerd builds \
from the header's JSON on every read and the JavaScript worker pays as well. The runtime's own \
share (the `Response` constructor, the HTTP parse and write) is the same for both. A cache hit \
crosses three times (the request, the entry's metadata, the response) and never copies the body \
into Wasm; since tracing, each of its four random ids (a v4 UUID: the trace id takes two, the \
edge's span and the cache lookup's one each) crosses once more to `crypto.getRandomValues`. \
Drawing them from a per-isolate generator seeded once instead moved neither figure (cached reads \
337 against 333 µs CPU per request, 70 % against 68 % of JavaScript, within this machine's \
noise), so the UUIDs stay.\n";

/// Where the origin's time goes: measured while writing this note.
pub(super) const ORIGIN_PROFILE: &str = "- **Primary-key reads.** perf on the us-east origin under wrk \
(`cargo xtask bench --only profile`, DWARF call graphs, flame graph in test-output/bench): \
47 % of its CPU is the kernel (the sockets to the client and to PostgreSQL, and waking tasks: \
`_raw_spin_unlock_irqrestore` alone 12 %), the handler's query through sqlx 47 % inclusive \
(acquiring a connection from the pool 14 %, the statement's round trip and decoding the rest), \
hyper's HTTP parsing and writing 15 %, allocation 12 %. The per-request log line was 10.6 % \
(the event, its formatting, the write to stdout): now only failures, refusals, slow requests and \
one in 100 others get one, and logging is 6.6 % (the request's span and the handler's \
`#[instrument]` span, formatted by the fmt subscriber when created). The signature check was \
2.1 % and is 1.1 % (the HMAC keyed once per process, no per-request key derivation or string). \
What is left is in origin/src, outside this work: the pool acquire per request and the \
handler's own span (now http/vehicles.rs and storage/), and the kernel's share, which `pgbench -S` pays too but \
over one connection per client and no HTTP.\n";

pub(super) const LOAD_HOW: &str = "An open-loop generator sends requests at a \
fixed rate for a few seconds, then a higher one, until the server falls behind: each request is \
sent when it is due whatever is still in flight, and its latency counts from then, so queueing \
shows (a closed loop such as wrk waits for answers and hides it). The edge runs in plain \
workerd on loopback; `pgbench -S -R <rate>` (16 clients, latencies from its per-transaction log, \
counted from each transaction's scheduled start) is the database's own curve on the same node. \
Reads are loaded with `oha -q <rate> --latency-correction` (64 connections), writes (each by a \
rider of their own, on their own vehicle: a user holds one open ride at a time) by xtask's own \
generator. The knee is the last rate served in full (≥ 90 % \
delivered, nothing failed) with a median within 3× of the lightest step's. The generator shares \
the 2 cores with what it loads. `cargo xtask bench --only load`.";
