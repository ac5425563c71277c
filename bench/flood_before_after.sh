#!/usr/bin/env bash
# Hash flooding before and after the keyed-hash change, back to back, so that
# both runs see the same machine (see bench/README.md "Hash flooding").
#
#   bench/flood_before_after.sh [flags for flood.js, e.g. --rounds 3 or --quick]
#
# BEFORE: the baseline worktree $BASE (default /tmp/exwallet-base, commit
# f41a55c, its own node_modules), with this tree's bench/flood*.ts copied in
# and compiled there (the API they use is the same in both trees).
# AFTER: this tree, `npm run build`, then flood.js with --baseline.
# SKIP_BEFORE=1 reuses the existing before file instead of re-running it.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BASE=${BASE:-/tmp/exwallet-base}
BASE_COMMIT=f41a55c

case " $* " in *" --quick "*) RESULTS=$ROOT/bench/results/quick.tmp ;; *) RESULTS=$ROOT/bench/results ;; esac
mkdir -p "$RESULTS"
BEFORE_JSON=$RESULTS/flood.before.json

if [ "${SKIP_BEFORE:-0}" != 1 ]; then
  if [ ! -d "$BASE" ]; then
    git -C "$ROOT" worktree add "$BASE" "$BASE_COMMIT"
  fi
  [ -d "$BASE/node_modules" ] || (cd "$BASE" && npm ci)
  [ -f "$BASE/build/exwallet.wasm" ] || (cd "$BASE" && npm run build)
  cp "$ROOT/bench/flood.ts" "$ROOT/bench/flood_craft.ts" "$BASE/bench/"
  (cd "$BASE" && npx tsc -p .)
fi
(cd "$ROOT" && npm run build)

if [ "${SKIP_BEFORE:-0}" != 1 ]; then
  echo "== BEFORE ($BASE, $(git -C "$BASE" rev-parse --short HEAD)) $(uptime)" >&2
  node "$BASE/dist/bench/flood.js" --out "$BEFORE_JSON" "$@"
fi
FLOOD_JS=$ROOT/out/bench/flood.js
[ -f "$FLOOD_JS" ] || FLOOD_JS=$ROOT/dist/bench/flood.js
echo "== AFTER ($ROOT, $(git -C "$ROOT" rev-parse --short HEAD) + working tree) $(uptime)" >&2
node "$FLOOD_JS" --baseline "$BEFORE_JSON" "$@"
echo "== done $(uptime)" >&2
