// node:url beyond goja_nodejs's module (extended here): the global URL and
// URLSearchParams, the legacy API (parse, format, resolve, Url) that older
// npm packages (simple-get, request-era clients) still call, and
// fileURLToPath/pathToFileURL.
"use strict";

// --- URL and URLSearchParams ---
//
// The module's URL and URLSearchParams are the global ones
// (prelude/07_url.js, the WHATWG URL Standard), not goja_nodejs's (built
// on net/url, which drops trailing slashes and resolves relative
// references wrongly); goja_nodejs still gives domainToASCII and
// domainToUnicode.
const SPECIAL = new Set(["http:", "https:", "ws:", "wss:", "ftp:"]);
const URL = globalThis.URL;
module.exports.URL = URL;
module.exports.URLSearchParams = globalThis.URLSearchParams;

// --- the legacy API ---

const SLASHED = new Set(["http:", "https:", "ftp:", "gopher:", "file:", "ws:", "wss:"]);

function Url() {
  this.protocol = null;
  this.slashes = null;
  this.auth = null;
  this.host = null;
  this.port = null;
  this.hostname = null;
  this.hash = null;
  this.search = null;
  this.query = null;
  this.pathname = null;
  this.path = null;
  this.href = null;
}

function parseQuery(search) {
  const out = Object.create(null);
  for (const [k, v] of new module.exports.URLSearchParams(search)) {
    if (k in out) out[k] = [].concat(out[k], v);
    else out[k] = v;
  }
  return out;
}

function parse(input, parseQueryString = false, slashesDenoteHost = false) {
  if (input instanceof Url) return input;
  if (typeof input !== "string") {
    const e = new TypeError(`The "url" argument must be of type string. Received ${input === null ? "null" : typeof input}`);
    e.code = "ERR_INVALID_ARG_TYPE";
    throw e;
  }
  const u = new Url();
  let rest = input.trim().replace(/\\/g, "/");
  const hash = rest.indexOf("#");
  if (hash !== -1) {
    u.hash = rest.slice(hash);
    rest = rest.slice(0, hash);
  }
  const q = rest.indexOf("?");
  if (q !== -1) {
    u.search = rest.slice(q);
    u.query = rest.slice(q + 1);
    rest = rest.slice(0, q);
  } else if (parseQueryString) {
    u.search = "";
    u.query = "";
  }
  if (parseQueryString) u.query = parseQuery(u.search || "");
  const proto = /^([a-z0-9.+-]+:)/i.exec(rest);
  if (proto) {
    u.protocol = proto[1].toLowerCase();
    rest = rest.slice(proto[1].length);
  }
  if (rest.startsWith("//") && u.protocol !== "javascript:" && (u.protocol || slashesDenoteHost)) {
    rest = rest.slice(2);
    u.slashes = true;
    let end = rest.indexOf("/");
    if (end === -1) end = rest.length;
    let host = rest.slice(0, end);
    rest = rest.slice(end);
    const at = host.lastIndexOf("@");
    if (at !== -1) {
      u.auth = decodeURIComponent(host.slice(0, at));
      host = host.slice(at + 1);
    }
    const port = /:(\d*)$/.exec(host);
    if (port) {
      if (port[1]) u.port = port[1];
      host = host.slice(0, host.length - port[0].length);
    }
    u.hostname = host.toLowerCase().replace(/^\[(.*)\]$/, "$1");
    u.host = (u.hostname.includes(":") ? `[${u.hostname}]` : u.hostname) + (u.port ? ":" + u.port : "");
  }
  u.pathname = rest || (u.slashes && SLASHED.has(u.protocol) ? "/" : null);
  u.path = (u.pathname || "") + (u.search || "") || null;
  u.href = format(u);
  return u;
}

function format(obj, options) {
  if (typeof obj === "string") obj = parse(obj);
  if (obj instanceof URL) {
    const o = { auth: true, fragment: true, search: true, ...options };
    const auth = o.auth && (obj.username || obj.password) ? obj.username + (obj.password ? ":" + obj.password : "") + "@" : "";
    const slashes = SPECIAL.has(obj.protocol) || obj.protocol === "file:" || obj.host ? "//" : "";
    return obj.protocol + slashes + auth + obj.host + obj.pathname + (o.search ? obj.search : "") + (o.fragment ? obj.hash : "");
  }
  if (obj === null || typeof obj !== "object") {
    const e = new TypeError(`The "urlObject" argument must be one of type object or string. Received ${obj === null ? "null" : typeof obj}`);
    e.code = "ERR_INVALID_ARG_TYPE";
    throw e;
  }
  let protocol = obj.protocol || "";
  if (protocol && !protocol.endsWith(":")) protocol += ":";
  let auth = obj.auth ? encodeURIComponent(obj.auth).replace(/%3A/i, ":") + "@" : "";
  let host = "";
  if (obj.host) host = auth + obj.host;
  else if (obj.hostname) {
    host = auth + (obj.hostname.includes(":") ? `[${obj.hostname}]` : obj.hostname) + (obj.port ? ":" + obj.port : "");
  }
  let pathname = obj.pathname || "";
  let search = obj.search || "";
  if (!search && obj.query && typeof obj.query === "object") {
    const qs = new module.exports.URLSearchParams();
    for (const [k, v] of Object.entries(obj.query)) for (const x of [].concat(v)) qs.append(k, String(x));
    const s = qs.toString();
    if (s) search = "?" + s;
  }
  if (search && !search.startsWith("?")) search = "?" + search;
  let hash = obj.hash || "";
  if (hash && !hash.startsWith("#")) hash = "#" + hash;
  if (obj.slashes || ((!protocol || SLASHED.has(protocol)) && host)) {
    host = "//" + host;
    if (pathname && !pathname.startsWith("/")) pathname = "/" + pathname;
  }
  pathname = pathname.replace(/[?#]/g, encodeURIComponent);
  search = search.replace("#", "%23");
  return protocol + host + pathname + search + hash;
}

function resolve(from, to) {
  // A relative base resolves against a placeholder origin, which is then
  // dropped again.
  const placeholder = "http://resolve.invalid";
  const out = new URL(to, new URL(from, placeholder + "/"));
  if (out.href.startsWith(placeholder + "/") && !/^[a-z][a-z0-9+.-]*:/i.test(from) && !/^[a-z][a-z0-9+.-]*:/i.test(to)) {
    return out.pathname + out.search + out.hash;
  }
  return out.href;
}

Url.prototype.format = function () { return format(this); };
Url.prototype.resolve = function (to) { return resolve(this.href, to); };

function fileURLToPath(u) {
  if (typeof u === "string") u = new URL(u);
  if (!(u instanceof URL)) {
    const e = new TypeError(`The "path" argument must be of type string or an instance of URL. Received ${u === null ? "null" : typeof u}`);
    e.code = "ERR_INVALID_ARG_TYPE";
    throw e;
  }
  if (u.protocol !== "file:") {
    const e = new TypeError("The URL must be of scheme file");
    e.code = "ERR_INVALID_URL_SCHEME";
    throw e;
  }
  if (/%2f/i.test(u.pathname)) {
    const e = new TypeError("File URL path must not include encoded / characters");
    e.code = "ERR_INVALID_FILE_URL_PATH";
    throw e;
  }
  return decodeURIComponent(u.pathname);
}

function pathToFileURL(p) {
  let abs = String(p);
  if (!abs.startsWith("/")) abs = "/" + abs;
  return new URL("file://" + abs.split("/").map((seg) => encodeURIComponent(seg)).join("/"));
}

Object.assign(module.exports, { Url, parse, format, resolve, resolveObject: (from, to) => parse(resolve(from, to)), fileURLToPath, pathToFileURL,
  urlToHttpOptions(u) {
    const o = { protocol: u.protocol, hostname: u.hostname.replace(/^\[|\]$/g, ""), hash: u.hash, search: u.search,
      pathname: u.pathname, path: `${u.pathname || ""}${u.search || ""}`, href: u.href };
    if (u.port !== "") o.port = Number(u.port);
    if (u.username || u.password) o.auth = `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`;
    return o;
  } });
