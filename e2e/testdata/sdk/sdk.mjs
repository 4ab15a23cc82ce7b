// Drives cairn's REST API with Cloudflare's official TypeScript SDK (the
// `cloudflare` npm package), as e2e/restclients_test.go runs it:
//
//	CLOUDFLARE_API_TOKEN=… CAIRN_API=http://127.0.0.1:P/client/v4 D1_ID=… node sdk.mjs
//
// It prints one JSON object with what it saw; the Go test checks it. Every
// list is read with the SDK's auto-pagination, which reads pages until one
// is empty: a server that ignores ?page= makes it loop forever.
import Cloudflare from "cloudflare";

const cf = new Cloudflare({ apiToken: process.env.CLOUDFLARE_API_TOKEN, baseURL: process.env.CAIRN_API, maxRetries: 0 });
const account_id = process.env.CLOUDFLARE_ACCOUNT_ID;
const d1ID = process.env.D1_ID;
const out = {};

async function all(pages) {
  const items = [];
  for await (const item of pages) {
    items.push(item);
    if (items.length > 1000) throw new Error("pagination does not end");
  }
  return items;
}

// KV namespaces: create, list page by page, rename, values, delete.
const made = [];
for (const title of ["sdk-a", "sdk-b", "sdk-c"]) {
  made.push(await cf.kv.namespaces.create({ account_id, title }));
}
out.kvTitles = (await all(cf.kv.namespaces.list({ account_id, per_page: 2 }))).map((ns) => ns.title).sort();
await cf.kv.namespaces.update(made[0].id, { account_id, title: "sdk-renamed" });
out.kvRenamed = (await cf.kv.namespaces.get(made[0].id, { account_id })).title;
await cf.kv.namespaces.values.update("greeting", { account_id, namespace_id: made[0].id, value: "hello", metadata: JSON.stringify({ from: "sdk" }) });
out.kvValue = await (await cf.kv.namespaces.values.get("greeting", { account_id, namespace_id: made[0].id })).text();
out.kvKeys = (await all(cf.kv.namespaces.keys.list(made[0].id, { account_id }))).map((k) => k.name);
await cf.kv.namespaces.delete(made[1].id, { account_id });
out.kvAfterDelete = (await all(cf.kv.namespaces.list({ account_id }))).map((ns) => ns.title).sort();

// D1: list page by page, queries with UPDATE/DELETE … LIMIT and DDL meta.
out.d1Names = (await all(cf.d1.database.list({ account_id, per_page: 1 }))).map((db) => db.name).sort();
const query = async (sql, params) => (await all(cf.d1.database.query(d1ID, { account_id, sql, params })))[0];
const create = await query("CREATE TABLE items (id INTEGER PRIMARY KEY, v TEXT)");
out.createMeta = { changes: create.meta.changes, rows_written: create.meta.rows_written, changed_db: create.meta.changed_db };
await query("INSERT INTO items (v) VALUES (?), (?), (?)", ["a", "b", "c"]);
const del = await query("DELETE FROM items RETURNING * LIMIT 1");
out.deleted = del.results;
out.deleteChanges = del.meta.changes;
const upd = await query("UPDATE items SET v = ? ORDER BY id DESC LIMIT 1", ["z"]);
out.updateChanges = upd.meta.changes;
out.servedByPrimary = upd.meta.served_by_primary;
out.rows = (await query("SELECT id, v FROM items ORDER BY id")).results;

console.log(JSON.stringify(out));
