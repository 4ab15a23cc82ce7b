// cairn studio: browses a Worker's Durable Objects, D1 databases and KV
// namespaces through cairn's admin API. Plain JavaScript, no build step.
// Views are picked by the URL's hash (#/do/Class/id/t/table, …), so the
// browser's back button and links work. Data is always put in the page as
// text (textContent), never as HTML.
"use strict";

// The API is beside the page: <root>/client/v4 for the page <root>/studio/,
// so a server that mounts a Worker's admin address under a prefix works.
const API = location.pathname.replace(/\/studio\/.*$/, "") + "/client/v4";
const ACCOUNT = "local"; // the D1 and KV REST APIs take any account id
const TOKEN_KEY = "cairn.studio.token";
const PAGE_ROWS = 100;

// ---- the admin API ----

class APIError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// api calls the admin API and returns the envelope's result (or the raw
// text with {raw: true}). A 401 asks for a token.
async function api(method, path, { body, raw, json } = {}) {
  const headers = {};
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers["Authorization"] = "Bearer " + token;
  let payload;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(json);
  } else if (body !== undefined) {
    headers["Content-Type"] = "text/plain; charset=utf-8";
    payload = body;
  }
  const resp = await fetch(API + path, { method, headers, body: payload });
  if (resp.status === 401) {
    showLogin("The token was refused (401).");
    throw new APIError(401, "authentication needed");
  }
  if (raw && resp.ok) return { text: await resp.text(), headers: resp.headers };
  let env;
  try {
    env = await resp.json();
  } catch {
    throw new APIError(resp.status, `HTTP ${resp.status} (not JSON)`);
  }
  if (!resp.ok || !env.success) {
    const msg = (env.errors || []).map((e) => e.message).join("; ") || `HTTP ${resp.status}`;
    throw new APIError(resp.status, msg);
  }
  return env;
}

async function result(method, path, opts) {
  return (await api(method, path, opts)).result;
}

const enc = encodeURIComponent;

// ---- DOM helpers ----

// el makes an element: attrs are properties (onclick, className, …) or,
// for data-*, attributes; children are nodes or text.
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null) continue;
    if (k.startsWith("data-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function link(href, text) {
  return el("a", { href }, text);
}

const main = () => document.getElementById("main");

function render(...nodes) {
  main().replaceChildren(...nodes.flat().filter(Boolean));
}

// workerName names the Worker in the breadcrumbs once known.
let workerName = null;

// crumbs shows where the page is: [text, href] pairs; the first, the
// Worker, is shown by its name.
function crumbs(...parts) {
  const nav = document.getElementById("crumbs");
  nav.replaceChildren();
  if (workerName && parts.length && parts[0][0] === "Worker") parts[0] = [workerName, parts[0][1]];
  parts.forEach(([text, href], i) => {
    if (i > 0) nav.append(el("span", { className: "sep" }, "›"));
    nav.append(href ? link(href, text) : el("span", {}, text));
  });
}

function errorBox(err) {
  return el("p", { className: "error", "data-test": "error" }, String(err.message || err));
}

function bytes(n) {
  if (n < 1024) return n + " B";
  if (n < 1 << 20) return (n / 1024).toFixed(1) + " KiB";
  if (n < 1 << 30) return (n / (1 << 20)).toFixed(1) + " MiB";
  return (n / (1 << 30)).toFixed(2) + " GiB";
}

function when(t) {
  if (!t || t.startsWith("0001-")) return "—";
  return new Date(t).toLocaleString();
}

// cell renders one value of a result grid.
function cell(v) {
  if (v === null) return el("td", { className: "null" }, "NULL");
  if (typeof v === "object" && v.blob !== undefined) {
    const n = Math.floor((v.blob.length * 3) / 4) - (v.blob.endsWith("==") ? 2 : v.blob.endsWith("=") ? 1 : 0);
    return el("td", { className: "null", title: v.blob }, `BLOB (${n} bytes)`);
  }
  if (typeof v === "number") return el("td", { className: "num" }, String(v));
  return el("td", { title: String(v).length > 60 ? String(v) : "" }, String(v));
}

// grid renders {columns, rows} as a table.
function grid(res) {
  const head = el("tr", {}, res.columns.map((c) => el("th", {}, c)));
  const rows = res.rows.map((r) => el("tr", {}, r.map(cell)));
  return el("div", { className: "scroll" },
    el("table", { className: "grid", "data-test": "grid" }, el("thead", {}, head), el("tbody", {}, rows)));
}

// table renders a list of objects with the given columns: [title, fn(item) → node or text].
function table(items, cols, testName) {
  const head = el("tr", {}, cols.map(([t]) => el("th", {}, t)));
  const rows = items.map((it) => el("tr", {}, cols.map(([, f]) => {
    const v = f(it);
    return el("td", {}, v instanceof Node ? v : String(v ?? ""));
  })));
  return el("div", { className: "scroll" },
    el("table", { className: "grid", "data-test": testName }, el("thead", {}, head), el("tbody", {}, rows)));
}

// ---- SQL console ----

// sqlConsole returns a console that posts to path: the SQL, read-only
// unless the user ticks "read-write".
function sqlConsole(path, placeholder) {
  const text = el("textarea", { id: "sql", placeholder, spellcheck: false });
  const rw = el("input", { type: "checkbox", id: "readwrite" });
  const out = el("div", { id: "sql-result" });
  const run = async () => {
    out.replaceChildren(el("p", { className: "muted" }, "Running…"));
    try {
      const res = await result("POST", path, { json: { sql: text.value, readWrite: rw.checked } });
      const meta = `${res.rows.length} row${res.rows.length === 1 ? "" : "s"}` +
        (res.rowsWritten ? `, ${res.rowsWritten} written` : "") + ` in ${res.duration_ms} ms`;
      out.replaceChildren(
        res.notice ? el("p", { className: "notice", "data-test": "notice" }, res.notice) : null,
        el("p", { className: "muted", "data-test": "meta" }, meta),
        res.columns.length ? grid(res) : null,
      );
    } catch (err) {
      out.replaceChildren(errorBox(err));
    }
  };
  text.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) run();
  });
  return el("section", {},
    el("h2", {}, "SQL"),
    text,
    el("div", { className: "bar" },
      el("button", { id: "run", onclick: run }, "Run (Ctrl+Enter)"),
      el("label", { className: "rw" }, rw, " read-write (off: a statement that writes is refused)")),
    out);
}

// ---- row pages ----

// rowsView shows a table's rows a page at a time: by rowid (the first
// column) when the table has them, else by offset.
async function rowsView(path, title) {
  const q = new URLSearchParams(location.hash.split("?")[1] || "");
  const after = q.get("after") || "0";
  const res = await result("GET", `${path}?after=${enc(after)}&limit=${PAGE_ROWS}`);
  const byRowid = res.columns[0] === "rowid";
  let next = null;
  if (res.truncated && res.rows.length) {
    const nextAfter = byRowid ? res.rows[res.rows.length - 1][0] : Number(after) + res.rows.length;
    next = location.hash.split("?")[0] + "?after=" + enc(nextAfter);
  }
  return [
    el("h2", {}, title),
    el("div", { className: "bar" },
      after !== "0" ? link(location.hash.split("?")[0], "⏮ first page") : null,
      next ? link(next, "next page ⏭") : el("span", { className: "muted" }, "last page"),
      el("span", { className: "muted" }, `${res.rows.length} rows shown` + (byRowid ? `, after rowid ${after}` : `, from row ${Number(after) + 1}`))),
    grid(res),
  ];
}

// ---- views ----

async function home() {
  crumbs(["Worker"]);
  const w = await result("GET", "/cairn/studio/worker");
  workerName = w.name;
  crumbs(["Worker"]);
  render(
    el("h2", {}, "Durable Object classes"),
    w.classes.length ? table(w.classes, [
      ["class", (c) => link(`#/do/${enc(c.name)}`, c.name)],
      ["bindings", (c) => c.bindings.join(", ")],
    ], "classes") : el("p", { className: "muted" }, "none"),
    el("h2", {}, "D1 databases"),
    w.d1.length ? table(w.d1, [
      ["database", (d) => link(`#/d1/${enc(d.uuid)}`, d.name || d.uuid)],
      ["binding", (d) => d.binding || ""],
      ["size", (d) => bytes(d.file_size)],
      ["uuid", (d) => d.uuid],
    ], "databases") : el("p", { className: "muted" }, "none"),
    el("h2", {}, "KV namespaces"),
    w.kv.length ? table(w.kv, [
      ["namespace", (n) => link(`#/kv/${enc(n.id)}`, n.title)],
      ["id", (n) => n.id],
    ], "namespaces") : el("p", { className: "muted" }, "none"),
  );
}

async function objectsView(cls) {
  crumbs(["Worker", "#/"], [cls]);
  const q = new URLSearchParams(location.hash.split("?")[1] || "");
  const search = q.get("search") || "";
  const page = Number(q.get("page") || "1");
  const res = await result("GET", `/cairn/studio/objects/${enc(cls)}?page=${page}&per_page=50&search=${enc(search)}`);
  const info = res.result_info;
  const base = `#/do/${enc(cls)}`;
  const go = (p, s) => { location.hash = `${base}?page=${p}&search=${enc(s)}`; };
  const box = el("input", { type: "search", id: "search", value: search, placeholder: "name, or id prefix" });
  box.addEventListener("keydown", (e) => { if (e.key === "Enter") go(1, box.value); });
  const state = (o) => o.live ? el("span", { className: "live" }, "live")
    : o.hibernated ? el("span", { className: "hib" }, "hibernated") : "on disk";
  render(
    el("h2", {}, `Objects of ${cls}`),
    el("div", { className: "bar" }, box,
      el("button", { onclick: () => go(1, box.value) }, "Search"),
      search ? el("button", { onclick: () => { location.hash = `${base}/${enc("name:" + box.value)}`; } }, `Open the object named “${search}”`) : null),
    el("p", { className: "muted" }, `${info.total_count} objects; page ${info.page} of ${Math.max(1, info.total_pages)}. ` +
      "Names are known for objects that are live or have an alarm; search by an exact name finds any object."),
    table(res.objects, [
      ["id", (o) => link(`${base}/${o.id}`, o.id.slice(0, 16) + "…")],
      ["name", (o) => o.name || ""],
      ["size", (o) => bytes(o.size)],
      ["last write", (o) => when(o.modified)],
      ["state", state],
      ["alarm", (o) => o.alarm ? when(o.alarm) : "—"],
      ["WebSockets", (o) => o.websockets],
    ], "objects"),
    el("div", { className: "bar" },
      page > 1 ? el("button", { onclick: () => go(page - 1, search) }, "‹ previous") : null,
      page < info.total_pages ? el("button", { onclick: () => go(page + 1, search) }, "next ›") : null),
  );
}

// objectPath is the API path of an object: its id, or "-" and ?name=.
function objectPath(cls, id, suffix = "") {
  if (id.startsWith("name:")) return `/cairn/studio/objects/${enc(cls)}/-${suffix}?name=${enc(id.slice(5))}`;
  return `/cairn/studio/objects/${enc(cls)}/${enc(id)}${suffix}`;
}

async function objectView(cls, id) {
  crumbs(["Worker", "#/"], [cls, `#/do/${enc(cls)}`], [id.slice(0, 16) + "…"]);
  const o = await result("GET", objectPath(cls, id));
  if (id.startsWith("name:")) { location.replace(`#/do/${enc(cls)}/${o.id}`); return; }
  crumbs(["Worker", "#/"], [cls, `#/do/${enc(cls)}`], [o.name || o.id.slice(0, 16) + "…"]);
  const ws = o.websockets;
  render(
    el("h2", {}, "Object"),
    el("dl", { className: "meta", "data-test": "object-meta" },
      el("dt", {}, "id"), el("dd", {}, o.id),
      el("dt", {}, "name"), el("dd", {}, o.name || "—"),
      el("dt", {}, "state"), el("dd", {}, o.live ? "live (in memory)" : o.hibernated ? "hibernated (WebSockets open, not in memory)" : "on disk"),
      el("dt", {}, "size"), el("dd", {}, bytes(o.size)),
      el("dt", {}, "last write"), el("dd", {}, when(o.modified)),
      el("dt", {}, "alarm"), el("dd", { "data-test": "alarm" }, o.alarm ? when(o.alarm) + " (" + o.alarm + ")" : "none"),
      el("dt", {}, "WebSockets"), el("dd", { "data-test": "websockets" },
        `${ws.hibernatable} hibernatable, ${ws.accepted} accepted otherwise`,
        ws.sockets.length ? el("ul", {}, ws.sockets.map((s) => el("li", {},
          s.tags.length ? s.tags.map((t) => el("span", { className: "tag" }, t)) : el("span", { className: "muted" }, "no tags")))) : null)),
    el("h2", {}, "Tables"),
    o.tables.length ? table(o.tables, [
      ["table", (t) => link(`#/do/${enc(cls)}/${o.id}/t/${enc(t.name)}`, t.name)],
      ["type", (t) => t.type],
      ["rows", (t) => (t.rows < 0 ? "" : t.rows)],
    ], "tables") : el("p", { className: "muted" }, "no tables (the object has no storage yet, or only KV pairs)"),
    sqlConsole(objectPath(cls, o.id, "/query"), "SELECT * FROM sqlite_master"),
  );
}

async function objectRowsView(cls, id, tbl) {
  crumbs(["Worker", "#/"], [cls, `#/do/${enc(cls)}`], [id.slice(0, 16) + "…", `#/do/${enc(cls)}/${id}`], [tbl]);
  render(await rowsView(objectPath(cls, id, `/tables/${enc(tbl)}`), `Rows of ${tbl}`));
}

async function d1View(db) {
  crumbs(["Worker", "#/"], ["D1"], [db]);
  const tables = await result("GET", `/cairn/studio/d1/${enc(db)}/tables`);
  render(
    el("h2", {}, "Tables"),
    tables.length ? table(tables, [
      ["table", (t) => link(`#/d1/${enc(db)}/t/${enc(t.name)}`, t.name)],
      ["type", (t) => t.type],
      ["rows", (t) => (t.rows < 0 ? "" : t.rows)],
    ], "tables") : el("p", { className: "muted" }, "no tables"),
    sqlConsole(`/cairn/studio/d1/${enc(db)}/query`, "SELECT name FROM sqlite_master"),
  );
}

async function d1RowsView(db, tbl) {
  crumbs(["Worker", "#/"], ["D1"], [db, `#/d1/${enc(db)}`], [tbl]);
  render(await rowsView(`/cairn/studio/d1/${enc(db)}/tables/${enc(tbl)}`, `Rows of ${tbl}`));
}

const kvBase = (ns) => `/accounts/${ACCOUNT}/storage/kv/namespaces/${enc(ns)}`;

async function kvView(ns) {
  crumbs(["Worker", "#/"], ["KV"], [ns]);
  const q = new URLSearchParams(location.hash.split("?")[1] || "");
  const prefix = q.get("prefix") || "";
  const cursor = q.get("cursor") || "";
  const env = await api("GET", `${kvBase(ns)}/keys?limit=100&prefix=${enc(prefix)}&cursor=${enc(cursor)}`);
  const base = `#/kv/${enc(ns)}`;
  const box = el("input", { type: "search", id: "prefix", value: prefix, placeholder: "key prefix" });
  const go = () => { location.hash = `${base}?prefix=${enc(box.value)}`; };
  box.addEventListener("keydown", (e) => { if (e.key === "Enter") go(); });
  const newKey = el("input", { type: "text", id: "new-key", placeholder: "new key" });
  const editor = el("div", { id: "kv-editor" });
  const open = async (key) => {
    editor.replaceChildren(el("p", { className: "muted" }, "Loading…"));
    try {
      let value = "";
      if (key !== null) value = (await api("GET", `${kvBase(ns)}/values/${enc(key)}`, { raw: true })).text;
      else key = newKey.value;
      if (!key) throw new Error("type a key first");
      const text = el("textarea", { id: "kv-value", value });
      const status = el("span", { className: "muted" });
      editor.replaceChildren(
        el("h2", {}, "Key ", el("code", {}, key)), text,
        el("div", { className: "bar" },
          el("button", { id: "kv-save", onclick: async () => {
            try { await api("PUT", `${kvBase(ns)}/values/${enc(key)}`, { body: text.value }); status.textContent = "saved"; kvView(ns); } catch (err) { status.textContent = err.message; }
          } }, "Save"),
          el("button", { id: "kv-delete", onclick: async () => {
            if (!confirm(`Delete ${key}?`)) return;
            try { await api("DELETE", `${kvBase(ns)}/values/${enc(key)}`); kvView(ns); } catch (err) { status.textContent = err.message; }
          } }, "Delete"),
          status));
    } catch (err) {
      editor.replaceChildren(errorBox(err));
    }
  };
  const next = env.result_info && env.result_info.cursor;
  render(
    el("div", { className: "bar" }, box, el("button", { onclick: go }, "Filter"),
      newKey, el("button", { onclick: () => open(null) }, "Add key")),
    table(env.result, [
      ["key", (k) => el("button", { className: "linkish", onclick: () => open(k.name) }, k.name)],
      ["expiration", (k) => (k.expiration ? new Date(k.expiration * 1000).toLocaleString() : "—")],
      ["metadata", (k) => (k.metadata ? JSON.stringify(k.metadata) : "")],
    ], "keys"),
    next ? el("div", { className: "bar" }, link(`${base}?prefix=${enc(prefix)}&cursor=${enc(next)}`, "next page ⏭")) : null,
    editor,
  );
}

// ---- routing and sign-in ----

async function route() {
  document.getElementById("login").hidden = true;
  main().hidden = false;
  const path = location.hash.replace(/^#\/?/, "").split("?")[0];
  const p = path ? path.split("/").map(decodeURIComponent) : [];
  try {
    if (workerName === null && p.length > 0) workerName = (await result("GET", "/cairn/studio/worker")).name;
    if (p.length === 0) await home();
    else if (p[0] === "do" && p.length === 2) await objectsView(p[1]);
    else if (p[0] === "do" && p.length === 3) await objectView(p[1], p[2]);
    else if (p[0] === "do" && p.length === 5 && p[3] === "t") await objectRowsView(p[1], p[2], p[4]);
    else if (p[0] === "d1" && p.length === 2) await d1View(p[1]);
    else if (p[0] === "d1" && p.length === 4 && p[2] === "t") await d1RowsView(p[1], p[3]);
    else if (p[0] === "kv" && p.length === 2) await kvView(p[1]);
    else render(el("p", { className: "error" }, "No such page: " + location.hash));
  } catch (err) {
    if (err.status !== 401) render(errorBox(err));
  }
}

function showLogin(why) {
  main().hidden = true;
  document.getElementById("login").hidden = false;
  document.getElementById("login-error").textContent = why || "";
  document.getElementById("token").focus();
}

document.addEventListener("DOMContentLoaded", () => {
  const logout = document.getElementById("logout");
  logout.hidden = !sessionStorage.getItem(TOKEN_KEY);
  logout.onclick = () => { sessionStorage.removeItem(TOKEN_KEY); location.reload(); };
  document.getElementById("login").addEventListener("submit", (e) => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, document.getElementById("token").value);
    logout.hidden = false;
    route();
  });
  window.addEventListener("hashchange", route);
  route();
});
