// The "cloudflare:workers" module: base classes for Durable Objects, Worker
// entrypoints, Workflows and RPC targets, the Worker's env, and waitUntil.
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

// WorkflowEntrypoint is the base class of a Workflow's code. cairn does not
// run Workflows yet (no workflows binding); the class exists so that a
// Worker that also defines a Workflow loads and serves its other handlers.
class WorkflowEntrypoint {
  constructor(ctx, env) {
    this.ctx = ctx;
    this.env = env;
  }
}

// waitUntil is ctx.waitUntil for code that has no ctx at hand. cairn's event
// loop runs a pending promise to its end anyway; a rejection is logged.
function waitUntil(promise) {
  Promise.resolve(promise).catch((e) => console.error("waitUntil promise rejected:", e));
}

const RpcTarget = internal.RpcTarget;

Object.defineProperty(exports, "__esModule", { value: true });
exports.DurableObject = DurableObject;
exports.WorkerEntrypoint = WorkerEntrypoint;
exports.WorkflowEntrypoint = WorkflowEntrypoint;
exports.RpcTarget = RpcTarget;
exports.waitUntil = waitUntil;
Object.defineProperty(exports, "env", { enumerable: true, get: () => internal.env });
