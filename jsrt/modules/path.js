// node:path — the POSIX flavour.
"use strict";

function normalizeParts(parts, absolute) {
  const out = [];
  for (const p of parts) {
    if (p === "" || p === ".") continue;
    if (p === "..") {
      if (out.length && out[out.length - 1] !== "..") out.pop();
      else if (!absolute) out.push("..");
    } else out.push(p);
  }
  return out;
}

function normalize(path) {
  const absolute = path.startsWith("/");
  const trailing = path.endsWith("/") && path.length > 1;
  let out = normalizeParts(path.split("/"), absolute).join("/");
  if (!out && !absolute) out = ".";
  if (out && trailing) out += "/";
  return (absolute ? "/" : "") + out;
}

function join(...parts) {
  const joined = parts.filter((p) => p !== "").join("/");
  return joined ? normalize(joined) : ".";
}

function resolve(...parts) {
  let path = "";
  for (let i = parts.length - 1; i >= 0 && !path.startsWith("/"); i--) {
    path = parts[i] + (path ? "/" + path : "");
  }
  if (!path.startsWith("/")) path = "/" + path;
  const out = normalize(path);
  return out.length > 1 && out.endsWith("/") ? out.slice(0, -1) : out;
}

function dirname(path) {
  if (/^\/+$/.test(path)) return "/";
  const i = path.replace(/\/+$/, "").lastIndexOf("/");
  if (i < 0) return ".";
  return i === 0 ? "/" : path.slice(0, i);
}

function basename(path, ext) {
  let base = path.replace(/\/+$/, "");
  base = base.slice(base.lastIndexOf("/") + 1);
  if (ext && base.endsWith(ext) && base !== ext) base = base.slice(0, -ext.length);
  return base;
}

function extname(path) {
  const base = basename(path);
  const i = base.lastIndexOf(".");
  return i <= 0 ? "" : base.slice(i);
}

function relative(from, to) {
  const a = resolve(from).split("/").filter(Boolean);
  const b = resolve(to).split("/").filter(Boolean);
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return [...a.slice(i).map(() => ".."), ...b.slice(i)].join("/");
}

function parse(p) {
  const root = p.startsWith("/") ? "/" : "";
  const base = basename(p);
  const ext = extname(p);
  let dir = dirname(p);
  if (dir === "." && !p.includes("/")) dir = "";
  return { root, dir, base, ext, name: ext ? base.slice(0, -ext.length) : base };
}

function format(o) {
  const dir = o.dir || o.root || "";
  const base = o.base || (o.name || "") + (o.ext || "");
  if (!dir) return base;
  return dir === o.root ? dir + base : dir + "/" + base;
}

const path = { sep: "/", delimiter: ":", normalize, join, resolve, dirname, basename, extname, isAbsolute: (p) => p.startsWith("/"), relative, parse, format };
path.posix = path;
module.exports = path;
