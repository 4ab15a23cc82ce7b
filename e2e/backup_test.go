package e2e

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
)

const backupConfig = `{
  "name": "bk",
  "main": "src/index.js",
  "compatibility_date": "2025-09-01",
  "durable_objects": { "bindings": [{ "name": "ACCT", "class_name": "Acct" }] },
  "migrations": [{ "tag": "v1", "new_sqlite_classes": ["Acct"] }],
  "kv_namespaces": [{ "binding": "KV", "id": "bk-kv" }],
  "d1_databases": [{ "binding": "DB", "database_name": "bk", "database_id": "bk-db" }],
}`

// Writes to objects (/o/NAME/write/SEQ), and to KV and D1 together
// (/x/write/SEQ); reads list the sequence numbers each holds.
const backupWorker = `import { DurableObject } from "cloudflare:workers";
export class Acct extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS a (seq INTEGER PRIMARY KEY, pad BLOB)");
  }
  async fetch(req) {
    const [, , , op, seq] = new URL(req.url).pathname.split("/");
    if (op === "write") {
      this.ctx.storage.sql.exec("INSERT INTO a VALUES (?, randomblob(2000))", Number(seq));
      return new Response("ok");
    }
    return Response.json(this.ctx.storage.sql.exec("SELECT seq FROM a ORDER BY seq").toArray().map((r) => r.seq));
  }
}
export default {
  async fetch(req, env) {
    const [, kind, name, op, seq] = new URL(req.url).pathname.split("/");
    if (kind === "o") return env.ACCT.getByName(name).fetch(req);
    await env.DB.exec("CREATE TABLE IF NOT EXISTS w (seq INTEGER PRIMARY KEY)");
    if (op === "write") {
      await env.KV.put("k" + seq, seq);
      await env.DB.prepare("INSERT INTO w VALUES (?)").bind(Number(seq)).run();
      return new Response("ok");
    }
    const kv = [];
    let cursor;
    do {
      const page = await env.KV.list({ cursor });
      for (const k of page.keys) kv.push(Number(k.name.slice(1)));
      cursor = page.list_complete ? undefined : page.cursor;
    } while (cursor);
    const { results } = await env.DB.prepare("SELECT seq FROM w").all();
    return Response.json({ kv, d1: results.map((r) => r.seq) });
  },
};
`

func writeBackupProject(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "src"), 0o755)
	os.WriteFile(filepath.Join(dir, "wrangler.jsonc"), []byte(backupConfig), 0o644)
	os.WriteFile(filepath.Join(dir, "src", "index.js"), []byte(backupWorker), 0o644)
	return dir
}

// cairnCmd runs the cairn binary and returns its combined output.
func cairnCmd(args ...string) (string, error) {
	out, err := exec.Command(cairnBin, args...).CombinedOutput()
	return string(out), err
}

const backupObjects = 6

// ackLog records the writes the server acknowledged: object name ("" for
// KV + D1) by sequence number.
type ackLog struct {
	mu    sync.Mutex
	acked map[int]string
}

func (a *ackLog) snapshot() map[int]string {
	a.mu.Lock()
	defer a.mu.Unlock()
	m := make(map[int]string, len(a.acked))
	for k, v := range a.acked {
		m[k] = v
	}
	return m
}

// spec 3.6 (backups of Durable Objects and D1): a backup taken while the
// server writes holds every acknowledged write made before it started, and
// every database of it passes integrity_check; restored, cairn serves it.
func TestBackupWhileServing(t *testing.T) {
	proj := writeBackupProject(t)
	state := filepath.Join(t.TempDir(), "state")
	apiPort := freePort(t)
	d := startDev(t, proj, state, "--api-port", fmt.Sprint(apiPort))
	api := fmt.Sprintf("http://127.0.0.1:%d", apiPort)

	log := &ackLog{acked: map[int]string{}}
	var seq atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				n := int(seq.Add(1))
				name, path := "", fmt.Sprintf("/x/-/write/%d", n)
				if n%3 != 0 {
					name = fmt.Sprintf("obj%d", (n+c)%backupObjects)
					path = fmt.Sprintf("/o/%s/write/%d", name, n)
				}
				resp, err := testClient.Post(d.URL+path, "text/plain", nil)
				if err != nil {
					continue
				}
				resp.Body.Close()
				if resp.StatusCode == 200 {
					log.mu.Lock()
					log.acked[n] = name
					log.mu.Unlock()
				}
			}
		}()
	}
	// Some load first (the machine may be slow): at least 50 writes.
	for deadline := time.Now().Add(30 * time.Second); len(log.snapshot()) < 50 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}

	type taken struct {
		name, dir   string
		consistency string
		before      map[int]string
	}
	var backups []taken
	for _, how := range []string{"api", "cli"} {
		before := log.snapshot()
		to := filepath.Join(t.TempDir(), how)
		args := []string{"backup", "--to", to, "--json"}
		if how == "api" {
			args = append(args, "--remote", api)
		} else {
			args = append(args, "-c", proj, "--persist-to", state)
		}
		out, err := cairnCmd(args...)
		if err != nil {
			t.Fatalf("cairn %s: %v\n%s\n%s", strings.Join(args, " "), err, out, d.Logs)
		}
		var m struct {
			Consistency string
			Files       []struct{ Path string }
		}
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("manifest: %v\n%s", err, out)
		}
		t.Logf("backup via %s: %s, %d files, %d writes acknowledged before it", how, m.Consistency, len(m.Files), len(before))
		backups = append(backups, taken{how, to, m.Consistency, before})
		time.Sleep(500 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	d.Stop()
	if backups[0].consistency != "cut" || backups[1].consistency != "per-database" {
		t.Errorf("consistency: api %q, cli %q; want cut, per-database", backups[0].consistency, backups[1].consistency)
	}

	for _, b := range backups {
		t.Run(b.name, func(t *testing.T) {
			restored := filepath.Join(t.TempDir(), "state")
			if out, err := cairnCmd("restore", "-c", proj, "--persist-to", restored, "--from", b.dir); err != nil {
				t.Fatalf("restore: %v\n%s", err, out)
			}
			checkIntegrity(t, filepath.Join(restored, "bk"))
			r := startDev(t, proj, restored)
			have := map[int]bool{}
			for i := range backupObjects {
				_, body := r.Get(fmt.Sprintf("/o/obj%d/read", i))
				var seqs []int
				if err := json.Unmarshal([]byte(body), &seqs); err != nil {
					t.Fatalf("obj%d: %v: %s", i, err, body)
				}
				for _, s := range seqs {
					have[s] = true
				}
			}
			_, body := r.Get("/x/-/read")
			var x struct{ KV, D1 []int }
			if err := json.Unmarshal([]byte(body), &x); err != nil {
				t.Fatalf("/x: %v: %s", err, body)
			}
			kv := map[int]bool{}
			for _, s := range x.KV {
				kv[s] = true
			}
			for _, s := range x.D1 {
				have[s] = true
			}
			missing := 0
			for s, name := range b.before {
				if !have[s] || (name == "" && !kv[s]) {
					if missing < 5 {
						t.Errorf("write %d (object %q) acknowledged before the backup is not in it", s, name)
					}
					missing++
				}
			}
			if missing > 0 {
				t.Errorf("%d of %d acknowledged writes missing", missing, len(b.before))
			}
			if len(b.before) < 50 {
				t.Errorf("only %d writes before the backup: the load did not run", len(b.before))
			}
		})
	}
}

// checkIntegrity runs PRAGMA integrity_check on every SQLite file under dir.
func checkIntegrity(t *testing.T, dir string) {
	t.Helper()
	n := 0
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".sqlite") {
			return err
		}
		db, err := sql.Open("sqlite3", "file:"+p+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var res string
		if err := db.QueryRow("PRAGMA integrity_check").Scan(&res); err != nil || res != "ok" {
			t.Errorf("%s: integrity_check: %v %s", p, err, res)
		}
		n++
		return nil
	})
	if n < backupObjects+2 {
		t.Errorf("only %d SQLite files restored", n)
	}
}

// Bad input to restore: a clear error, and the state directory unchanged.
func TestRestoreRefuses(t *testing.T) {
	proj := writeBackupProject(t)
	state := filepath.Join(t.TempDir(), "state")
	d := startDev(t, proj, state)
	d.expect("POST", "/o/a/write/1", 200, "ok")
	d.expect("POST", "/x/-/write/2", 200, "ok")
	good := filepath.Join(t.TempDir(), "good")
	if out, err := cairnCmd("backup", "-c", proj, "--persist-to", state, "--to", good); err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	// The server holds the state directory.
	out, err := cairnCmd("restore", "-c", proj, "--persist-to", state, "--from", good, "--force")
	if err == nil || !strings.Contains(out, "in use by a running cairn") {
		t.Errorf("restore into a served state directory: %v %s", err, out)
	}
	d.expect("GET", "/o/a/read", 200, "[1]")
	d.Stop()

	// A second backup into the same place would mix two.
	if out, err := cairnCmd("backup", "-c", proj, "--persist-to", state, "--to", good); err == nil || !strings.Contains(out, "already holds a backup") {
		t.Errorf("backup over a backup: %v %s", err, out)
	}
	// State exists and no --force.
	if out, err := cairnCmd("restore", "-c", proj, "--persist-to", state, "--from", good); err == nil || !strings.Contains(out, "--force") {
		t.Errorf("restore over state without --force: %v %s", err, out)
	}
	broken := filepath.Join(t.TempDir(), "broken")
	os.CopyFS(broken, os.DirFS(good))
	os.WriteFile(filepath.Join(broken, "catalog.json"), []byte("{}"), 0o644)
	if out, err := cairnCmd("restore", "-c", proj, "--persist-to", state, "--from", broken, "--force"); err == nil || !strings.Contains(out, "does not match its manifest") {
		t.Errorf("restore of a damaged backup: %v %s", err, out)
	}
	os.Remove(filepath.Join(broken, "manifest.json"))
	if out, err := cairnCmd("restore", "-c", proj, "--persist-to", state, "--from", broken, "--force"); err == nil || !strings.Contains(out, "no manifest.json") {
		t.Errorf("restore of a backup without manifest: %v %s", err, out)
	}
	// Nothing changed.
	r := startDev(t, proj, state)
	r.expect("GET", "/o/a/read", 200, "[1]")
	r.expect("GET", "/x/-/read", 200, `{"kv":[2],"d1":[2]}`)
}

// dirDigest hashes every file under dir but the lock file, by path.
func dirDigest(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == "cairn.lock" {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		rel, _ := filepath.Rel(dir, p)
		lines = append(lines, rel+" "+hex.EncodeToString(sum[:]))
		return nil
	})
	if err != nil {
		return "missing: " + err.Error()
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// A restore killed (SIGKILL) at any point leaves the old state or the
// restored one, never a mix; the next restore completes.
func TestRestoreKilled(t *testing.T) {
	proj := writeBackupProject(t)
	root := t.TempDir()
	// The backup: a state with a large database, so a restore takes a while.
	newState := filepath.Join(root, "new")
	w := filepath.Join(newState, "bk")
	os.MkdirAll(filepath.Join(w, "Acct"), 0o755)
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(w, "Acct", "big.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE t (v BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 3000) INSERT INTO t SELECT randomblob(4000) FROM n"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for i := range 20 {
		os.WriteFile(filepath.Join(w, "Acct", fmt.Sprintf("f%02d", i)), []byte(strings.Repeat("n", 1000)), 0o644)
	}
	os.WriteFile(filepath.Join(w, "catalog.json"), []byte(`{"new":true}`), 0o644)
	bk := filepath.Join(root, "backup")
	if out, err := cairnCmd("backup", "-c", proj, "--persist-to", newState, "--to", bk); err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	want := dirDigest(t, w)

	// The old state, in a directory per attempt.
	makeOld := func(dir string) {
		os.MkdirAll(filepath.Join(dir, "Acct"), 0o755)
		os.WriteFile(filepath.Join(dir, "catalog.json"), []byte(`{"old":true}`), 0o644)
		os.WriteFile(filepath.Join(dir, "Acct", "f00"), []byte("old"), 0o644)
	}
	// How long a whole restore takes: the kills fall anywhere in it.
	probe := filepath.Join(root, "probe")
	makeOld(filepath.Join(probe, "bk"))
	began := time.Now()
	if out, err := cairnCmd("restore", "-c", proj, "--persist-to", probe, "--from", bk, "--force"); err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	full := time.Since(began)
	sawOld, sawNew := 0, 0
	for i := range 6 {
		persist := filepath.Join(root, fmt.Sprint("t", i))
		target := filepath.Join(persist, "bk")
		makeOld(target)
		old := dirDigest(t, target)
		cmd := exec.Command(cairnBin, "restore", "-c", proj, "--persist-to", persist, "--from", bk, "--force")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(full/2 + time.Duration(rand.Int64N(int64(full))))
		cmd.Process.Kill()
		cmd.Wait()
		switch got := dirDigest(t, target); got {
		case old:
			sawOld++
		case want:
			sawNew++
		default:
			t.Fatalf("attempt %d: after SIGKILL the state is neither the old one nor the backup:\n%s", i, got)
		}
		// A restore after the crash completes (and removes what the killed one left).
		if out, err := cairnCmd("restore", "-c", proj, "--persist-to", persist, "--from", bk, "--force"); err != nil {
			t.Fatalf("restore after a killed one: %v\n%s", err, out)
		}
		if got := dirDigest(t, target); got != want {
			t.Fatalf("attempt %d: restore after the crash gave\n%s", i, got)
		}
		if ents, _ := os.ReadDir(persist); len(ents) != 1 {
			t.Errorf("attempt %d: left beside the state: %v", i, ents)
		}
	}
	t.Logf("a restore takes %s; killed restores: %d left the old state, %d the restored one", full, sawOld, sawNew)
}
