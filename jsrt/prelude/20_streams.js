// WHATWG streams: ReadableStream, WritableStream, TransformStream, queuing
// strategies, TextEncoderStream/TextDecoderStream,
// CompressionStream/DecompressionStream (Go's compress packages, through
// __cairn.compressor), plus Workers' IdentityTransformStream,
// FixedLengthStream and crypto.DigestStream.
//
// Simplified relative to the spec:
//   - Byte streams (`type: "bytes"`) have a ReadableByteStreamController
//     with byobRequest and BYOB readers whose views' buffers are transferred
//     (the caller's is detached, as are enqueued chunks'), but no
//     autoAllocateChunkSize: a default reader gets the chunks as enqueued.
//   - tee() gives the second branch a copy of byte chunks (ArrayBuffer and
//     views), the same object otherwise.
//   - pipeTo() writes one chunk at a time, awaiting each write.
//   - TransformStream backpressure: transform() waits while the readable side
//     has no room, released on the readable's next pull.
//   - Internals are closures, not spec abstract operations; error texts are
//     approximations of workerd's.
(function () {
  "use strict";
  const cairn = globalThis.__cairn;

  function define(name, value) {
    Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
  }

  const internal = Symbol("cairn.streams");
  const noop = () => {};

  function deferred() {
    let resolve, reject;
    const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
    return { promise, resolve, reject };
  }

  function handled(p) {
    p.catch(noop);
    return p;
  }

  function strategyOf(strategy, defaultHWM) {
    strategy = strategy || {};
    let hwm = strategy.highWaterMark === undefined ? defaultHWM : Number(strategy.highWaterMark);
    if (Number.isNaN(hwm) || hwm < 0) throw new RangeError("Invalid highWaterMark");
    const size = strategy.size;
    if (size !== undefined && typeof size !== "function") throw new TypeError("size must be a function");
    return { hwm, size: size ? (c) => size(c) : () => 1 };
  }

  function method(obj, name) {
    const fn = obj[name];
    if (fn === undefined || fn === null) return null;
    if (typeof fn !== "function") throw new TypeError(`${name} must be a function`);
    return fn;
  }

  // ---------------- ReadableStream ----------------

  function cloneChunk(v) {
    if (v instanceof ArrayBuffer) return v.slice(0);
    if (ArrayBuffer.isView(v)) return new v.constructor(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
    return v;
  }

  // transfer moves an ArrayBuffer's bytes to a new one and detaches it, as
  // the streams spec's TransferArrayBuffer (no copy: a Go native).
  function transfer(buf) {
    if (isDetached(buf)) throw new TypeError("The ArrayBuffer is detached.");
    return cairn.transferBuffer(buf);
  }

  function isDetached(buf) {
    return cairn.bufferDetached(buf);
  }

  let readableState;

  class ReadableStreamDefaultController {
    #s;
    constructor(key, s) {
      if (key !== internal) throw new TypeError("Illegal constructor");
      this.#s = s;
    }
    get desiredSize() { return desiredSize(this.#s); }
    get byobRequest() { return null; }
    enqueue(chunk) {
      const s = this.#s;
      if (s.closeRequested || s.state !== "readable") throw new TypeError("Cannot enqueue a chunk into a closed or errored stream");
      enqueue(s, chunk);
    }
    close() {
      const s = this.#s;
      if (s.closeRequested || s.state !== "readable") throw new TypeError("Cannot close a closed or errored stream");
      s.closeRequested = true;
      if (s.queue.length === 0) finishClose(s);
    }
    error(e) { errorStream(this.#s, e); }
  }

  // ReadableByteStreamController is the controller of a byte stream: its
  // chunks are ArrayBufferViews (their buffers transferred), and a BYOB
  // read's buffer is offered to the source as byobRequest.view.
  class ReadableByteStreamController {
    #s;
    constructor(key, s) {
      if (key !== internal) throw new TypeError("Illegal constructor");
      this.#s = s;
    }
    get desiredSize() { return desiredSize(this.#s); }
    get byobRequest() {
      const s = this.#s;
      if (s.byobRequest === null && s.pullIntos.length > 0) {
        const d = s.pullIntos[0];
        s.byobRequest = new ReadableStreamBYOBRequest(internal, s, new Uint8Array(d.buffer, d.byteOffset + d.filled, d.byteLength - d.filled));
      }
      return s.byobRequest;
    }
    enqueue(chunk) {
      const s = this.#s;
      if (!ArrayBuffer.isView(chunk)) throw new TypeError("chunk must be an ArrayBufferView");
      if (chunk.byteLength === 0) throw new TypeError(isDetached(chunk.buffer) ? "chunk's buffer is detached" : "chunk must not be empty");
      if (chunk.buffer.byteLength === 0) throw new TypeError("chunk's buffer must not be empty");
      if (s.closeRequested || s.state !== "readable") throw new TypeError("Cannot enqueue a chunk into a closed or errored stream");
      const off0 = chunk.byteOffset, len0 = chunk.byteLength; // read before the transfer detaches chunk
      const bytes = new Uint8Array(transfer(chunk.buffer), off0, len0);
      invalidateBYOBRequest(s);
      if (s.pullIntos.length > 0) s.pullIntos[0].buffer = transfer(s.pullIntos[0].buffer);
      let off = 0;
      while (off < bytes.byteLength && s.pullIntos.length > 0) {
        const d = s.pullIntos[0];
        const n = Math.min(bytes.byteLength - off, d.byteLength - d.filled);
        new Uint8Array(d.buffer, d.byteOffset + d.filled, n).set(bytes.subarray(off, off + n));
        d.filled += n;
        off += n;
        if (d.filled < d.minBytes) break;
        s.pullIntos.shift();
        commitPullInto(s, d, false);
      }
      if (off < bytes.byteLength) enqueue(s, off === 0 ? bytes : bytes.subarray(off));
      else pullIfNeeded(s);
    }
    close() {
      const s = this.#s;
      if (s.closeRequested || s.state !== "readable") throw new TypeError("Cannot close a closed or errored stream");
      if (s.queueSize > 0) {
        s.closeRequested = true;
        return;
      }
      const d = s.pullIntos[0];
      if (d && d.filled % d.elem !== 0) {
        const e = new TypeError("Insufficient bytes to fill elements in the given buffer");
        errorStream(s, e);
        throw e;
      }
      s.closeRequested = true;
      finishClose(s);
    }
    error(e) { errorStream(this.#s, e); }
  }

  let invalidateBYOBRequest;

  // ReadableStreamBYOBRequest is a pending BYOB read offered to a byte
  // source: it writes into view and says how much with respond().
  class ReadableStreamBYOBRequest {
    #s;
    #view;
    constructor(key, s, view) {
      if (key !== internal) throw new TypeError("Illegal constructor");
      this.#s = s;
      this.#view = view;
    }
    get view() { return this.#view; }
    respond(bytesWritten) {
      const s = this.#s;
      if (!s || this.#view === null) throw new TypeError("This BYOB request has been invalidated");
      bytesWritten = Number(bytesWritten);
      if (!(bytesWritten >= 0) || bytesWritten === Infinity) throw new RangeError("bytesWritten must be a non-negative number");
      if (isDetached(this.#view.buffer)) throw new TypeError("The view's buffer has been detached");
      respondPullInto(s, bytesWritten, null);
    }
    respondWithNewView(view) {
      const s = this.#s;
      if (!s || this.#view === null) throw new TypeError("This BYOB request has been invalidated");
      if (!ArrayBuffer.isView(view)) throw new TypeError("view must be an ArrayBufferView");
      if (isDetached(view.buffer)) throw new TypeError("The view's buffer has been detached");
      respondPullInto(s, view.byteLength, view);
    }
    static {
      invalidateBYOBRequest = (s) => {
        if (s.byobRequest) {
          s.byobRequest.#s = null;
          s.byobRequest.#view = null;
        }
        s.byobRequest = null;
      };
    }
  }

  function respondPullInto(s, n, newView) {
    const d = s.pullIntos[0];
    if (s.state === "closed") {
      if (n !== 0) throw new TypeError("bytesWritten must be 0 when the stream is closed");
    } else if (s.state === "readable") {
      if (n === 0) throw new TypeError("bytesWritten must be greater than 0 when the stream is readable");
      if (d.filled + n > d.byteLength) throw new RangeError("bytesWritten out of range");
    }
    if (newView) {
      if (newView.byteOffset !== d.byteOffset + d.filled) throw new RangeError("The region specified by view does not match byobRequest");
      if (newView.buffer.byteLength !== d.bufferByteLength) throw new RangeError("The buffer of view has a different capacity than byobRequest");
      if (d.filled + newView.byteLength > d.byteLength) throw new RangeError("The region specified by view is larger than byobRequest");
      d.buffer = transfer(newView.buffer);
    } else {
      d.buffer = transfer(d.buffer);
    }
    invalidateBYOBRequest(s);
    if (s.state === "closed") {
      for (const p of s.pullIntos.splice(0)) commitPullInto(s, p, true);
      return;
    }
    d.filled += n;
    if (d.filled < d.minBytes) {
      pullIfNeeded(s);
      return;
    }
    s.pullIntos.shift();
    const rem = d.filled % d.elem;
    if (rem > 0) {
      const end = d.byteOffset + d.filled;
      enqueue(s, new Uint8Array(d.buffer.slice(end - rem, end)));
      d.filled -= rem;
    }
    commitPullInto(s, d, false);
    pullIfNeeded(s);
  }

  // commitPullInto resolves a BYOB read with a view of the bytes filled.
  function commitPullInto(s, d, done) {
    const len = (d.filled - (d.filled % d.elem)) / d.elem;
    const value = d.ctor === DataView ? new DataView(d.buffer, d.byteOffset, len) : new d.ctor(d.buffer, d.byteOffset, len);
    d.d.resolve({ value, done });
  }

  function desiredSize(s) {
    if (s.state === "errored") return null;
    if (s.state === "closed") return 0;
    return s.hwm - s.queueSize;
  }

  function enqueue(s, chunk) {
    if (s.reader && s.reader.requests.length > 0) {
      s.reader.requests.shift().resolve({ value: chunk, done: false });
    } else {
      let size;
      try {
        size = s.size(chunk);
        if (!(size >= 0) || size === Infinity) throw new RangeError("Invalid chunk size");
      } catch (e) {
        errorStream(s, e);
        throw e;
      }
      s.queue.push({ chunk, size });
      s.queueSize += size;
    }
    pullIfNeeded(s);
  }

  function finishClose(s) {
    if (s.state !== "readable") return;
    s.state = "closed";
    s.pull = null;
    s.cancel = null;
    const r = s.reader;
    if (r) {
      for (const req of r.requests.splice(0)) req.resolve({ value: undefined, done: true });
      r.closed.resolve();
    }
  }

  function errorStream(s, e) {
    if (s.state !== "readable") return;
    s.state = "errored";
    s.error = e;
    s.queue = [];
    s.queueSize = 0;
    s.pull = null;
    s.cancel = null;
    if (s.pullIntos !== null) {
      invalidateBYOBRequest(s);
      for (const d of s.pullIntos.splice(0)) d.d.reject(e);
    }
    const r = s.reader;
    if (r) {
      for (const req of r.requests.splice(0)) req.reject(e);
      handled(r.closed.promise);
      r.closed.reject(e);
    }
  }

  function pullIfNeeded(s) {
    if (!s.started || s.state !== "readable" || s.closeRequested || !s.pull) return;
    const wanted = (s.reader && s.reader.requests.length > 0) || (s.pullIntos !== null && s.pullIntos.length > 0) || desiredSize(s) > 0;
    if (!wanted) return;
    if (s.pulling) {
      s.pullAgain = true;
      return;
    }
    s.pulling = true;
    let p;
    try {
      p = Promise.resolve(s.pull(s.controller));
    } catch (e) {
      p = Promise.reject(e);
    }
    p.then(
      () => {
        s.pulling = false;
        if (s.pullAgain) {
          s.pullAgain = false;
          pullIfNeeded(s);
        }
      },
      (e) => errorStream(s, e),
    );
  }

  function cancelStream(s, reason) {
    s.disturbed = true;
    if (s.state === "closed") return Promise.resolve();
    if (s.state === "errored") return Promise.reject(s.error);
    const cancel = s.cancel;
    s.queue = [];
    s.queueSize = 0;
    finishClose(s);
    if (s.pullIntos !== null) {
      invalidateBYOBRequest(s);
      for (const d of s.pullIntos.splice(0)) d.d.resolve({ value: undefined, done: true });
    }
    let p;
    try {
      p = Promise.resolve(cancel ? cancel(reason) : undefined);
    } catch (e) {
      p = Promise.reject(e);
    }
    return p.then(noop);
  }

  function readStream(s) {
    s.disturbed = true;
    if (s.queue.length > 0) {
      const { chunk, size } = s.queue.shift();
      s.queueSize -= size;
      if (s.queue.length === 0) s.queueSize = 0;
      if (s.closeRequested && s.queue.length === 0) finishClose(s);
      else pullIfNeeded(s);
      return Promise.resolve({ value: chunk, done: false });
    }
    if (s.state === "closed") return Promise.resolve({ value: undefined, done: true });
    if (s.state === "errored") return Promise.reject(s.error);
    const d = deferred();
    s.reader.requests.push(d);
    pullIfNeeded(s);
    return d.promise;
  }

  class ReadableStreamDefaultReader {
    #r = null; // {stream state, requests, closed}
    constructor(stream) {
      if (!(stream instanceof ReadableStream)) throw new TypeError("ReadableStreamDefaultReader requires a ReadableStream");
      const s = readableState(stream);
      if (s.reader) throw new TypeError("This ReadableStream is currently locked to a reader.");
      const r = { s, requests: [], closed: deferred() };
      handled(r.closed.promise);
      if (s.state === "closed") r.closed.resolve();
      else if (s.state === "errored") r.closed.reject(s.error);
      s.reader = r;
      this.#r = r;
    }
    get closed() {
      if (!this.#r) return this.#released || Promise.reject(new TypeError("This reader has been released."));
      return this.#r.closed.promise;
    }
    #released = null;
    read() {
      if (!this.#r) return Promise.reject(new TypeError("This reader has been released."));
      return readStream(this.#r.s);
    }
    cancel(reason) {
      if (!this.#r) return Promise.reject(new TypeError("This reader has been released."));
      return cancelStream(this.#r.s, reason);
    }
    releaseLock() {
      const r = this.#r;
      if (!r) return;
      const err = new TypeError("This reader has been released.");
      for (const req of r.requests.splice(0)) req.reject(err);
      if (r.s.state === "readable") {
        this.#released = handled(Promise.reject(err));
      } else {
        this.#released = r.closed.promise;
      }
      r.s.reader = null;
      this.#r = null;
    }
  }

  // ReadableStreamBYOBReader reads a byte stream into the caller's buffer:
  // read(view) transfers view's buffer (the caller's is detached), fills it
  // from the queue or through the source's byobRequest (at least min
  // elements, or fewer at the end) and resolves to a view of the same type
  // over the bytes read.
  class ReadableStreamBYOBReader {
    #r = null; // {s, requests (always empty: BYOB reads are s.pullIntos), closed}
    #released = null;
    constructor(stream) {
      if (!(stream instanceof ReadableStream)) throw new TypeError("ReadableStreamBYOBReader requires a ReadableStream");
      const s = readableState(stream);
      if (!s.bytes) throw new TypeError("This ReadableStream does not support BYOB reads; it is not a byte stream (type: \"bytes\").");
      if (s.reader) throw new TypeError("This ReadableStream is currently locked to a reader.");
      const r = { s, requests: [], closed: deferred(), byob: true };
      handled(r.closed.promise);
      if (s.state === "closed") r.closed.resolve();
      else if (s.state === "errored") r.closed.reject(s.error);
      s.reader = r;
      this.#r = r;
    }
    get closed() {
      if (!this.#r) return this.#released || Promise.reject(new TypeError("This reader has been released."));
      return this.#r.closed.promise;
    }
    read(view, options) {
      try {
        if (!ArrayBuffer.isView(view)) throw new TypeError("read() requires an ArrayBufferView");
        if (view.byteLength === 0) throw new TypeError("read() requires a non-empty view");
        if (view.buffer.byteLength === 0) throw new TypeError("read() requires a view with a non-empty buffer");
        const elem = view.BYTES_PER_ELEMENT || 1;
        const length = view instanceof DataView ? view.byteLength : view.length;
        const min = options && options.min !== undefined ? Number(options.min) : 1;
        if (!(min >= 1) || min > length || !Number.isInteger(min)) throw min === 0 || !(min >= 1) ? new TypeError("options.min must be greater than 0") : new RangeError("options.min must be at most the view's length");
        if (!this.#r) throw new TypeError("This reader has been released.");
        return readInto(this.#r.s, view, elem, min);
      } catch (e) {
        return Promise.reject(e);
      }
    }
    cancel(reason) {
      if (!this.#r) return Promise.reject(new TypeError("This reader has been released."));
      return cancelStream(this.#r.s, reason);
    }
    releaseLock() {
      const r = this.#r;
      if (!r) return;
      const err = new TypeError("This reader has been released.");
      const s = r.s;
      for (const d of s.pullIntos.splice(0)) d.d.reject(err);
      invalidateBYOBRequest(s);
      if (s.state === "readable") {
        r.closed.reject(err);
        this.#released = handled(Promise.reject(err));
      } else {
        this.#released = handled(Promise.reject(err));
      }
      s.reader = null;
      this.#r = null;
    }
  }

  // readInto is a BYOB read of s into view (spec: ReadableByteStreamControllerPullInto).
  function readInto(s, view, elem, min) {
    s.disturbed = true;
    if (s.state === "errored") return Promise.reject(s.error);
    const ctor = view.constructor === DataView || view instanceof DataView ? DataView : view.constructor;
    const d = {
      buffer: null, bufferByteLength: view.buffer.byteLength,
      byteOffset: view.byteOffset, byteLength: view.byteLength,
      filled: 0, minBytes: min * elem, elem, ctor, d: deferred(),
    };
    d.buffer = transfer(view.buffer); // detaches the caller's buffer
    if (s.state === "closed") {
      commitPullInto(s, d, true);
      return d.d.promise;
    }
    if (s.pullIntos.length === 0 && s.queueSize > 0) {
      while (s.queue.length > 0 && d.filled < d.byteLength) {
        const head = s.queue[0];
        const c = head.chunk;
        const n = Math.min(c.byteLength, d.byteLength - d.filled);
        new Uint8Array(d.buffer, d.byteOffset + d.filled, n).set(c.byteLength === n ? c : c.subarray(0, n));
        d.filled += n;
        s.queueSize -= n;
        if (n === c.byteLength) s.queue.shift();
        else { head.chunk = c.subarray(n); head.size = head.chunk.byteLength; }
      }
      if (s.queue.length === 0) s.queueSize = 0;
      if (d.filled >= d.minBytes) {
        const rem = d.filled % elem;
        if (rem > 0) {
          const end = d.byteOffset + d.filled;
          const back = new Uint8Array(d.buffer.slice(end - rem, end));
          s.queue.unshift({ chunk: back, size: rem });
          s.queueSize += rem;
          d.filled -= rem;
        }
        commitPullInto(s, d, false);
        if (s.closeRequested && s.queue.length === 0) finishClose(s);
        else pullIfNeeded(s);
        return d.d.promise;
      }
      if (s.closeRequested) {
        const e = new TypeError("Insufficient bytes to fill elements in the given buffer");
        errorStream(s, e);
        return Promise.reject(e);
      }
    }
    s.pullIntos.push(d);
    pullIfNeeded(s);
    return d.d.promise;
  }

  function asyncIterator(stream, preventCancel) {
    const reader = stream.getReader();
    let done = false;
    return {
      next() {
        if (done) return Promise.resolve({ value: undefined, done: true });
        return reader.read().then(
          (res) => {
            if (res.done) {
              done = true;
              reader.releaseLock();
            }
            return res;
          },
          (e) => {
            done = true;
            reader.releaseLock();
            throw e;
          },
        );
      },
      return(value) {
        if (done) return Promise.resolve({ value, done: true });
        done = true;
        if (preventCancel) {
          reader.releaseLock();
          return Promise.resolve({ value, done: true });
        }
        const p = reader.cancel(value);
        reader.releaseLock();
        return p.then(() => ({ value, done: true }));
      },
      [Symbol.asyncIterator]() { return this; },
    };
  }

  class ReadableStream {
    #s;
    static {
      readableState = (rs) => rs.#s;
    }
    constructor(source, strategy) {
      source = source === undefined || source === null ? {} : source;
      const type = source.type === undefined ? undefined : String(source.type);
      if (type !== undefined && type !== "bytes") throw new TypeError(`Invalid ReadableStream type: ${type}`);
      if (type === "bytes" && strategy && strategy.size !== undefined) throw new RangeError("The strategy for a byte stream cannot have a size function");
      const st = strategyOf(strategy, type === "bytes" ? 0 : 1);
      const start = method(source, "start");
      const pull = method(source, "pull");
      const cancel = method(source, "cancel");
      const s = {
        state: "readable",
        queue: [],
        queueSize: 0,
        hwm: st.hwm,
        size: type === "bytes" ? (c) => c.byteLength : st.size,
        bytes: type === "bytes",
        pullIntos: type === "bytes" ? [] : null, // pending BYOB reads
        byobRequest: null,
        started: false,
        pulling: false,
        pullAgain: false,
        closeRequested: false,
        disturbed: false,
        reader: null,
        error: undefined,
        pull: pull ? (c) => pull.call(source, c) : null,
        cancel: cancel ? (r) => cancel.call(source, r) : null,
        controller: null,
      };
      this.#s = s;
      s.controller = s.bytes ? new ReadableByteStreamController(internal, s) : new ReadableStreamDefaultController(internal, s);
      const r = start ? start.call(source, s.controller) : undefined;
      Promise.resolve(r).then(
        () => {
          s.started = true;
          pullIfNeeded(s);
        },
        (e) => errorStream(s, e),
      );
    }
    get locked() { return this.#s.reader !== null; }
    cancel(reason) {
      if (this.#s.reader) return Promise.reject(new TypeError("Cannot cancel a locked ReadableStream."));
      return cancelStream(this.#s, reason);
    }
    getReader(options) {
      if (options && options.mode !== undefined) {
        if (String(options.mode) === "byob") return new ReadableStreamBYOBReader(this);
        throw new TypeError(`Invalid reader mode: ${options.mode}`);
      }
      return new ReadableStreamDefaultReader(this);
    }
    tee() {
      const reader = this.getReader();
      let reading = false;
      let readAgain = false;
      const canceled = [false, false];
      const reasons = [undefined, undefined];
      const cancelDone = deferred();
      const ctrls = [null, null];
      const pull = () => {
        if (reading) {
          readAgain = true;
          return Promise.resolve();
        }
        reading = true;
        reader.read().then(
          ({ value, done }) => {
            reading = false;
            if (done) {
              for (let i = 0; i < 2; i++) if (!canceled[i]) { try { ctrls[i].close(); } catch (e) {} }
              cancelDone.resolve();
              return;
            }
            // The second branch gets a copy of a byte chunk, so that a
            // consumer that reuses its buffer does not change the other's.
            for (let i = 0; i < 2; i++) if (!canceled[i]) { try { ctrls[i].enqueue(i === 0 ? value : cloneChunk(value)); } catch (e) {} }
            if (readAgain) {
              readAgain = false;
              pull();
            }
          },
          (e) => {
            reading = false;
            for (let i = 0; i < 2; i++) ctrls[i].error(e);
            cancelDone.resolve();
          },
        );
        return Promise.resolve();
      };
      const branch = (i) => new ReadableStream({
        start(c) { ctrls[i] = c; },
        pull,
        cancel(reason) {
          canceled[i] = true;
          reasons[i] = reason;
          if (canceled[1 - i]) {
            reader.cancel(reasons).then(cancelDone.resolve, cancelDone.reject);
          }
          return cancelDone.promise;
        },
      });
      readableState(this).reader.closed.promise.catch((e) => {
        for (let i = 0; i < 2; i++) ctrls[i].error(e);
        cancelDone.resolve();
      });
      return [branch(0), branch(1)];
    }
    async pipeTo(dest, options) {
      if (!(dest instanceof WritableStream)) throw new TypeError("pipeTo requires a WritableStream");
      options = options || {};
      const { preventClose, preventAbort, preventCancel, signal } = options;
      if (this.locked) throw new TypeError("Cannot pipe a locked ReadableStream.");
      if (dest.locked) throw new TypeError("Cannot pipe to a locked WritableStream.");
      const reader = this.getReader();
      const writer = dest.getWriter();
      // Each step races the signal with a promise of its own: racing one
      // long-lived promise would keep every step's result (every chunk)
      // reachable from it until the pipe ends.
      let aborted = false;
      let abortStep = null; // rejects the current step's abort promise
      let onAbort = null;
      if (signal) {
        onAbort = () => {
          aborted = true;
          if (abortStep) abortStep(signal.reason);
        };
        if (signal.aborted) aborted = true;
        else signal.addEventListener("abort", onAbort, { once: true });
      }
      const step = (p) => {
        if (!signal) return p;
        if (aborted) return Promise.reject(signal.reason);
        const a = new Promise((_, reject) => { abortStep = reject; });
        handled(a);
        return Promise.race([p, a]);
      };
      try {
        for (;;) {
          let res;
          try {
            res = await step(reader.read());
          } catch (e) {
            if (aborted) throw { abort: true, e: signal.reason };
            throw { source: true, e };
          }
          if (res.done) break;
          try {
            await step(writer.ready);
            await step(writer.write(res.value));
          } catch (e) {
            if (aborted) throw { abort: true, e: signal.reason };
            throw { dest: true, e };
          }
        }
        if (!preventClose) await writer.close();
      } catch (x) {
        if (!x || typeof x !== "object" || !("e" in x)) throw x;
        if (x.abort) {
          const jobs = [];
          if (!preventAbort) jobs.push(writer.abort(x.e).catch(noop));
          if (!preventCancel) jobs.push(reader.cancel(x.e).catch(noop));
          await Promise.all(jobs);
        } else if (x.source) {
          if (!preventAbort) await writer.abort(x.e).catch(noop);
        } else if (!preventCancel) {
          await reader.cancel(x.e).catch(noop);
        }
        throw x.e;
      } finally {
        if (signal && onAbort) signal.removeEventListener("abort", onAbort);
        reader.releaseLock();
        writer.releaseLock();
      }
    }
    pipeThrough(transform, options) {
      if (!transform || !(transform.writable instanceof WritableStream) || !(transform.readable instanceof ReadableStream)) {
        throw new TypeError("pipeThrough requires a {writable, readable} pair");
      }
      handled(this.pipeTo(transform.writable, options));
      return transform.readable;
    }
    values(options) {
      return asyncIterator(this, !!(options && options.preventCancel));
    }
    [Symbol.asyncIterator](options) {
      return this.values(options);
    }
    static from(iterable) {
      if (iterable instanceof ReadableStream) return iterable;
      let it;
      if (iterable != null && typeof iterable[Symbol.asyncIterator] === "function") it = iterable[Symbol.asyncIterator]();
      else if (iterable != null && typeof iterable[Symbol.iterator] === "function") it = iterable[Symbol.iterator]();
      else throw new TypeError("ReadableStream.from requires an iterable");
      return new ReadableStream({
        async pull(c) {
          const { value, done } = await it.next();
          if (done) c.close();
          else c.enqueue(await value);
        },
        async cancel(reason) {
          if (typeof it.return === "function") await it.return(reason);
        },
      }, { highWaterMark: 0 });
    }
    get [Symbol.toStringTag]() { return "ReadableStream"; }
  }

  cairn.streamDisturbed = (rs) => readableState(rs).disturbed;

  // ---------------- WritableStream ----------------

  let writableState;
  const CLOSE = {};

  class WritableStreamDefaultController {
    #w;
    constructor(key, w) {
      if (key !== internal) throw new TypeError("Illegal constructor");
      this.#w = w;
    }
    get signal() { return this.#w.abortController.signal; }
    error(e) {
      if (this.#w.state === "writable") errorWritable(this.#w, e);
    }
  }

  function writableDesiredSize(w) {
    if (w.state === "errored") return null;
    if (w.state === "closed") return 0;
    return w.hwm - w.queueSize;
  }

  function updateBackpressure(w) {
    const writer = w.writer;
    if (!writer) return;
    const bp = w.state === "writable" && !w.closeQueued && writableDesiredSize(w) <= 0;
    if (bp && !writer.readyPending) {
      writer.ready = deferred();
      handled(writer.ready.promise);
      writer.readyPending = true;
    } else if (!bp && writer.readyPending) {
      writer.readyPending = false;
      writer.ready.resolve();
    }
  }

  function errorWritable(w, e) {
    if (w.state === "errored" || w.state === "closed") return;
    w.state = "errored";
    w.error = e;
    for (const item of w.queue.splice(0)) item.reject(e);
    w.queueSize = 0;
    const writer = w.writer;
    if (writer) {
      if (writer.readyPending) {
        writer.readyPending = false;
        writer.ready.reject(e);
      } else {
        writer.ready = deferred();
        handled(writer.ready.promise);
        writer.ready.reject(e);
      }
      writer.closed.reject(e);
    }
  }

  function advanceWritable(w) {
    if (!w.started || w.inFlight || w.queue.length === 0 || w.state !== "writable") return;
    const item = w.queue[0];
    w.inFlight = true;
    let p;
    try {
      if (item.chunk === CLOSE) p = Promise.resolve(w.close ? w.close() : undefined);
      else p = Promise.resolve(w.write ? w.write(item.chunk, w.controller) : undefined);
    } catch (e) {
      p = Promise.reject(e);
    }
    p.then(
      () => {
        w.inFlight = false;
        if (w.state !== "writable") return;
        w.queue.shift();
        if (item.chunk === CLOSE) {
          w.state = "closed";
          item.resolve();
          if (w.writer) w.writer.closed.resolve();
          return;
        }
        w.queueSize -= item.size;
        item.resolve();
        updateBackpressure(w);
        advanceWritable(w);
      },
      (e) => {
        w.inFlight = false;
        errorWritable(w, e);
      },
    );
  }

  function writeWritable(w, chunk) {
    if (w.state === "errored") return Promise.reject(w.error);
    if (w.state !== "writable" || w.closeQueued) return Promise.reject(new TypeError("This WritableStream is closed."));
    let size;
    try {
      size = w.size(chunk);
    } catch (e) {
      errorWritable(w, e);
      return Promise.reject(e);
    }
    const d = deferred();
    w.queue.push({ chunk, size, resolve: d.resolve, reject: d.reject });
    w.queueSize += size;
    updateBackpressure(w);
    advanceWritable(w);
    return d.promise;
  }

  function closeWritable(w) {
    if (w.state === "errored") return Promise.reject(w.error);
    if (w.state !== "writable" || w.closeQueued) return Promise.reject(new TypeError("This WritableStream is closed or closing."));
    w.closeQueued = true;
    const d = deferred();
    w.queue.push({ chunk: CLOSE, size: 0, resolve: d.resolve, reject: d.reject });
    if (w.writer && w.writer.readyPending) {
      w.writer.readyPending = false;
      w.writer.ready.resolve();
    }
    advanceWritable(w);
    return d.promise;
  }

  function abortWritable(w, reason) {
    if (w.state === "closed" || w.state === "errored") return Promise.resolve();
    w.abortController.abort(reason);
    const abort = w.abort;
    errorWritable(w, reason);
    let p;
    try {
      p = Promise.resolve(abort ? abort(reason) : undefined);
    } catch (e) {
      p = Promise.reject(e);
    }
    return p.then(noop);
  }

  class WritableStreamDefaultWriter {
    #k = null; // {w, ready, readyPending, closed}
    constructor(stream) {
      if (!(stream instanceof WritableStream)) throw new TypeError("WritableStreamDefaultWriter requires a WritableStream");
      const w = writableState(stream);
      if (w.writer) throw new TypeError("This WritableStream is currently locked to a writer.");
      const k = { w, ready: deferred(), readyPending: false, closed: deferred() };
      handled(k.ready.promise);
      handled(k.closed.promise);
      k.ready.resolve();
      if (w.state === "closed") k.closed.resolve();
      else if (w.state === "errored") {
        k.closed.reject(w.error);
        k.ready = deferred();
        handled(k.ready.promise);
        k.ready.reject(w.error);
      }
      w.writer = k;
      this.#k = k;
      updateBackpressure(w);
    }
    #released() { return Promise.reject(new TypeError("This writer has been released.")); }
    get closed() { return this.#k ? this.#k.closed.promise : this.#released(); }
    get ready() { return this.#k ? this.#k.ready.promise : this.#released(); }
    get desiredSize() {
      if (!this.#k) throw new TypeError("This writer has been released.");
      return writableDesiredSize(this.#k.w);
    }
    write(chunk) { return this.#k ? writeWritable(this.#k.w, chunk) : this.#released(); }
    close() { return this.#k ? closeWritable(this.#k.w) : this.#released(); }
    abort(reason) { return this.#k ? abortWritable(this.#k.w, reason) : this.#released(); }
    releaseLock() {
      if (!this.#k) return;
      this.#k.w.writer = null;
      this.#k = null;
    }
  }

  class WritableStream {
    #w;
    static {
      writableState = (ws) => ws.#w;
    }
    constructor(sink, strategy) {
      sink = sink === undefined || sink === null ? {} : sink;
      if (sink.type !== undefined) throw new RangeError("Invalid WritableStream type");
      const st = strategyOf(strategy, 1);
      const start = method(sink, "start");
      const write = method(sink, "write");
      const close = method(sink, "close");
      const abort = method(sink, "abort");
      const w = {
        state: "writable",
        queue: [],
        queueSize: 0,
        hwm: st.hwm,
        size: st.size,
        started: false,
        inFlight: false,
        closeQueued: false,
        writer: null,
        error: undefined,
        write: write ? (c, ctl) => write.call(sink, c, ctl) : null,
        close: close ? () => close.call(sink) : null,
        abort: abort ? (r) => abort.call(sink, r) : null,
        abortController: new AbortController(),
        controller: null,
      };
      this.#w = w;
      w.controller = new WritableStreamDefaultController(internal, w);
      const r = start ? start.call(sink, w.controller) : undefined;
      Promise.resolve(r).then(
        () => {
          w.started = true;
          advanceWritable(w);
        },
        (e) => errorWritable(w, e),
      );
    }
    get locked() { return this.#w.writer !== null; }
    getWriter() { return new WritableStreamDefaultWriter(this); }
    abort(reason) {
      if (this.#w.writer) return Promise.reject(new TypeError("Cannot abort a locked WritableStream."));
      return abortWritable(this.#w, reason);
    }
    close() {
      if (this.#w.writer) return Promise.reject(new TypeError("Cannot close a locked WritableStream."));
      return closeWritable(this.#w);
    }
    get [Symbol.toStringTag]() { return "WritableStream"; }
  }

  // ---------------- TransformStream ----------------

  class TransformStreamDefaultController {
    #t;
    constructor(key, t) {
      if (key !== internal) throw new TypeError("Illegal constructor");
      this.#t = t;
    }
    get desiredSize() { return this.#t.rc.desiredSize; }
    enqueue(chunk) {
      const t = this.#t;
      t.rc.enqueue(chunk);
      if (!t.backpressure && t.rc.desiredSize <= 0) {
        t.backpressure = true;
        t.room = deferred();
      }
    }
    error(e) {
      const t = this.#t;
      try { t.rc.error(e); } catch (x) {}
      t.wc.error(e);
    }
    terminate() {
      const t = this.#t;
      try { t.rc.close(); } catch (x) {}
      t.wc.error(new TypeError("The transform stream has been terminated."));
    }
  }

  class TransformStream {
    #readable;
    #writable;
    constructor(transformer, writableStrategy, readableStrategy) {
      transformer = transformer === undefined || transformer === null ? {} : transformer;
      if (transformer.readableType !== undefined || transformer.writableType !== undefined) {
        throw new RangeError("Invalid transformer type");
      }
      const start = method(transformer, "start");
      const transform = method(transformer, "transform");
      const flush = method(transformer, "flush");
      const cancel = method(transformer, "cancel");
      // backpressure is set while the readable side has no room; its next
      // pull resolves room.
      const t = { rc: null, wc: null, backpressure: true, room: deferred() };
      const controller = new TransformStreamDefaultController(internal, t);
      const startDone = deferred();
      this.#readable = new ReadableStream({
        start(c) { t.rc = c; return startDone.promise; },
        pull() {
          t.backpressure = false;
          t.room.resolve();
        },
        cancel(reason) {
          t.wc.error(reason);
          return cancel ? cancel.call(transformer, reason) : undefined;
        },
      }, readableStrategy || { highWaterMark: 0 });
      this.#writable = new WritableStream({
        start(c) {
          t.wc = c;
          return startDone.promise;
        },
        async write(chunk) {
          if (t.backpressure) await t.room.promise;
          try {
            if (transform) await transform.call(transformer, chunk, controller);
            else controller.enqueue(chunk);
          } catch (e) {
            try { t.rc.error(e); } catch (x) {}
            throw e;
          }
        },
        async close() {
          try {
            if (flush) await flush.call(transformer, controller);
          } catch (e) {
            try { t.rc.error(e); } catch (x) {}
            throw e;
          }
          try { t.rc.close(); } catch (e) {}
        },
        async abort(reason) {
          try { t.rc.error(reason); } catch (e) {}
          if (cancel) await cancel.call(transformer, reason);
        },
      }, writableStrategy);
      let r;
      try {
        r = start ? start.call(transformer, controller) : undefined;
      } catch (e) {
        startDone.reject(e);
        return;
      }
      Promise.resolve(r).then(startDone.resolve, startDone.reject);
    }
    get readable() { return this.#readable; }
    get writable() { return this.#writable; }
    get [Symbol.toStringTag]() { return "TransformStream"; }
  }

  function toBytes(chunk) {
    if (chunk instanceof Uint8Array) return chunk;
    if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
    if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    throw new TypeError("This TransformStream is being used as a byte stream, but received a value that is not an ArrayBuffer or ArrayBufferView.");
  }

  // Workers: a TransformStream for bytes.
  class IdentityTransformStream extends TransformStream {
    constructor() {
      super({ transform(chunk, c) { c.enqueue(toBytes(chunk)); } });
    }
  }

  // fixedLengths maps the readable side of a FixedLengthStream to its
  // length: a body made of it is sent with that Content-Length.
  const fixedLengths = new WeakMap();
  cairn.streamLength = (rs) => fixedLengths.get(rs);

  // Workers: an IdentityTransformStream that checks the total length.
  class FixedLengthStream extends TransformStream {
    constructor(length) {
      const expected = Number(length);
      if (!(expected >= 0) || !Number.isSafeInteger(expected)) throw new TypeError("FixedLengthStream requires a non-negative integer length");
      let seen = 0;
      super({
        transform(chunk, c) {
          const b = toBytes(chunk);
          seen += b.byteLength;
          if (seen > expected) throw new TypeError("Attempt to write too many bytes through a FixedLengthStream.");
          c.enqueue(b);
        },
        flush() {
          if (seen < expected) throw new TypeError("FixedLengthStream did not see all expected bytes before close().");
        },
      });
      fixedLengths.set(this.readable, expected);
    }
  }

  // ---------------- strategies ----------------

  class ByteLengthQueuingStrategy {
    #hwm;
    constructor(init) { this.#hwm = Number(init && init.highWaterMark); }
    get highWaterMark() { return this.#hwm; }
    get size() { return (chunk) => chunk.byteLength; }
  }

  class CountQueuingStrategy {
    #hwm;
    constructor(init) { this.#hwm = Number(init && init.highWaterMark); }
    get highWaterMark() { return this.#hwm; }
    get size() { return () => 1; }
  }

  // ---------------- text streams ----------------

  class TextEncoderStream {
    #ts;
    constructor() {
      const enc = new TextEncoder();
      // A high surrogate ending a chunk waits for the next chunk, which may
      // start with its low half; left alone at the end it becomes U+FFFD.
      let pending = "";
      this.#ts = new TransformStream({
        transform(chunk, c) {
          let s = pending + String(chunk);
          pending = "";
          const last = s.charCodeAt(s.length - 1);
          if (last >= 0xd800 && last <= 0xdbff) {
            pending = s.slice(-1);
            s = s.slice(0, -1);
          }
          if (s !== "") c.enqueue(enc.encode(s));
        },
        flush(c) {
          if (pending !== "") c.enqueue(new Uint8Array([0xef, 0xbf, 0xbd]));
        },
      });
    }
    get encoding() { return "utf-8"; }
    get readable() { return this.#ts.readable; }
    get writable() { return this.#ts.writable; }
  }

  class TextDecoderStream {
    #ts;
    #dec;
    constructor(label, options) {
      const dec = new TextDecoder(label === undefined ? "utf-8" : label, options);
      this.#dec = dec;
      this.#ts = new TransformStream({
        transform(chunk, c) {
          const s = dec.decode(chunk, { stream: true });
          if (s !== "") c.enqueue(s);
        },
        flush(c) {
          const s = dec.decode();
          if (s !== "") c.enqueue(s);
        },
      });
    }
    get encoding() { return this.#dec.encoding; }
    get fatal() { return this.#dec.fatal; }
    get ignoreBOM() { return this.#dec.ignoreBOM; }
    get readable() { return this.#ts.readable; }
    get writable() { return this.#ts.writable; }
  }

  // ---------------- Go-backed byte transforms ----------------

  // nativeTransform is a TransformStream of bytes through a Go codec
  // (jsrt/webapi/streams.go): push(bytes) and finish() return the output
  // so far.
  function nativeTransform(codec) {
    const out = (c, buf) => { if (buf.byteLength > 0) c.enqueue(new Uint8Array(buf)); };
    return new TransformStream({
      transform(chunk, c) { out(c, codec.push(toBytes(chunk))); },
      flush(c) { out(c, codec.finish()); },
    });
  }

  function checkFormat(format) {
    format = String(format);
    if (format !== "gzip" && format !== "deflate" && format !== "deflate-raw") {
      throw new TypeError(`The compression format must be either 'deflate', 'deflate-raw' or 'gzip'.`);
    }
    return format;
  }

  class CompressionStream {
    #ts;
    constructor(format) {
      this.#ts = nativeTransform(cairn.compressor(checkFormat(format), false));
    }
    get readable() { return this.#ts.readable; }
    get writable() { return this.#ts.writable; }
    get [Symbol.toStringTag]() { return "CompressionStream"; }
  }

  class DecompressionStream {
    #ts;
    constructor(format) {
      this.#ts = nativeTransform(cairn.compressor(checkFormat(format), true));
    }
    get readable() { return this.#ts.readable; }
    get writable() { return this.#ts.writable; }
    get [Symbol.toStringTag]() { return "DecompressionStream"; }
  }

  // Workers: crypto.DigestStream, a WritableStream of bytes whose digest
  // promise resolves to the hash of all it was given.
  class DigestStream extends WritableStream {
    #digest;
    constructor(algorithm) {
      const name = typeof algorithm === "object" && algorithm !== null ? algorithm.name : algorithm;
      const h = cairn.digestStream(String(name));
      const d = deferred();
      handled(d.promise);
      super({
        write(chunk) { h.update(toBytes(chunk)); },
        close() { d.resolve(h.finish()); },
        abort(reason) { d.reject(reason); },
      });
      this.#digest = d.promise;
    }
    get digest() { return this.#digest; }
  }

  if (typeof cairn.compressor === "function") {
    define("CompressionStream", CompressionStream);
    define("DecompressionStream", DecompressionStream);
  }
  if (typeof cairn.digestStream === "function" && typeof crypto === "object") {
    Object.defineProperty(crypto, "DigestStream", { value: DigestStream, writable: true, configurable: true, enumerable: false });
  }

  define("ReadableStream", ReadableStream);
  define("ReadableStreamDefaultReader", ReadableStreamDefaultReader);
  define("ReadableStreamBYOBReader", ReadableStreamBYOBReader);
  define("ReadableStreamDefaultController", ReadableStreamDefaultController);
  define("ReadableByteStreamController", ReadableByteStreamController);
  define("ReadableStreamBYOBRequest", ReadableStreamBYOBRequest);
  define("WritableStream", WritableStream);
  define("WritableStreamDefaultWriter", WritableStreamDefaultWriter);
  define("WritableStreamDefaultController", WritableStreamDefaultController);
  define("TransformStream", TransformStream);
  define("TransformStreamDefaultController", TransformStreamDefaultController);
  define("IdentityTransformStream", IdentityTransformStream);
  define("FixedLengthStream", FixedLengthStream);
  define("ByteLengthQueuingStrategy", ByteLengthQueuingStrategy);
  define("CountQueuingStrategy", CountQueuingStrategy);
  define("TextEncoderStream", TextEncoderStream);
  define("TextDecoderStream", TextDecoderStream);
})();
