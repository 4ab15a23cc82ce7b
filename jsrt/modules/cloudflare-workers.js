// The "cloudflare:workers" module: base classes for Durable Objects, Worker
// entrypoints and RPC targets, and the Worker's env.
"use strict";
const internal = require("cairn:internal");

class DurableObject {
  constructor(ctx, env) {
    this.ctx = ctx;
    this.env = env;
  }
}

class WorkerEntrypoint {
  constructor(ctx, env) {
    this.ctx = ctx;
    this.env = env;
  }
}

const RpcTarget = internal.RpcTarget;

Object.defineProperty(exports, "__esModule", { value: true });
exports.DurableObject = DurableObject;
exports.WorkerEntrypoint = WorkerEntrypoint;
exports.RpcTarget = RpcTarget;
Object.defineProperty(exports, "env", { enumerable: true, get: () => internal.env });
