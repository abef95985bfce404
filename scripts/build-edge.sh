#!/usr/bin/env bash
# Builds the edge worker (crate roam-edge, Rust → Wasm) into build/ at the repository root,
# where wrangler.toml's `main` points. Run by wrangler's [build] command, by the test harness
# (roam_stack::edge::build_edge) and by hand.
#
# worker-build would download wasm-bindgen, esbuild and wasm-opt; this machine (and CI) may
# only use package registries, so we hand it the local installs: wasm-bindgen-cli from
# crates.io (~/.cargo/bin, at exactly the version in Cargo.lock), esbuild and wasm-opt from
# npm (node_modules, pinned by package-lock.json).
#
# ROAM_EDGE_PREBUILT=1 makes this a no-op when build/index.js exists: the tests build once up
# front, then start many `wrangler dev` instances that must not rebuild (and race) each time.
#
# ROAM_EDGE_PROFILE=dev (what `cargo xtask dev` sets) builds for the edit → reload loop: cargo
# profile `edge-dev` (opt-level 1, no LTO, incremental), no wasm-opt, no minifying. Anything
# else (the bench, the bundle gate, deploy) gets `release`. build/.profile says which is there.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# The API reference page (/docs) is Swagger UI, served as static files from the npm package
# package-lock.json pins; copied (not committed) next to the pages on every build.
vendor=edge/assets/vendor/swagger-ui
swagger=node_modules/swagger-ui-dist
[[ -f "$swagger/swagger-ui-bundle.js" ]] || { echo "build-edge: $swagger is missing (run: npm ci)" >&2; exit 1; }
if ! cmp -s "$swagger/package.json" "$vendor/package.json"; then
  mkdir -p "$vendor"
  cp "$swagger/swagger-ui-bundle.js" "$swagger/swagger-ui.css" "$swagger/LICENSE" \
    "$swagger/package.json" "$vendor/"
fi

if [[ "${ROAM_EDGE_PREBUILT:-}" == 1 && -f build/index.js ]]; then
  exit 0
fi
profile="${ROAM_EDGE_PROFILE:-release}"
[[ "$profile" == release || "$profile" == dev ]] \
  || { echo "build-edge: ROAM_EDGE_PROFILE must be release or dev, not $profile" >&2; exit 1; }
# Up to date (nothing it is built from is newer): skip. `wrangler dev` runs the build twice at
# start (once for the entry, once when its watcher is ready), so this matters.
# ROAM_EDGE_FORCE_BUILD=1 builds anyway.
if [[ "${ROAM_EDGE_FORCE_BUILD:-}" != 1 && -f build/index.js && -f build/index_bg.wasm \
  && "$(cat build/.profile 2>/dev/null)" == "$profile" ]]; then
  newer="$(find edge shared Cargo.toml Cargo.lock scripts/build-edge.sh scripts/plain-handler.mjs \
    \( -path edge/assets -o -path '*/target' \) -prune -o -newer build/index_bg.wasm -print -quit)"
  if [[ -z "$newer" ]]; then
    echo "build-edge: build/ is up to date"
    exit 0
  fi
fi

die() { echo "build-edge: $*" >&2; exit 1; }

cargo_bin="${CARGO_HOME:-$HOME/.cargo}/bin"
wanted_bindgen="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)"

export WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$cargo_bin/wasm-bindgen}"
export ESBUILD_BIN="${ESBUILD_BIN:-$root/node_modules/@esbuild/linux-x64/bin/esbuild}"
export WASM_OPT_BIN="${WASM_OPT_BIN:-$root/node_modules/binaryen/bin/wasm-opt}"
worker_build="${WORKER_BUILD_BIN:-$cargo_bin/worker-build}"

[[ -x "$worker_build" ]] || die "worker-build not found at $worker_build (cargo install worker-build --version 0.8.7 --locked)"
[[ -x "$WASM_BINDGEN_BIN" ]] || die "wasm-bindgen not found at $WASM_BINDGEN_BIN (cargo install wasm-bindgen-cli --version $wanted_bindgen --locked)"
have_bindgen="$("$WASM_BINDGEN_BIN" --version | awk '{ print $2 }')"
[[ "$have_bindgen" == "$wanted_bindgen" ]] || die "wasm-bindgen $have_bindgen at $WASM_BINDGEN_BIN, but Cargo.lock wants $wanted_bindgen (cargo install wasm-bindgen-cli --version $wanted_bindgen --locked --force)"
[[ -x "$ESBUILD_BIN" ]] || die "esbuild not found at $ESBUILD_BIN (run: npm ci)"
[[ -x "$WASM_OPT_BIN" ]] || die "wasm-opt not found at $WASM_OPT_BIN (run: npm ci)"
command -v node > /dev/null || die "node not found (install Node.js 20)"
rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown \
  || die "the wasm32-unknown-unknown target is missing (rustup target add wasm32-unknown-unknown)"

# Size over speed for the Worker only: the origin keeps the workspace's opt-level 3.
export CARGO_PROFILE_RELEASE_OPT_LEVEL="${CARGO_PROFILE_RELEASE_OPT_LEVEL:-z}"

rm -f build/.profile
# Unminified, so that scripts/plain-handler.mjs can swap worker-build's per-request
# WorkerEntrypoint class for a plain module handler; esbuild minifies afterwards (release).
if [[ "$profile" == dev ]]; then
  (cd edge && NO_MINIFY=1 "$worker_build" --profile edge-dev --no-opt --out-dir ../build "$@")
  node scripts/plain-handler.mjs build/index.js
else
  (cd edge && NO_MINIFY=1 "$worker_build" --release --out-dir ../build "$@")
  node scripts/plain-handler.mjs build/index.js
  "$ESBUILD_BIN" build/index.js --minify --format=esm --outfile=build/index.js --allow-overwrite \
    --log-level=warning
fi
echo "$profile" > build/.profile
