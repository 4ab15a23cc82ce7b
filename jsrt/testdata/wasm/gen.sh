#!/bin/sh
# Regenerates calc.wasm and imports.wasm from their .wat with wabt 1.0.37 from npm, in a
# temporary directory, so the repository needs no npm to build or test.
set -e
dir=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm init -y >/dev/null && npm i --silent wabt@1.0.37)
NODE_PATH="$tmp/node_modules" node "$dir/gen.js"
