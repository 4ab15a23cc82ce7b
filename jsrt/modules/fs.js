// node:fs over Cloudflare's virtual file system (with nodejs_compat from
// compatibility date 2025-09-01, or enable_nodejs_fs_module; see
// jsrt/nodecompat.go). The tree lives in memory, in this runtime:
//
//	/bundle   the Worker's modules, read-only
//	/tmp      writable; each request has its own, dropped when its response
//	          is done (as on Cloudflare, where every request gets an
//	          isolated temporary directory)
//	/dev      null, zero, full and random
//
// Sync, callback and promise forms; file descriptors; read and write
// streams; errors carry Node's code, errno, syscall and path.
"use strict";
const internal = require("cairn:internal");
const { Buffer } = require("buffer");

const constants = Object.freeze({
  F_OK: 0, R_OK: 4, W_OK: 2, X_OK: 1,
  O_RDONLY: 0, O_WRONLY: 1, O_RDWR: 2, O_CREAT: 64, O_EXCL: 128, O_NOCTTY: 256, O_TRUNC: 512,
  O_APPEND: 1024, O_DIRECTORY: 65536, O_NOFOLLOW: 131072, O_SYNC: 1052672, O_DSYNC: 4096,
  S_IFMT: 61440, S_IFREG: 32768, S_IFDIR: 16384, S_IFCHR: 8192, S_IFLNK: 40960,
  COPYFILE_EXCL: 1, COPYFILE_FICLONE: 2, COPYFILE_FICLONE_FORCE: 4,
  UV_FS_COPYFILE_EXCL: 1,
});
const { O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_TRUNC, O_APPEND } = constants;

// --- errors ---

const ERRORS = {
  ENOENT: [-2, "no such file or directory"], EEXIST: [-17, "file already exists"],
  EISDIR: [-21, "illegal operation on a directory"], ENOTDIR: [-20, "not a directory"],
  EROFS: [-30, "read-only file system"], ENOTEMPTY: [-39, "directory not empty"],
  EBADF: [-9, "bad file descriptor"], EINVAL: [-22, "invalid argument"],
  EPERM: [-1, "operation not permitted"], ENOSPC: [-28, "no space left on device"],
  ELOOP: [-40, "too many symbolic links encountered"], ENOSYS: [-38, "function not implemented"],
};

function fsError(code, syscall, path, dest) {
  const [errno, text] = ERRORS[code];
  let msg = `${code}: ${text}, ${syscall}`;
  if (path !== undefined) msg += ` '${path}'`;
  if (dest !== undefined) msg += ` -> '${dest}'`;
  const e = new Error(msg);
  e.errno = errno;
  e.code = code;
  e.syscall = syscall;
  if (path !== undefined) e.path = path;
  if (dest !== undefined) e.dest = dest;
  return e;
}

function argError(name, what, value) {
  const e = new TypeError(`The "${name}" argument must be ${what}. Received ${value === null ? "null" : typeof value}`);
  e.code = "ERR_INVALID_ARG_TYPE";
  return e;
}

// --- the tree ---

let inodes = 1;
const now = () => Date.now();

function node(type, mode, extra) {
  const t = now();
  return Object.assign({ type, mode, ino: inodes++, atime: t, mtime: t, ctime: t, birthtime: t, nlink: 1 }, extra);
}
const dir = (writable) => node("dir", writable ? 0o40777 : 0o40555, { entries: new Map(), writable });
const file = (data, writable) => node("file", writable ? 0o100666 : 0o100444, { data, size: data.length, writable });
const device = (kind) => node("dev", 0o20666, { kind, writable: true });

const root = dir(false);
let bundle = null; // built on first use
const devDir = dir(false);
for (const k of ["null", "zero", "full", "random"]) devDir.entries.set(k, device(k));
root.entries.set("dev", devDir);

function bundleDir() {
  if (!bundle) {
    bundle = dir(false);
    for (const [name, src] of Object.entries(internal.fsBundle())) {
      let d = bundle;
      const parts = name.split("/").filter(Boolean);
      for (const p of parts.slice(0, -1)) {
        if (!d.entries.has(p)) d.entries.set(p, dir(false));
        d = d.entries.get(p);
      }
      d.entries.set(parts[parts.length - 1], file(Buffer.from(src, "utf8"), false));
    }
  }
  return bundle;
}

// Each request's /tmp, by request id ("" outside any request).
const tmps = new Map();
function tmpDir() {
  const id = internal.fsRequest();
  let d = tmps.get(id);
  if (!d) {
    d = dir(true);
    tmps.set(id, d);
  }
  return d;
}
internal.fsDropRequest = (id) => {
  tmps.delete(id);
  for (const [fd, h] of fds) if (h.request === id) fds.delete(fd);
};

function child(d, name) {
  if (d === root) {
    if (name === "bundle") return bundleDir();
    if (name === "tmp") return tmpDir();
  }
  return d.entries.get(name);
}

// toPath turns a path argument (string, Buffer, file: URL) into a string.
function toPath(p, name = "path") {
  if (typeof p === "string") {
    if (p.includes("\0")) {
      const e = new TypeError(`The argument '${name}' must be a string, Uint8Array, or URL without null bytes. Received ${JSON.stringify(p)}`);
      e.code = "ERR_INVALID_ARG_VALUE";
      throw e;
    }
    return p;
  }
  if (p instanceof Uint8Array) return Buffer.from(p).toString("utf8");
  if (p && typeof p === "object" && typeof p.href === "string" && p.protocol !== undefined) {
    if (p.protocol !== "file:") {
      const e = new TypeError("The URL must be of scheme file");
      e.code = "ERR_INVALID_URL_SCHEME";
      throw e;
    }
    return decodeURIComponent(p.pathname);
  }
  throw argError(name, "of type string or an instance of Buffer or URL", p);
}

const cwd = () => {
  const proc = globalThis.process;
  const c = proc && typeof proc.cwd === "function" ? proc.cwd() : "/";
  return typeof c === "string" && c.startsWith("/") ? c : "/";
};

// split resolves p to its components from the root.
function split(p) {
  const abs = p.startsWith("/") ? p : cwd() + "/" + p;
  const out = [];
  for (const part of abs.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return out;
}

const MAX_LINKS = 32;

// lookup finds the node at path p (following symbolic links, the last one
// too unless noFollow), or throws ENOENT/ENOTDIR for syscall.
function lookup(p, syscall, noFollow = false, depth = 0) {
  const parts = split(p);
  let d = root;
  for (let i = 0; i < parts.length; i++) {
    if (d.type !== "dir") throw fsError("ENOTDIR", syscall, p);
    let n = child(d, parts[i]);
    if (!n) throw fsError("ENOENT", syscall, p);
    if (n.type === "link" && (i < parts.length - 1 || !noFollow)) {
      if (depth > MAX_LINKS) throw fsError("ELOOP", syscall, p);
      const base = "/" + parts.slice(0, i).join("/");
      n = lookup(n.target.startsWith("/") ? n.target : base + "/" + n.target, syscall, false, depth + 1);
    }
    d = n;
  }
  return d;
}

// parentOf finds the directory that holds p and p's last name.
function parentOf(p, syscall) {
  const parts = split(p);
  if (parts.length === 0) return { parent: null, name: "" };
  const name = parts.pop();
  const parent = lookup("/" + parts.join("/"), syscall);
  if (parent.type !== "dir") throw fsError("ENOTDIR", syscall, p);
  return { parent, name };
}

function touch(n) {
  n.mtime = n.ctime = now();
}

// --- Stats and Dirent ---

class Stats {
  constructor(n) {
    const kind = { file: constants.S_IFREG, dir: constants.S_IFDIR, dev: constants.S_IFCHR, link: constants.S_IFLNK }[n.type];
    this.dev = 0;
    this.mode = (n.mode & 0o7777) | kind;
    this.nlink = n.nlink;
    this.uid = 0;
    this.gid = 0;
    this.rdev = 0;
    this.blksize = 4096;
    this.ino = n.ino;
    this.size = n.type === "file" ? n.size : n.type === "link" ? n.target.length : 0;
    this.blocks = Math.ceil(this.size / 512);
    this.atimeMs = n.atime;
    this.mtimeMs = n.mtime;
    this.ctimeMs = n.ctime;
    this.birthtimeMs = n.birthtime;
    this.atime = new Date(n.atime);
    this.mtime = new Date(n.mtime);
    this.ctime = new Date(n.ctime);
    this.birthtime = new Date(n.birthtime);
  }
  isFile() { return (this.mode & constants.S_IFMT) === constants.S_IFREG; }
  isDirectory() { return (this.mode & constants.S_IFMT) === constants.S_IFDIR; }
  isCharacterDevice() { return (this.mode & constants.S_IFMT) === constants.S_IFCHR; }
  isSymbolicLink() { return (this.mode & constants.S_IFMT) === constants.S_IFLNK; }
  isBlockDevice() { return false; }
  isFIFO() { return false; }
  isSocket() { return false; }
}

class Dirent {
  constructor(name, n, parentPath) {
    this.name = name;
    this.parentPath = parentPath;
    this.path = parentPath;
    this._type = n.type;
  }
  isFile() { return this._type === "file"; }
  isDirectory() { return this._type === "dir"; }
  isCharacterDevice() { return this._type === "dev"; }
  isSymbolicLink() { return this._type === "link"; }
  isBlockDevice() { return false; }
  isFIFO() { return false; }
  isSocket() { return false; }
}

// --- data helpers ---

function grow(n, size) {
  if (size <= n.data.length) return;
  const b = Buffer.alloc(Math.max(size, n.data.length * 2));
  n.data.copy(b, 0, 0, n.size);
  n.data = b;
}

function writeAt(n, src, pos, syscall, p) {
  if (n.type === "dev") {
    if (n.kind === "full") throw fsError("ENOSPC", syscall, p);
    return src.length;
  }
  grow(n, pos + src.length);
  if (pos > n.size) n.data.fill(0, n.size, pos);
  Buffer.from(src.buffer, src.byteOffset, src.byteLength).copy(n.data, pos);
  n.size = Math.max(n.size, pos + src.length);
  touch(n);
  return src.length;
}

function readAt(n, dst, off, len, pos) {
  if (n.type === "dev") {
    if (n.kind === "null") return 0;
    const view = new Uint8Array(dst.buffer, dst.byteOffset + off, len);
    if (n.kind === "random") {
      for (let i = 0; i < len; i += 65536) crypto.getRandomValues(view.subarray(i, Math.min(len, i + 65536)));
    } else view.fill(0);
    return len;
  }
  const count = Math.max(0, Math.min(len, n.size - pos));
  if (count > 0) n.data.copy(Buffer.from(dst.buffer, dst.byteOffset, dst.byteLength), off, pos, pos + count);
  return count;
}

const contents = (n) => Buffer.from(n.data.subarray(0, n.size));

function encodingOf(options, fallback) {
  if (typeof options === "string") return options;
  if (options && typeof options === "object" && options.encoding) return options.encoding;
  return fallback;
}

function toBytes(data, encoding) {
  if (typeof data === "string") return Buffer.from(data, encoding || "utf8");
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  throw argError("data", "of type string or an instance of Buffer, TypedArray, or DataView", data);
}

// --- flags and descriptors ---

const FLAGS = {
  r: 0, rs: 0, sr: 0, "r+": O_RDWR, "rs+": O_RDWR, "sr+": O_RDWR,
  w: O_TRUNC | O_CREAT | O_WRONLY, wx: O_TRUNC | O_CREAT | O_WRONLY | O_EXCL, xw: O_TRUNC | O_CREAT | O_WRONLY | O_EXCL,
  "w+": O_TRUNC | O_CREAT | O_RDWR, "wx+": O_TRUNC | O_CREAT | O_RDWR | O_EXCL, "xw+": O_TRUNC | O_CREAT | O_RDWR | O_EXCL,
  a: O_APPEND | O_CREAT | O_WRONLY, ax: O_APPEND | O_CREAT | O_WRONLY | O_EXCL, xa: O_APPEND | O_CREAT | O_WRONLY | O_EXCL,
  as: O_APPEND | O_CREAT | O_WRONLY, sa: O_APPEND | O_CREAT | O_WRONLY,
  "a+": O_APPEND | O_CREAT | O_RDWR, "ax+": O_APPEND | O_CREAT | O_RDWR | O_EXCL, "xa+": O_APPEND | O_CREAT | O_RDWR | O_EXCL,
  "as+": O_APPEND | O_CREAT | O_RDWR, "sa+": O_APPEND | O_CREAT | O_RDWR,
};

function parseFlags(flags, fallback = "r") {
  if (flags === undefined || flags === null) flags = fallback;
  if (typeof flags === "number") return flags;
  const f = FLAGS[flags];
  if (f === undefined) {
    const e = new TypeError(`The value "${flags}" is invalid for option "flags"`);
    e.code = "ERR_INVALID_ARG_VALUE";
    throw e;
  }
  return f;
}

const fds = new Map();
let nextFd = 10;

function openNode(p, flags, syscall = "open") {
  const f = parseFlags(flags);
  const writes = (f & 3) !== 0;
  let n;
  try {
    n = lookup(p, syscall);
  } catch (e) {
    if (e.code !== "ENOENT" || !(f & O_CREAT)) throw e;
    const { parent, name } = parentOf(p, syscall);
    if (!parent.writable) throw fsError("EROFS", syscall, p);
    n = file(Buffer.alloc(0), true);
    parent.entries.set(name, n);
    touch(parent);
    return { n, f };
  }
  if ((f & O_CREAT) && (f & O_EXCL)) throw fsError("EEXIST", syscall, p);
  if (n.type === "dir" && writes) throw fsError("EISDIR", syscall, p);
  if (writes && !n.writable) throw fsError("EROFS", syscall, p);
  if ((f & O_TRUNC) && n.type === "file" && writes) {
    n.size = 0;
    touch(n);
  }
  return { n, f };
}

function handleOf(fd, syscall) {
  if (typeof fd !== "number") throw argError("fd", "of type number", fd);
  const h = fds.get(fd);
  if (!h) throw fsError("EBADF", syscall);
  return h;
}

// --- the sync API ---

const fs = {};

fs.constants = constants;
fs.F_OK = 0; fs.R_OK = 4; fs.W_OK = 2; fs.X_OK = 1;
fs.Stats = Stats;
fs.Dirent = Dirent;

fs.existsSync = (p) => {
  try {
    lookup(toPath(p), "access");
    return true;
  } catch {
    return false;
  }
};

fs.accessSync = (p, mode = 0) => {
  p = toPath(p);
  const n = lookup(p, "access");
  if ((mode & constants.W_OK) && !n.writable) throw fsError("EROFS", "access", p);
};

fs.statSync = (p, options) => {
  p = toPath(p);
  try {
    return new Stats(lookup(p, "stat"));
  } catch (e) {
    if (options && options.throwIfNoEntry === false && e.code === "ENOENT") return undefined;
    throw e;
  }
};

fs.lstatSync = (p, options) => {
  p = toPath(p);
  try {
    return new Stats(lookup(p, "lstat", true));
  } catch (e) {
    if (options && options.throwIfNoEntry === false && e.code === "ENOENT") return undefined;
    throw e;
  }
};

fs.fstatSync = (fd) => new Stats(handleOf(fd, "fstat").n);

fs.readFileSync = (p, options) => {
  const encoding = encodingOf(options, null);
  let n;
  if (typeof p === "number") n = handleOf(p, "read").n;
  else {
    p = toPath(p);
    n = openNode(p, (options && options.flag) || "r").n;
    if (n.type === "dir") throw fsError("EISDIR", "read", undefined);
  }
  const out = n.type === "file" ? contents(n) : Buffer.alloc(0);
  return encoding && encoding !== "buffer" ? out.toString(encoding) : out;
};

fs.writeFileSync = (p, data, options) => {
  const bytes = toBytes(data, encodingOf(options, "utf8"));
  if (typeof p === "number") {
    const h = handleOf(p, "write");
    h.pos += writeAt(h.n, bytes, h.f & O_APPEND ? h.n.size || 0 : h.pos, "write");
    return;
  }
  p = toPath(p);
  const { n } = openNode(p, (options && options.flag) || "w");
  if (n.type === "dir") throw fsError("EISDIR", "open", p);
  writeAt(n, bytes, (options && options.flag && parseFlags(options.flag) & O_APPEND) ? n.size : 0, "write", p);
};

fs.appendFileSync = (p, data, options) => {
  const flag = (options && typeof options === "object" && options.flag) || "a";
  fs.writeFileSync(p, data, typeof options === "object" ? { ...options, flag } : { encoding: options, flag });
};

fs.readdirSync = (p, options) => {
  p = toPath(p);
  const withTypes = options && options.withFileTypes;
  const encoding = encodingOf(options, "utf8");
  const out = [];
  // Breadth first, as Node lists a directory recursively.
  const queue = [[lookup(p, "scandir"), p, ""]];
  while (queue.length) {
    const [d, full, rel] = queue.shift();
    if (d.type !== "dir") throw fsError("ENOTDIR", "scandir", full);
    const names = d === root ? ["bundle", "dev", "tmp"] : [...d.entries.keys()].sort();
    for (const name of names) {
      const n = child(d, name);
      if (withTypes) out.push(new Dirent(name, n, full));
      else out.push(encoding === "buffer" ? Buffer.from(rel + name) : rel + name);
      if (options && options.recursive && n.type === "dir") queue.push([n, full.replace(/\/+$/, "") + "/" + name, rel + name + "/"]);
    }
  }
  return out;
};

fs.mkdirSync = (p, options) => {
  p = toPath(p);
  const recursive = options && typeof options === "object" && options.recursive;
  if (!recursive) {
    const { parent, name } = parentOf(p, "mkdir");
    if (!parent || child(parent, name)) throw fsError("EEXIST", "mkdir", p);
    if (!parent.writable) throw fsError("EROFS", "mkdir", p);
    parent.entries.set(name, dir(true));
    touch(parent);
    return undefined;
  }
  const parts = split(p);
  let d = root, first;
  for (let i = 0; i < parts.length; i++) {
    let n = child(d, parts[i]);
    if (n && n.type === "link") n = lookup("/" + parts.slice(0, i + 1).join("/"), "mkdir");
    if (!n) {
      if (!d.writable) throw fsError("EROFS", "mkdir", p);
      n = dir(true);
      d.entries.set(parts[i], n);
      touch(d);
      if (first === undefined) first = "/" + parts.slice(0, i + 1).join("/");
    } else if (n.type !== "dir") throw fsError(i === parts.length - 1 ? "EEXIST" : "ENOTDIR", "mkdir", p);
    d = n;
  }
  return first;
};

fs.mkdtempSync = (prefix) => {
  prefix = toPath(prefix, "prefix");
  for (;;) {
    const name = prefix + Math.random().toString(36).slice(2, 8).padEnd(6, "0");
    if (!fs.existsSync(name)) {
      fs.mkdirSync(name);
      return name;
    }
  }
};

function removeEntry(p, syscall, wantDir) {
  const { parent, name } = parentOf(p, syscall);
  const n = parent && child(parent, name);
  if (!n) throw fsError(parent ? "ENOENT" : "EPERM", syscall, p);
  if (wantDir === true && n.type !== "dir") throw fsError("ENOTDIR", syscall, p);
  if (wantDir === false && n.type === "dir") throw fsError("EISDIR", syscall, p);
  if (!parent.writable || (parent === root)) throw fsError(parent === root ? "EPERM" : "EROFS", syscall, p);
  parent.entries.delete(name);
  touch(parent);
  return n;
}

fs.unlinkSync = (p) => void removeEntry(toPath(p), "unlink", false);

fs.rmdirSync = (p, options) => {
  p = toPath(p);
  if (options && options.recursive) return fs.rmSync(p, { recursive: true, force: false });
  const n = lookup(p, "rmdir", true);
  if (n.type !== "dir") throw fsError("ENOTDIR", "rmdir", p);
  if (n.entries.size) throw fsError("ENOTEMPTY", "rmdir", p);
  removeEntry(p, "rmdir", true);
};

fs.rmSync = (p, options = {}) => {
  p = toPath(p);
  let n;
  try {
    n = lookup(p, "rm", true);
  } catch (e) {
    if (options.force && e.code === "ENOENT") return;
    throw e;
  }
  if (n.type === "dir" && !options.recursive) {
    const e = new Error(`Path is a directory: rm returned EISDIR (is a directory) ${p}`);
    e.code = "ERR_FS_EISDIR";
    e.errno = 21;
    e.syscall = "rm";
    e.path = p;
    throw e;
  }
  removeEntry(p, "rm");
};

fs.renameSync = (from, to) => {
  from = toPath(from, "oldPath");
  to = toPath(to, "newPath");
  const src = parentOf(from, "rename");
  const n = src.parent && child(src.parent, src.name);
  if (!n) throw fsError("ENOENT", "rename", from, to);
  const dst = parentOf(to, "rename");
  if (!src.parent.writable || !dst.parent || !dst.parent.writable) throw fsError("EROFS", "rename", from, to);
  const old = child(dst.parent, dst.name);
  if (old && old.type === "dir" && n.type !== "dir") throw fsError("EISDIR", "rename", from, to);
  if (old && old.type === "dir" && old.entries.size) throw fsError("ENOTEMPTY", "rename", from, to);
  src.parent.entries.delete(src.name);
  dst.parent.entries.set(dst.name, n);
  touch(src.parent);
  touch(dst.parent);
};

fs.copyFileSync = (from, to, mode = 0) => {
  from = toPath(from, "src");
  to = toPath(to, "dest");
  const n = lookup(from, "copyfile");
  if (n.type === "dir") throw fsError("EISDIR", "copyfile", from, to);
  const data = n.type === "file" ? contents(n) : Buffer.alloc(0);
  const { n: out } = openNode(to, mode & constants.COPYFILE_EXCL ? "wx" : "w", "copyfile");
  writeAt(out, data, 0, "copyfile", to);
};

fs.cpSync = (from, to, options = {}) => {
  from = toPath(from, "src");
  to = toPath(to, "dest");
  const n = lookup(from, "cp");
  if (n.type !== "dir") return fs.copyFileSync(from, to);
  if (!options.recursive) {
    const e = new Error(`Recursive option is required to copy a directory: ${from}`);
    e.code = "ERR_FS_EISDIR";
    throw e;
  }
  fs.mkdirSync(to, { recursive: true });
  for (const name of n.entries.keys()) fs.cpSync(from + "/" + name, to + "/" + name, options);
};

fs.truncateSync = (p, len = 0) => {
  if (typeof p === "number") return fs.ftruncateSync(p, len);
  p = toPath(p);
  const { n } = openNode(p, "r+", "open");
  truncate(n, len);
};

function truncate(n, len) {
  if (n.type !== "file") return;
  if (len > n.size) {
    grow(n, len);
    n.data.fill(0, n.size, len);
  }
  n.size = len;
  touch(n);
}

fs.ftruncateSync = (fd, len = 0) => {
  const h = handleOf(fd, "ftruncate");
  if (!(h.f & 3)) throw fsError("EBADF", "ftruncate");
  truncate(h.n, len);
};

fs.symlinkSync = (target, p) => {
  target = toPath(target, "target");
  p = toPath(p);
  const { parent, name } = parentOf(p, "symlink");
  if (!parent || child(parent, name)) throw fsError("EEXIST", "symlink", target, p);
  if (!parent.writable) throw fsError("EROFS", "symlink", target, p);
  parent.entries.set(name, node("link", 0o120777, { target, writable: true }));
};

fs.readlinkSync = (p) => {
  p = toPath(p);
  const n = lookup(p, "readlink", true);
  if (n.type !== "link") throw fsError("EINVAL", "readlink", p);
  return n.target;
};

fs.realpathSync = (p) => {
  p = toPath(p);
  const parts = split(p);
  let out = [];
  for (let i = 0; i < parts.length; i++) {
    const here = "/" + [...out, parts[i]].join("/");
    const n = lookup(here, "lstat", true);
    if (n.type === "link") out = split(fs.realpathSync(n.target.startsWith("/") ? n.target : "/" + out.join("/") + "/" + n.target));
    else out.push(parts[i]);
  }
  return "/" + out.join("/");
};
fs.realpathSync.native = fs.realpathSync;

fs.chmodSync = (p, mode) => {
  p = toPath(p);
  const n = lookup(p, "chmod");
  if (!n.writable) throw fsError("EROFS", "chmod", p);
  n.mode = (n.mode & ~0o7777) | (typeof mode === "string" ? parseInt(mode, 8) : mode);
  n.ctime = now();
};
fs.lchmodSync = fs.chmodSync;
fs.fchmodSync = (fd, mode) => {
  const h = handleOf(fd, "fchmod");
  h.n.mode = (h.n.mode & ~0o7777) | mode;
};
fs.chownSync = (p) => void lookup(toPath(p), "chown");
fs.lchownSync = (p) => void lookup(toPath(p), "lchown", true);
fs.fchownSync = (fd) => void handleOf(fd, "fchown");

const toMs = (t) => (t instanceof Date ? t.getTime() : typeof t === "string" ? Number(t) * 1000 : t * 1000);
fs.utimesSync = (p, atime, mtime) => {
  p = toPath(p);
  const n = lookup(p, "utime");
  if (!n.writable) throw fsError("EROFS", "utime", p);
  n.atime = toMs(atime);
  n.mtime = toMs(mtime);
};
fs.lutimesSync = fs.utimesSync;
fs.futimesSync = (fd, atime, mtime) => {
  const h = handleOf(fd, "futime");
  h.n.atime = toMs(atime);
  h.n.mtime = toMs(mtime);
};

fs.openSync = (p, flags, mode) => {
  p = toPath(p);
  const { n, f } = openNode(p, flags);
  const fd = nextFd++;
  fds.set(fd, { n, f, pos: 0, path: p, request: internal.fsRequest() });
  return fd;
};

fs.closeSync = (fd) => {
  handleOf(fd, "close");
  fds.delete(fd);
};

fs.fsyncSync = (fd) => void handleOf(fd, "fsync");
fs.fdatasyncSync = (fd) => void handleOf(fd, "fdatasync");

fs.readSync = (fd, buffer, offset, length, position) => {
  const h = handleOf(fd, "read");
  if ((h.f & 3) === O_WRONLY) throw fsError("EBADF", "read");
  if (h.n.type === "dir") throw fsError("EISDIR", "read");
  if (!ArrayBuffer.isView(buffer)) throw argError("buffer", "an instance of Buffer, TypedArray, or DataView", buffer);
  if (offset !== null && typeof offset === "object") ({ offset = 0, length = buffer.byteLength - offset, position = null } = offset);
  offset = offset || 0;
  if (length === undefined) length = buffer.byteLength - offset;
  if (offset < 0 || length < 0 || offset + length > buffer.byteLength) {
    const e = new RangeError(`The value of "length" is out of range. It must be >= 0 && <= ${buffer.byteLength - offset}. Received ${length}`);
    e.code = "ERR_OUT_OF_RANGE";
    throw e;
  }
  const pos = position === null || position === undefined || position < 0 ? h.pos : Number(position);
  const n = readAt(h.n, buffer, offset, length, pos);
  if (position === null || position === undefined || position < 0) h.pos += n;
  return n;
};

fs.writeSync = (fd, data, offset, length, position) => {
  const h = handleOf(fd, "write");
  if ((h.f & 3) === 0) throw fsError("EBADF", "write");
  let bytes;
  if (typeof data === "string") {
    // writeSync(fd, string, position, encoding)
    bytes = Buffer.from(data, typeof length === "string" ? length : "utf8");
    position = offset;
  } else {
    if (!ArrayBuffer.isView(data)) throw argError("buffer", "of type string or an instance of Buffer, TypedArray, or DataView", data);
    if (offset !== null && typeof offset === "object") ({ offset = 0, length, position = null } = offset);
    offset = offset || 0;
    if (length === undefined || length === null) length = data.byteLength - offset;
    bytes = Buffer.from(data.buffer, data.byteOffset + offset, length);
  }
  const explicit = typeof position === "number" && position >= 0;
  const pos = h.f & O_APPEND ? (h.n.size || 0) : explicit ? position : h.pos;
  const n = writeAt(h.n, bytes, pos, "write", h.path);
  if (!explicit) h.pos = pos + n;
  return n;
};

fs.readvSync = (fd, buffers, position) => {
  let total = 0;
  for (const b of buffers) {
    const n = fs.readSync(fd, b, 0, b.byteLength, typeof position === "number" ? position + total : null);
    total += n;
    if (n < b.byteLength) break;
  }
  return total;
};
fs.writevSync = (fd, buffers, position) => {
  let total = 0;
  for (const b of buffers) total += fs.writeSync(fd, b, 0, b.byteLength, typeof position === "number" ? position + total : null);
  return total;
};

fs.opendirSync = (p) => {
  p = toPath(p);
  const entries = fs.readdirSync(p, { withFileTypes: true });
  let i = 0;
  return {
    path: p,
    readSync: () => (i < entries.length ? entries[i++] : null),
    read(cb) {
      const v = this.readSync();
      if (cb) queueMicrotask(() => cb(null, v));
      else return Promise.resolve(v);
    },
    closeSync() {},
    close(cb) {
      if (cb) queueMicrotask(() => cb(null));
      else return Promise.resolve();
    },
    [Symbol.asyncIterator]() {
      return { next: () => Promise.resolve(i < entries.length ? { value: entries[i++], done: false } : { value: undefined, done: true }), [Symbol.asyncIterator]() { return this; } };
    },
    *[Symbol.iterator]() {
      while (i < entries.length) yield entries[i++];
    },
  };
};

const notImplemented = (name) => () => {
  const e = new Error(`[cairn] fs.${name} is not implemented on the Workers virtual file system`);
  e.code = "ERR_METHOD_NOT_IMPLEMENTED";
  throw e;
};
for (const name of ["watch", "watchFile", "unwatchFile", "globSync", "statfsSync", "linkSync"]) fs[name] = notImplemented(name);

// --- callback forms ---

const SYNC = ["access", "stat", "lstat", "fstat", "readFile", "writeFile", "appendFile", "readdir", "mkdir", "mkdtemp",
  "unlink", "rmdir", "rm", "rename", "copyFile", "cp", "truncate", "ftruncate", "symlink", "readlink", "realpath",
  "chmod", "lchmod", "fchmod", "chown", "lchown", "fchown", "utimes", "lutimes", "futimes", "open", "close", "fsync",
  "fdatasync", "opendir", "readv", "writev"];

for (const name of SYNC) {
  const sync = fs[name + "Sync"];
  fs[name] = function (...args) {
    const cb = args.pop();
    if (typeof cb !== "function") throw argError("cb", "of type function", cb);
    let result, error = null;
    try {
      result = sync(...args);
    } catch (e) {
      error = e;
    }
    queueMicrotask(() => (error ? cb(error) : cb(null, result)));
  };
}
fs.realpath.native = fs.realpath;
fs.exists = (p, cb) => {
  const ok = fs.existsSync(p);
  queueMicrotask(() => cb(ok));
};
fs.read = function (fd, buffer, offset, length, position, cb) {
  cb = [buffer, offset, length, position, cb].reverse().find((a) => typeof a === "function");
  if (!ArrayBuffer.isView(buffer)) {
    const opts = buffer && typeof buffer === "object" ? buffer : {};
    buffer = opts.buffer || Buffer.alloc(16384);
    ({ offset = 0, length = buffer.byteLength - offset, position = null } = opts);
  } else if (typeof offset === "function") [offset, length, position] = [0, buffer.byteLength, null];
  else if (typeof offset === "object" && offset !== null) ({ offset = 0, length = buffer.byteLength - offset, position = null } = offset);
  let n, error = null;
  try {
    n = fs.readSync(fd, buffer, offset, length, typeof position === "function" ? null : position);
  } catch (e) {
    error = e;
  }
  queueMicrotask(() => (error ? cb(error) : cb(null, n, buffer)));
};
fs.write = function (fd, data, ...rest) {
  const cb = rest.pop();
  let n, error = null;
  try {
    n = fs.writeSync(fd, data, ...rest);
  } catch (e) {
    error = e;
  }
  queueMicrotask(() => (error ? cb(error) : cb(null, n, data)));
};

// --- promises ---

class FileHandle {
  constructor(fd) { this.fd = fd; }
  async read(buffer, offset, length, position) {
    if (!ArrayBuffer.isView(buffer)) {
      const o = buffer || {};
      buffer = o.buffer || Buffer.alloc(16384);
      ({ offset = 0, length = buffer.byteLength - offset, position = null } = o);
    }
    const bytesRead = fs.readSync(this.fd, buffer, offset, length, position);
    return { bytesRead, buffer };
  }
  async write(data, ...rest) {
    const bytesWritten = fs.writeSync(this.fd, data, ...rest);
    return { bytesWritten, buffer: data };
  }
  async readFile(options) { return fs.readFileSync(this.fd, options); }
  async writeFile(data, options) { return fs.writeFileSync(this.fd, data, options); }
  async appendFile(data, options) { return fs.writeFileSync(this.fd, data, options); }
  async stat() { return fs.fstatSync(this.fd); }
  async truncate(len) { return fs.ftruncateSync(this.fd, len); }
  async sync() {}
  async datasync() {}
  async chmod(mode) { return fs.fchmodSync(this.fd, mode); }
  async utimes(a, m) { return fs.futimesSync(this.fd, a, m); }
  async close() {
    if (this.fd !== -1) fs.closeSync(this.fd);
    this.fd = -1;
  }
  async [Symbol.asyncDispose]() { return this.close(); }
  createReadStream(options) { return fs.createReadStream(null, { ...options, fd: this.fd }); }
  createWriteStream(options) { return fs.createWriteStream(null, { ...options, fd: this.fd }); }
  readableWebStream() {
    const data = fs.readFileSync(this.fd);
    return new ReadableStream({ start(c) { c.enqueue(new Uint8Array(data)); c.close(); } });
  }
}

const promises = {};
// The promise forms of the path functions (descriptors are FileHandles).
const FD_ONLY = new Set(["open", "close", "fstat", "ftruncate", "fchmod", "fchown", "futimes", "fsync", "fdatasync", "readv", "writev"]);
for (const name of SYNC) {
  if (FD_ONLY.has(name)) continue;
  const sync = fs[name + "Sync"];
  promises[name] = async (...args) => sync(...args);
}
promises.open = async (p, flags, mode) => new FileHandle(fs.openSync(p, flags, mode));
promises.opendir = async (p) => fs.opendirSync(p);
promises.constants = constants;
promises.FileHandle = FileHandle;
promises.readFile = async (p, options) => (p instanceof FileHandle ? p.readFile(options) : fs.readFileSync(p, options));
promises.writeFile = async (p, data, options) => (p instanceof FileHandle ? p.writeFile(data, options) : fs.writeFileSync(p, data, options));
promises.watch = notImplemented("promises.watch");
promises.glob = notImplemented("promises.glob");
fs.promises = promises;

// --- streams ---

const stream = require("stream");

// openStream opens the file of a ReadStream or WriteStream unless it was
// given an fd, and emits "open" and "ready" (or destroys the stream with the
// error) on a later microtask, as Node does.
function openStream(s, path) {
  s.pending = true;
  if (s.fd === null) {
    try {
      s.fd = fs.openSync(toPath(path), s.flags);
    } catch (e) {
      queueMicrotask(() => s.destroy(e));
      return;
    }
  }
  queueMicrotask(() => {
    s.pending = false;
    s.emit("open", s.fd);
    s.emit("ready");
  });
}

class ReadStream extends stream.Readable {
  constructor(path, options = {}) {
    if (typeof options === "string") options = { encoding: options };
    super({ highWaterMark: options.highWaterMark || 65536, encoding: options.encoding });
    this.path = path;
    this.fd = options.fd === undefined || options.fd === null ? null : options.fd;
    this.flags = options.flags || "r";
    this.start = options.start;
    this.end = options.end === undefined ? Infinity : options.end;
    this.pos = options.start;
    this.bytesRead = 0;
    this.autoClose = options.autoClose !== false;
    openStream(this, path);
  }
  _read(size) {
    try {
      const left = this.end - (this.pos === undefined ? this.bytesRead : this.pos) + 1;
      const n = Math.max(0, Math.min(size, left));
      if (n === 0) return this.push(null);
      const buf = Buffer.alloc(n);
      const got = fs.readSync(this.fd, buf, 0, n, this.pos === undefined ? null : this.pos);
      if (this.pos !== undefined) this.pos += got;
      this.bytesRead += got;
      this.push(got ? buf.subarray(0, got) : null);
    } catch (e) {
      this.destroy(e);
    }
  }
  _destroy(err, cb) {
    if (this.autoClose && typeof this.fd === "number" && fds.has(this.fd)) fs.closeSync(this.fd);
    queueMicrotask(() => this.emit("close"));
    cb(err);
  }
  close(cb) {
    if (cb) this.once("close", cb);
    this.destroy();
  }
}

class WriteStream extends stream.Writable {
  constructor(path, options = {}) {
    if (typeof options === "string") options = { encoding: options };
    super({ decodeStrings: true, defaultEncoding: options.encoding || "utf8", emitClose: false });
    this.path = path;
    this.fd = options.fd === undefined || options.fd === null ? null : options.fd;
    this.flags = options.flags || "w";
    this.pos = options.start;
    this.bytesWritten = 0;
    this.autoClose = options.autoClose !== false;
    openStream(this, path);
  }
  _write(chunk, encoding, cb) {
    try {
      const n = fs.writeSync(this.fd, chunk, 0, chunk.length, this.pos === undefined ? null : this.pos);
      if (this.pos !== undefined) this.pos += n;
      this.bytesWritten += n;
      cb();
    } catch (e) {
      cb(e);
    }
  }
  _destroy(err, cb) {
    if (this.autoClose && typeof this.fd === "number" && fds.has(this.fd)) fs.closeSync(this.fd);
    queueMicrotask(() => this.emit("close"));
    cb(err);
  }
  close(cb) {
    if (cb) this.once("close", cb);
    this.end();
    this.once("finish", () => this.destroy());
  }
}

fs.ReadStream = ReadStream;
fs.WriteStream = WriteStream;
fs.createReadStream = (p, options) => new ReadStream(p, options);
fs.createWriteStream = (p, options) => new WriteStream(p, options);

fs.default = fs;
module.exports = fs;
