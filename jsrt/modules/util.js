// node:util — the commonly used helpers.
"use strict";
const internal = require("cairn:internal");

function promisify(fn) {
  if (typeof fn !== "function") throw new TypeError('The "original" argument must be of type function.');
  return function (...args) {
    return new Promise((resolve, reject) => {
      fn.call(this, ...args, (err, value) => (err ? reject(err) : resolve(value)));
    });
  };
}

function inherits(ctor, superCtor) {
  Object.setPrototypeOf(ctor.prototype, superCtor.prototype);
  Object.setPrototypeOf(ctor, superCtor);
  ctor.super_ = superCtor;
}

function deprecate(fn, msg) {
  let warned = false;
  return function (...args) {
    if (!warned) {
      warned = true;
      console.warn("DeprecationWarning: " + msg);
    }
    return fn.apply(this, args);
  };
}

function callbackify(fn) {
  if (typeof fn !== "function") throw new TypeError('The "original" argument must be of type function.');
  return function (...args) {
    const cb = args.pop();
    fn.apply(this, args).then((v) => cb(null, v), (e) => cb(e || new Error(String(e))));
  };
}

const inspect = (v) => internal.inspect(v);
inspect.custom = Symbol.for("nodejs.util.inspect.custom");

const AsyncFunction = (async () => {}).constructor;
const GeneratorFunction = function* () {}.constructor;

const types = {
  isPromise: (v) => v instanceof Promise,
  isDate: (v) => v instanceof Date,
  isRegExp: (v) => v instanceof RegExp,
  isMap: (v) => v instanceof Map,
  isSet: (v) => v instanceof Set,
  isTypedArray: (v) => ArrayBuffer.isView(v) && !(v instanceof DataView),
  isUint8Array: (v) => v instanceof Uint8Array,
  isArrayBuffer: (v) => v instanceof ArrayBuffer,
  isAnyArrayBuffer: (v) => v instanceof ArrayBuffer,
  isNativeError: (v) => v instanceof Error,
  isAsyncFunction: (v) => v instanceof AsyncFunction,
  isGeneratorFunction: (v) => v instanceof GeneratorFunction,
  isDataView: (v) => v instanceof DataView,
  isBoxedPrimitive: (v) => v instanceof Number || v instanceof String || v instanceof Boolean,
};

module.exports = {
  format: internal.format,
  inspect,
  promisify,
  callbackify,
  inherits,
  deprecate,
  types,
  // Node's comparison (assert_extras.js), once node:assert is loadable;
  // without nodejs_compat, the inspected forms compared.
  isDeepStrictEqual(a, b) {
    if (!internal.deepEqual) {
      try {
        require("assert");
      } catch {
        return internal.inspect(a) === internal.inspect(b);
      }
    }
    return internal.deepEqual(a, b, true);
  },
  isArray: Array.isArray,
  TextEncoder,
  TextDecoder,
};
