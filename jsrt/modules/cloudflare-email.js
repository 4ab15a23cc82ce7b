// The "cloudflare:email" module: EmailMessage, the message a send_email
// binding sends. cairn has no send_email binding yet; the class lets code
// that builds messages load and run.
"use strict";

class EmailMessage {
  #from;
  #to;
  #raw;
  constructor(from, to, raw) {
    if (arguments.length < 3) throw new TypeError("Failed to construct 'EmailMessage': 3 arguments required.");
    this.#from = String(from);
    this.#to = String(to);
    this.#raw = raw;
  }
  get from() { return this.#from; }
  get to() { return this.#to; }
  get raw() { return this.#raw; }
}

Object.defineProperty(exports, "__esModule", { value: true });
exports.EmailMessage = EmailMessage;
