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
};

module.exports = {
  format: internal.format,
  inspect: (v) => internal.inspect(v),
  promisify,
  inherits,
  deprecate,
  types,
  isDeepStrictEqual: (a, b) => internal.inspect(a) === internal.inspect(b),
  TextEncoder,
  TextDecoder,
};
