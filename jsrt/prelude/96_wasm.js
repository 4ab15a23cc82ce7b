// The WebAssembly JS API (Module, Instance, Memory, Global, instantiate,
// compile, validate and the three error classes) over the natives of
// jsrt/wasm.go, which compile and run modules on wazero. A module's bytes
// compile once per Worker (cached by hash) and instantiate in any runtime.
(function () {
  "use strict";
  const native = globalThis.__cairn.wasm;
  // Runtimes built without the engine (natives_test.go) have no WebAssembly.
  if (native === undefined) return;
  const internal = Symbol("wasm");

  function errorClass(name) {
    const C = class extends Error {
      constructor(message) {
        super(message);
        this.name = name;
      }
    };
    Object.defineProperty(C, "name", { value: name });
    return C;
  }
  const CompileError = errorClass("CompileError");
  const LinkError = errorClass("LinkError");
  const RuntimeError = errorClass("RuntimeError");

  let moduleRef, memoryRef, globalRef, tableRef;
  class Module {
    #ref;
    constructor(bytes) {
      this.#ref = native.compile(bytes);
    }
    static exports(module) {
      return native.descriptors(moduleRef(module), false);
    }
    static imports(module) {
      return native.descriptors(moduleRef(module), true);
    }
    static customSections() {
      return [];
    }
    static {
      moduleRef = (module) => {
        if (!(module instanceof Module)) throw new TypeError("WebAssembly.Module expected");
        return module.#ref;
      };
    }
    get [Symbol.toStringTag]() {
      return "WebAssembly.Module";
    }
  }

  class Instance {
    #exports;
    constructor(module, importObject) {
      const ref = moduleRef(module);
      const imports = native.descriptors(ref, true);
      if (imports.length > 0 && (importObject === undefined || importObject === null || typeof importObject !== "object")) {
        throw new TypeError("WebAssembly.Instance(): Imports argument must be present and must be an object");
      }
      const originals = imports.map((d, i) => {
        const ns = importObject[d.module];
        if (ns === undefined || ns === null || (typeof ns !== "object" && typeof ns !== "function")) {
          throw new TypeError(`WebAssembly.Instance(): Import #${i} "${d.module}": module is not an object or function`);
        }
        return ns[d.name];
      });
      // Memories, tables and globals go to Go as their handles.
      const values = originals.map((v, i) => {
        if (v instanceof Memory) return memoryRef(v);
        if (v instanceof Table) return tableRef(v);
        if (v instanceof Global) return globalRef(v);
        return v;
      });
      this.#exports = Object.freeze(native.instantiate(ref, values, originals));
    }
    get exports() {
      return this.#exports;
    }
    get [Symbol.toStringTag]() {
      return "WebAssembly.Instance";
    }
  }

  class Memory {
    #ref;
    constructor(descriptor, token) {
      if (token === internal) {
        this.#ref = descriptor;
        return;
      }
      if (descriptor === null || typeof descriptor !== "object") {
        throw new TypeError("WebAssembly.Memory(): Argument 0 must be a memory descriptor");
      }
      const initial = Number(descriptor.initial ?? descriptor.minimum);
      if (!Number.isFinite(initial)) throw new TypeError("WebAssembly.Memory(): Property 'initial' is required");
      const maximum = descriptor.maximum === undefined ? undefined : Number(descriptor.maximum);
      this.#ref = native.newMemory(initial, maximum);
    }
    get buffer() {
      return native.memoryBuffer(this.#ref);
    }
    grow(delta) {
      return native.memoryGrow(this.#ref, Number(delta));
    }
    static {
      memoryRef = (m) => m.#ref;
    }
    get [Symbol.toStringTag]() {
      return "WebAssembly.Memory";
    }
  }

  class Global {
    #ref;
    constructor(descriptor, value) {
      if (descriptor === internal) {
        this.#ref = value;
        return;
      }
      if (descriptor === null || typeof descriptor !== "object") {
        throw new TypeError("WebAssembly.Global(): Argument 0 must be a global descriptor");
      }
      this.#ref = native.newGlobal(String(descriptor.value), Boolean(descriptor.mutable), value);
    }
    static {
      globalRef = (g) => g.#ref;
    }
    get value() {
      return native.globalGet(this.#ref);
    }
    set value(v) {
      native.globalSet(this.#ref, v);
    }
    valueOf() {
      return native.globalGet(this.#ref);
    }
    type() {
      return native.globalType(this.#ref);
    }
    get [Symbol.toStringTag]() {
      return "WebAssembly.Global";
    }
  }

  class Table {
    #ref;
    constructor(descriptor, ref) {
      if (descriptor === internal) {
        this.#ref = ref;
        return;
      }
      if (descriptor === null || typeof descriptor !== "object") {
        throw new TypeError("WebAssembly.Table(): Argument 0 must be a table descriptor");
      }
      const initial = Number(descriptor.initial ?? descriptor.minimum);
      if (!Number.isFinite(initial)) throw new TypeError("WebAssembly.Table(): Property 'initial' is required");
      const maximum = descriptor.maximum === undefined ? undefined : Number(descriptor.maximum);
      this.#ref = native.newTable(String(descriptor.element), initial, maximum, ref);
    }
    static {
      tableRef = (t) => t.#ref;
    }
    get length() {
      return native.tableLength(this.#ref);
    }
    grow(delta, value) {
      return native.tableGrow(this.#ref, Number(delta), value === undefined ? null : value);
    }
    get(index) {
      return native.tableGet(this.#ref, index);
    }
    set(index, value) {
      native.tableSet(this.#ref, index, arguments.length < 2 ? null : value);
    }
    get [Symbol.toStringTag]() {
      return "WebAssembly.Table";
    }
  }

  native.init({
    CompileError,
    LinkError,
    RuntimeError,
    wrapMemory: (ref) => new Memory(ref, internal),
    wrapGlobal: (ref) => new Global(internal, ref),
    wrapTable: (ref) => new Table(internal, ref),
  });

  async function compile(bytes) {
    return new Module(bytes);
  }

  async function instantiate(source, importObject) {
    if (source instanceof Module) return new Instance(source, importObject);
    const module = new Module(source);
    return { module, instance: new Instance(module, importObject) };
  }

  function validate(bytes) {
    try {
      native.compile(bytes);
      return true;
    } catch (e) {
      if (e instanceof CompileError) return false;
      throw e;
    }
  }

  async function fromResponse(source) {
    const response = await source;
    if (!(response instanceof Response)) throw new TypeError("WebAssembly: a Response is expected");
    return new Uint8Array(await response.arrayBuffer());
  }

  const WebAssembly = {
    Module,
    Instance,
    Memory,
    Global,
    Table,
    CompileError,
    LinkError,
    RuntimeError,
    compile,
    instantiate,
    validate,
    compileStreaming: async (source) => compile(await fromResponse(source)),
    instantiateStreaming: async (source, importObject) => instantiate(await fromResponse(source), importObject),
  };
  Object.defineProperty(WebAssembly, Symbol.toStringTag, { value: "WebAssembly" });
  Object.defineProperty(globalThis, "WebAssembly", { value: WebAssembly, writable: true, configurable: true, enumerable: false });
})();
