// Runs core-js (prelude/01_polyfill.js: __cairn.loadBuiltins) the first
// time Worker code touches a built-in it provides, rather than in every
// runtime at start: loading it costs ~25 ms per runtime, which every Worker
// would pay for each of its runtimes and after each CPU-limit reset.
//
// __cairn.builtinKeys (set by Go, prelude.go: builtinKeys) lists, as
// [target, key] pairs, the properties core-js defines or replaces on this
// engine; target is a global's name, "name.prototype", "globalThis" or
// "%IteratorPrototype%". Each becomes an accessor that removes all of them,
// loads core-js and answers with the real property. Without the list,
// core-js loads at once.
(function () {
  "use strict";
  const cairn = globalThis.__cairn;
  const load = cairn.loadBuiltins;
  const keys = cairn.builtinKeys;
  delete cairn.loadBuiltins;
  delete cairn.builtinKeys;
  if (!keys) {
    load();
    return;
  }
  const iteratorPrototype = Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]()));
  const resolve = (path) => {
    if (path === "globalThis") return globalThis;
    if (path === "%IteratorPrototype%") return iteratorPrototype;
    const [name, proto] = path.split(".");
    return proto ? globalThis[name].prototype : globalThis[name];
  };
  const stubs = [];
  let loaded = false;
  function loadAll() {
    if (loaded) return;
    loaded = true;
    for (const [target, key, native] of stubs) {
      if (native) Object.defineProperty(target, key, native);
      else delete target[key];
    }
    load();
  }
  for (const [path, key] of keys) {
    const target = resolve(path);
    if (target === undefined || target === null) continue;
    stubs.push([target, key, Object.getOwnPropertyDescriptor(target, key)]);
    Object.defineProperty(target, key, {
      configurable: true,
      enumerable: false,
      get() {
        loadAll();
        return Reflect.get(target, key, this);
      },
      set(v) {
        loadAll();
        Reflect.set(target, key, v, this);
      },
    });
  }
})();
