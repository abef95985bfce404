// The rate-limiting binding (wrangler.toml's [[ratelimits]]) for a Worker run by plain
// `workerd serve` (see workerd_edge.rs): workerd has no such binding of its own, so each one is
// a wrapped binding whose inner bindings are the limit and the period (JSON). Like Cloudflare's,
// it counts per key in fixed windows of `period` seconds at one location; here the isolate is
// the location. The class is named `Ratelimit` because that is the name the `worker` crate
// checks before it hands the binding to Rust.

class Ratelimit {
  constructor(limit, period) {
    this.limitPerWindow = limit;
    this.periodMs = period * 1000;
    this.window = 0;
    this.counts = new Map(); // key → requests in this window
  }

  async limit({ key }) {
    const window = Math.floor(Date.now() / this.periodMs);
    if (window !== this.window) {
      this.window = window;
      this.counts.clear();
    }
    const used = this.counts.get(key) ?? 0;
    if (used >= this.limitPerWindow) return { success: false };
    this.counts.set(key, used + 1);
    return { success: true };
  }
}

export default function (env) {
  return new Ratelimit(Number(env.limit), Number(env.period));
}
