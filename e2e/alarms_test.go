package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

const alarmsConfig = `{
  "name": "alarms",
  "main": "src/index.js",
  "compatibility_date": "2025-09-01",
  "durable_objects": { "bindings": [
    { "name": "CLOCK", "class_name": "Clock" },
    { "name": "PLAIN", "class_name": "Plain" },
  ] },
  "migrations": [{ "tag": "v1", "new_sqlite_classes": ["Clock", "Plain"] }],
}`

// Clock records every alarm() call in its storage; ?fail=N makes the first
// N calls throw.
const alarmsWorker = `import { DurableObject } from "cloudflare:workers";
export class Clock extends DurableObject {
  async alarm(info) {
    const s = this.ctx.storage;
    const runs = (await s.get("runs")) ?? [];
    runs.push({ retryCount: info.retryCount, isRetry: info.isRetry, name: this.ctx.id.name, during: await s.getAlarm() });
    await s.put("runs", runs);
    if (runs.length <= ((await s.get("fail")) ?? 0)) throw new Error("alarm failed on purpose");
    const again = (await s.get("again")) ?? 0;
    if (again > 0) { await s.put("again", again - 1); await s.setAlarm(Date.now() + 50); }
  }
  async fetch(req) {
    const url = new URL(req.url);
    const s = this.ctx.storage;
    const q = (k) => url.searchParams.get(k);
    switch (url.pathname.split("/")[3]) {
    case "set":
      if (q("fail")) await s.put("fail", Number(q("fail")));
      if (q("again")) await s.put("again", Number(q("again")));
      await s.setAlarm(Date.now() + Number(q("in")));
      return Response.json(await s.getAlarm());
    case "replace":
      await s.setAlarm(Date.now() + 100000);
      await s.setAlarm(Date.now() + Number(q("in")));
      return Response.json("ok");
    case "delete": await s.deleteAlarm(); return Response.json(await s.getAlarm());
    case "runs": return Response.json({ runs: (await s.get("runs")) ?? [], alarm: await s.getAlarm() });
    case "bad": {
      const out = [];
      for (const t of [0, -5]) { try { await s.setAlarm(t); } catch (e) { out.push(e.name + ": " + e.message); } }
      return Response.json(out);
    }
    case "deleteall":
      await s.setAlarm(Date.now() + 100000);
      await s.put("x", 1);
      await s.deleteAll();
      return Response.json(await s.getAlarm());
    case "rolledback":
      try { await s.transaction(async () => { await s.setAlarm(Date.now() + 100); throw new Error("undo"); }); } catch {}
      return Response.json(await s.getAlarm());
    }
    return new Response("no route", { status: 404 });
  }
}
export class Plain extends DurableObject {
  async fetch() {
    try { await this.ctx.storage.setAlarm(Date.now() + 1000); return new Response("set"); }
    catch (e) { return new Response(e.name + ": " + e.message); }
  }
}
export default {
  fetch(req, env) {
    const [, ns, name] = new URL(req.url).pathname.split("/");
    return (ns === "plain" ? env.PLAIN : env.CLOCK).getByName(name).fetch(req);
  },
};
`

type alarmRuns struct {
	Runs []struct {
		RetryCount int
		IsRetry    bool
		Name       string
		During     *float64
	}
	Alarm *float64
}

// waitRuns polls an object until it has recorded n alarm runs.
func waitRuns(t *testing.T, d *devServer, name string, n int, within time.Duration) alarmRuns {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var r alarmRuns
		if err := json.Unmarshal([]byte(d.mustGet("/clock/"+name+"/runs")), &r); err != nil {
			t.Fatal(err)
		}
		if len(r.Runs) >= n || time.Now().After(deadline) {
			return r
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// spec 47, 48, 50, 51, 52, 8: set, replace, fire once, get/delete, errors.
func TestAlarms(t *testing.T) {
	dir := writeProject(t, map[string]string{"wrangler.jsonc": alarmsConfig, "src/index.js": alarmsWorker})
	d := startDev(t, dir, t.TempDir(), "--alarm-retry", "100ms")

	if got := d.mustGet("/clock/a/set?in=200"); got == "null" {
		t.Fatalf("getAlarm after setAlarm = %s", got)
	}
	r := waitRuns(t, d, "a", 1, 10*time.Second)
	if len(r.Runs) != 1 || r.Runs[0].RetryCount != 0 || r.Runs[0].IsRetry || r.Runs[0].Name != "a" || r.Runs[0].During != nil || r.Alarm != nil {
		t.Fatalf("after the alarm: %+v; want one run (retryCount 0, name a, no alarm during it), none left", r)
	}

	d.mustGet("/clock/b/replace?in=150") // spec 48
	time.Sleep(700 * time.Millisecond)
	if r := waitRuns(t, d, "b", 1, 5*time.Second); len(r.Runs) != 1 {
		t.Fatalf("replaced alarm ran %d times, want 1", len(r.Runs))
	}

	d.mustGet("/clock/c/set?in=300")
	d.expect("GET", "/clock/c/delete", 200, "null")
	time.Sleep(600 * time.Millisecond)
	if r := waitRuns(t, d, "c", 0, 0); len(r.Runs) != 0 {
		t.Fatalf("deleted alarm ran: %+v", r)
	}

	d.mustGet("/clock/e/set?in=50&again=2") // spec 52: set inside the handler schedules the next
	if r := waitRuns(t, d, "e", 3, 10*time.Second); len(r.Runs) != 3 {
		t.Fatalf("alarm re-set by its handler ran %d times, want 3\n%s", len(r.Runs), d.Logs)
	}

	d.expect("GET", "/clock/f/bad", 200, `["TypeError: setAlarm() cannot be called with an alarm time <= 0","TypeError: setAlarm() cannot be called with an alarm time <= 0"]`)
	d.expect("GET", "/clock/g/rolledback", 200, "null")
	// spec 54: compatibility date 2025-09-01 (< 2026-02-24): deleteAll keeps the alarm
	if got := d.mustGet("/clock/h/deleteall"); got == "null" {
		t.Errorf("deleteAll cleared the alarm under compatibility date 2025-09-01")
	}
	d.expect("GET", "/plain/p", 200, "TypeError: Your Durable Object class must have an alarm() handler in order to call setAlarm()")
}

// spec 49: a throwing alarm is retried with retryCount and isRetry.
func TestAlarmRetries(t *testing.T) {
	dir := writeProject(t, map[string]string{"wrangler.jsonc": alarmsConfig, "src/index.js": alarmsWorker})
	d := startDev(t, dir, t.TempDir(), "--alarm-retry", "50ms")
	d.mustGet("/clock/r/set?in=10&fail=2")
	r := waitRuns(t, d, "r", 3, 10*time.Second)
	if len(r.Runs) != 3 {
		t.Fatalf("runs %+v, want 3 (two failures, then success)", r.Runs)
	}
	for i, run := range r.Runs {
		if run.RetryCount != i || run.IsRetry != (i > 0) {
			t.Errorf("run %d: retryCount %d isRetry %v", i, run.RetryCount, run.IsRetry)
		}
	}
	if r.Alarm != nil {
		t.Errorf("alarm still set after a successful retry")
	}
	if !strings.Contains(d.Logs.String(), "alarm failed on purpose") {
		t.Errorf("failure not logged")
	}
}

// spec 53: an alarm survives a restart of the server (and so eviction).
func TestAlarmSurvivesRestart(t *testing.T) {
	dir := writeProject(t, map[string]string{"wrangler.jsonc": alarmsConfig, "src/index.js": alarmsWorker})
	state := t.TempDir()
	d := startDev(t, dir, state)
	d.mustGet("/clock/s/set?in=1500")
	d.Stop()
	d = startDev(t, dir, state, "--object-idle", "50ms")
	r := waitRuns(t, d, "s", 1, 10*time.Second)
	if len(r.Runs) != 1 || r.Runs[0].Name != "s" {
		t.Fatalf("after restart: %+v; want the alarm to fire once on a fresh instance, with its name", r)
	}
}

// spec 54: from compatibility date 2026-02-24, deleteAll() clears the alarm.
func TestDeleteAllClearsAlarm(t *testing.T) {
	config := strings.Replace(alarmsConfig, `"2025-09-01"`, `"2026-03-01"`, 1)
	dir := writeProject(t, map[string]string{"wrangler.jsonc": config, "src/index.js": alarmsWorker})
	d := startDev(t, dir, t.TempDir())
	d.expect("GET", "/clock/h/deleteall", 200, "null")
}
