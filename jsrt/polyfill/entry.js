// The core-js modules cairn bundles into its prelude (jsrt/prelude/01_polyfill.js):
// the standard built-ins up to ES2025 (and a few of ES2026) that goja lacks.
// Each core-js module defines its method only when the engine lacks it or
// fails core-js's conformance check; only additive modules are listed: none
// that may replace a constructor goja and cairn's natives rely on (Promise,
// Symbol, Map, Set, RegExp, typed arrays, JSON).
//
// Regenerate with: go generate ./jsrt
import "core-js/modules/es.promise.with-resolvers.js"; // ES2024
import "core-js/modules/es.promise.try.js"; // ES2025
import "core-js/modules/es.array.from-async.js"; // ES2024
import "core-js/modules/es.object.group-by.js"; // ES2024
import "core-js/modules/es.map.group-by.js"; // ES2024
import "core-js/modules/es.string.is-well-formed.js"; // ES2024
import "core-js/modules/es.string.to-well-formed.js"; // ES2024
import "core-js/modules/es.array-buffer.detached.js"; // ES2024
import "core-js/modules/es.array-buffer.transfer.js"; // ES2024
import "core-js/modules/es.array-buffer.transfer-to-fixed-length.js"; // ES2024
// Iterator helpers, ES2025
import "core-js/modules/es.iterator.constructor.js";
import "core-js/modules/es.iterator.from.js";
import "core-js/modules/es.iterator.drop.js";
import "core-js/modules/es.iterator.every.js";
import "core-js/modules/es.iterator.filter.js";
import "core-js/modules/es.iterator.find.js";
import "core-js/modules/es.iterator.flat-map.js";
import "core-js/modules/es.iterator.for-each.js";
import "core-js/modules/es.iterator.map.js";
import "core-js/modules/es.iterator.reduce.js";
import "core-js/modules/es.iterator.some.js";
import "core-js/modules/es.iterator.take.js";
import "core-js/modules/es.iterator.to-array.js";
import "core-js/modules/es.iterator.concat.js"; // ES2026
import "core-js/modules/es.iterator.zip.js"; // ES2026 (joint iteration)
import "core-js/modules/es.iterator.zip-keyed.js";
import "core-js/modules/es.iterator.chunks.js"; // ES2026
import "core-js/modules/es.iterator.windows.js";
import "core-js/modules/es.iterator.includes.js";
// Set methods, ES2025 (goja has some; the rest are added)
import "core-js/modules/es.set.difference.v2.js";
import "core-js/modules/es.set.intersection.v2.js";
import "core-js/modules/es.set.is-disjoint-from.v2.js";
import "core-js/modules/es.set.is-subset-of.v2.js";
import "core-js/modules/es.set.is-superset-of.v2.js";
import "core-js/modules/es.set.symmetric-difference.v2.js";
import "core-js/modules/es.set.union.v2.js";
import "core-js/modules/es.regexp.escape.js"; // ES2025
import "core-js/modules/es.math.f16round.js"; // ES2025
import "core-js/modules/es.data-view.get-float16.js"; // ES2025
import "core-js/modules/es.data-view.set-float16.js"; // ES2025
// Explicit resource management (ES2026; esbuild lowers `using` to these)
import "core-js/modules/es.symbol.dispose.js";
import "core-js/modules/es.symbol.async-dispose.js";
import "core-js/modules/es.suppressed-error.constructor.js";
import "core-js/modules/es.disposable-stack.constructor.js";
import "core-js/modules/es.async-disposable-stack.constructor.js";
import "core-js/modules/es.iterator.dispose.js";
import "core-js/modules/es.error.is-error.js"; // ES2026
import "core-js/modules/es.math.sum-precise.js"; // ES2026
import "core-js/modules/es.map.get-or-insert.js"; // ES2026
import "core-js/modules/es.map.get-or-insert-computed.js";
import "core-js/modules/es.weak-map.get-or-insert.js";
import "core-js/modules/es.weak-map.get-or-insert-computed.js";
// Typed array and array copies, ES2023 (goja has most; checked, not replaced)
import "core-js/modules/es.array.to-reversed.js";
import "core-js/modules/es.array.to-sorted.js";
import "core-js/modules/es.array.to-spliced.js";
import "core-js/modules/es.array.with.js";
