// Well-known symbols goja lacks. goja has no Symbol.asyncIterator (it parses
// neither `for await` nor async generators); bundled Worker code gets those
// lowered by esbuild, whose helpers look the symbol up as
// `Symbol.asyncIterator ?? Symbol.for("Symbol.asyncIterator")`. Defining it
// as that registered symbol, before any prelude class uses it as a method
// key, makes streams' async iteration, esbuild's lowered for-await and async
// generators, and TypeScript's helpers all agree on one key.
(function () {
  "use strict";
  if (typeof Symbol.asyncIterator !== "symbol") {
    Object.defineProperty(Symbol, "asyncIterator", {
      value: Symbol.for("Symbol.asyncIterator"),
      writable: false,
      enumerable: false,
      configurable: false,
    });
  }
})();
