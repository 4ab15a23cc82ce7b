package backup_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/cairn-dev/cairn/backup"
	"github.com/cairn-dev/cairn/backup/file"
)

// openDB opens a database as cairn's owners do: WAL, no automatic
// checkpoint, the whole file the connection's own.
func openDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+(&url.URL{Path: path}).EscapedPath()+"?_locking_mode=EXCLUSIVE&_journal_mode=WAL&_synchronous=NORMAL")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec("PRAGMA wal_autocheckpoint=0; PRAGMA journal_size_limit=1048576; CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v BLOB)"); err != nil {
		t.Fatal(err)
	}
	return db
}

// makeState builds a small state directory: an object, a D1 database, a
// catalog and a lock file.
func makeState(t *testing.T, dir string, rows int) {
	t.Helper()
	for _, p := range []string{"Counter/abc.sqlite", "d1/db1.sqlite"} {
		full := filepath.Join(dir, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		db := openDB(t, full)
		for i := range rows {
			if _, err := db.Exec("INSERT INTO t (v) VALUES (?)", bytes.Repeat([]byte{byte(i)}, 100)); err != nil {
				t.Fatal(err)
			}
		}
		t.Cleanup(func() { db.Close() }) // left open: its WAL is not checkpointed
	}
	os.WriteFile(filepath.Join(dir, "catalog.json"), []byte(`{"classes":{}}`), 0o644)
	os.WriteFile(filepath.Join(dir, "cairn.lock"), nil, 0o644)
}

func count(t testing.TB, path string) int {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+(&url.URL{Path: path}).EscapedPath())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var res string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&res); err != nil || res != "ok" {
		t.Fatalf("%s: integrity_check: %v %s", path, err, res)
	}
	var n int
	if err := db.QueryRow("SELECT count(*) FROM t").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSnapshotRestoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	state := filepath.Join(root, "state", "w")
	makeState(t, state, 50)
	to := file.New(filepath.Join(root, "backup"))
	m, err := backup.Snapshot(ctx, backup.SnapshotOptions{Dir: state, Worker: "w", Target: to})
	if err != nil {
		t.Fatal(err)
	}
	if m.Consistency != backup.ConsistencyStopped {
		t.Errorf("consistency %q, want stopped (no server held the lock)", m.Consistency)
	}
	var paths []string
	for _, f := range m.Files {
		paths = append(paths, f.Path+":"+f.Kind)
	}
	want := []string{"Counter/abc.sqlite:sqlite", "catalog.json:file", "d1/db1.sqlite:sqlite"}
	if fmt.Sprint(paths) != fmt.Sprint(want) {
		t.Errorf("files %v, want %v (no lock file, no WAL)", paths, want)
	}
	if _, err := backup.Verify(ctx, to); err != nil {
		t.Fatal(err)
	}
	// A second backup into the same place would mix the two.
	if _, err := backup.Snapshot(ctx, backup.SnapshotOptions{Dir: state, Worker: "w", Target: to}); !errors.Is(err, backup.ErrTargetUsed) {
		t.Errorf("second backup to the same target: %v, want ErrTargetUsed", err)
	}

	restored := filepath.Join(root, "restored", "w")
	if _, err := backup.Restore(ctx, backup.RestoreOptions{Source: to, Dir: restored, Worker: "w"}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"Counter/abc.sqlite", "d1/db1.sqlite"} {
		if n := count(t, filepath.Join(restored, p)); n != 50 {
			t.Errorf("%s: %d rows, want 50", p, n)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(restored, "catalog.json")); string(b) != `{"classes":{}}` {
		t.Errorf("catalog.json = %q", b)
	}
	if _, err := backup.Restore(ctx, backup.RestoreOptions{Source: to, Dir: restored, Worker: "other"}); err == nil {
		t.Error("restore of Worker w as other: no error")
	}
}

// Bad input: a clear error, and the target state directory untouched.
func TestRestoreRefuses(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	state := filepath.Join(root, "state", "w")
	makeState(t, state, 3)
	good := filepath.Join(root, "good")
	if _, err := backup.Snapshot(ctx, backup.SnapshotOptions{Dir: state, Worker: "w", Target: file.New(good)}); err != nil {
		t.Fatal(err)
	}
	copyDir := func(t *testing.T, src string) string {
		dst := t.TempDir()
		os.CopyFS(dst, os.DirFS(src))
		return dst
	}
	for _, tc := range []struct {
		name   string
		break_ func(dir string)
		force  bool
		locked bool
		want   error
	}{
		{name: "no manifest", break_: func(d string) { os.Remove(filepath.Join(d, "manifest.json")) }, force: true, want: backup.ErrNoManifest},
		{name: "bad manifest", break_: func(d string) { os.WriteFile(filepath.Join(d, "manifest.json"), []byte("{"), 0o644) }, force: true, want: backup.ErrBadManifest},
		{name: "changed file", break_: func(d string) {
			os.WriteFile(filepath.Join(d, "catalog.json"), []byte(`{"classes":{"x":1}}`), 0o644)
		}, force: true, want: backup.ErrChecksum},
		{name: "missing file", break_: func(d string) { os.Remove(filepath.Join(d, "d1", "db1.sqlite")) }, force: true, want: backup.ErrChecksum},
		{name: "truncated file", break_: func(d string) { os.Truncate(filepath.Join(d, "Counter", "abc.sqlite"), 100) }, force: true, want: backup.ErrChecksum},
		{name: "state exists", want: backup.ErrExists},
		{name: "locked", locked: true, force: true, want: backup.ErrLocked},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := copyDir(t, good)
			if tc.break_ != nil {
				tc.break_(src)
			}
			target := filepath.Join(t.TempDir(), "w")
			os.MkdirAll(target, 0o755)
			os.WriteFile(filepath.Join(target, "catalog.json"), []byte("old"), 0o644)
			if tc.locked {
				f, err := os.OpenFile(filepath.Join(target, "cairn.lock"), os.O_RDWR|os.O_CREATE, 0o644)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				lockForTest(t, f)
			}
			_, err := backup.Restore(ctx, backup.RestoreOptions{Source: file.New(src), Dir: target, Force: tc.force})
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if b, _ := os.ReadFile(filepath.Join(target, "catalog.json")); string(b) != "old" {
				t.Errorf("target changed: catalog.json = %q", b)
			}
			ents, _ := os.ReadDir(filepath.Dir(target))
			if len(ents) != 1 {
				t.Errorf("left beside the target: %v", ents)
			}
		})
	}
	// With --force the same target is replaced.
	target := filepath.Join(t.TempDir(), "w")
	os.MkdirAll(target, 0o755)
	os.WriteFile(filepath.Join(target, "stale"), []byte("old"), 0o644)
	if _, err := backup.Restore(ctx, backup.RestoreOptions{Source: file.New(good), Dir: target, Force: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(target, "stale")); !errors.Is(err, os.ErrNotExist) {
		t.Error("a file of the old state survived a forced restore")
	}
	if n := count(t, filepath.Join(target, "d1/db1.sqlite")); n != 3 {
		t.Errorf("%d rows, want 3", n)
	}
}

// A backup taken while a writer commits and checkpoints (as cairn's owners
// do, with the WAL restarting) is a committed state holding every commit
// made before the backup started.
func TestSnapshotWhileWriting(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	state := filepath.Join(root, "w")
	path := filepath.Join(state, "Counter", "obj.sqlite")
	os.MkdirAll(filepath.Dir(path), 0o755)
	db := openDB(t, path)
	defer db.Close()

	var acked atomic.Int64 // rows committed
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 1; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			// Each commit one row and a big value, so checkpoints and WAL
			// restarts come often.
			if _, err := db.Exec("INSERT INTO t (id, v) VALUES (?, ?)", i, bytes.Repeat([]byte{byte(i)}, 3000)); err != nil {
				t.Error(err)
				return
			}
			acked.Store(int64(i))
			// A pause between commits keeps a copy possible on a loaded
			// machine (the WAL restarts every 64 commits).
			time.Sleep(200 * time.Microsecond)
			if i%16 == 0 {
				mode := "PASSIVE"
				if i%64 == 0 {
					mode = "TRUNCATE"
				}
				if _, err := db.Exec("PRAGMA wal_checkpoint(" + mode + ")"); err != nil {
					t.Error(err)
					return
				}
			}
		}
	}()
	deadline := time.Now().Add(3 * time.Second)
	for n := 0; time.Now().Before(deadline) || n < 5; n++ {
		before := acked.Load()
		to := file.New(filepath.Join(root, fmt.Sprintf("b%d", n)))
		// The writer holds no server lock: say so with a Pause.
		if _, err := backup.Snapshot(ctx, backup.SnapshotOptions{Dir: state, Worker: "w", Target: to, Pause: func() func() { return func() {} }}); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(root, fmt.Sprintf("r%d", n), "w")
		if _, err := backup.Restore(ctx, backup.RestoreOptions{Source: to, Dir: out}); err != nil {
			t.Fatal(err)
		}
		rdb, err := sql.Open("sqlite3", "file:"+filepath.Join(out, "Counter", "obj.sqlite"))
		if err != nil {
			t.Fatal(err)
		}
		var res string
		var cnt, maxID int64
		if err := rdb.QueryRow("PRAGMA integrity_check").Scan(&res); err != nil || res != "ok" {
			t.Fatalf("backup %d: integrity_check %v %s", n, err, res)
		}
		if err := rdb.QueryRow("SELECT count(*), coalesce(max(id), 0) FROM t").Scan(&cnt, &maxID); err != nil {
			t.Fatal(err)
		}
		var bad int64
		rdb.QueryRow("SELECT count(*) FROM t WHERE v != zeroblob(0) AND length(v) != 3000").Scan(&bad)
		rdb.Close()
		if cnt != maxID || bad != 0 {
			t.Fatalf("backup %d: %d rows up to id %d: not a committed state", n, cnt, maxID)
		}
		if maxID < before {
			t.Fatalf("backup %d: rows up to %d, but %d were committed before it started", n, maxID, before)
		}
	}
	close(stop)
	wg.Wait()
}

// With a Pause, what changed between the first pass and the pause is in
// the backup: the second pass copies again a database whose WAL grew or
// restarted, a replaced file, a new one, and leaves out a removed one.
func TestSnapshotSecondPass(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	state := filepath.Join(root, "w")
	os.MkdirAll(filepath.Join(state, "A"), 0o755)
	grow := openDB(t, filepath.Join(state, "A", "grow.sqlite"))
	defer grow.Close()
	restart := openDB(t, filepath.Join(state, "A", "restart.sqlite"))
	defer restart.Close()
	idle := openDB(t, filepath.Join(state, "A", "idle.sqlite"))
	for _, db := range []*sql.DB{grow, restart, idle} {
		if _, err := db.Exec("INSERT INTO t (id) VALUES (1)"); err != nil {
			t.Fatal(err)
		}
	}
	idle.Close() // at rest: no WAL
	os.WriteFile(filepath.Join(state, "catalog.json"), []byte("v1"), 0o644)
	os.WriteFile(filepath.Join(state, "gone"), []byte("x"), 0o644)

	paused := false
	pause := func() func() {
		paused = true
		for _, q := range []string{"INSERT INTO t (id) VALUES (2)"} {
			if _, err := grow.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		for _, q := range []string{"INSERT INTO t (id) VALUES (2)", "PRAGMA wal_checkpoint(TRUNCATE)", "INSERT INTO t (id) VALUES (3)"} {
			if _, err := restart.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		os.WriteFile(filepath.Join(state, "catalog.json.tmp"), []byte("v2"), 0o644)
		os.Rename(filepath.Join(state, "catalog.json.tmp"), filepath.Join(state, "catalog.json"))
		os.WriteFile(filepath.Join(state, "new"), []byte("n"), 0o644)
		os.Remove(filepath.Join(state, "gone"))
		return func() {
			// After the cut: not in the backup.
			grow.Exec("INSERT INTO t (id) VALUES (99)")
		}
	}
	to := file.New(filepath.Join(root, "b"))
	m, err := backup.Snapshot(ctx, backup.SnapshotOptions{Dir: state, Worker: "w", Target: to, Pause: pause})
	if err != nil {
		t.Fatal(err)
	}
	if !paused || m.Consistency != backup.ConsistencyCut {
		t.Fatalf("paused %v, consistency %q", paused, m.Consistency)
	}
	out := filepath.Join(root, "r", "w")
	if _, err := backup.Restore(ctx, backup.RestoreOptions{Source: to, Dir: out}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int{"grow": 2, "restart": 3, "idle": 1} {
		if n := count(t, filepath.Join(out, "A", name+".sqlite")); n != want {
			t.Errorf("%s: %d rows, want %d", name, n, want)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(out, "catalog.json")); string(b) != "v2" {
		t.Errorf("catalog.json = %q, want the one replaced before the pause", b)
	}
	if _, err := os.Stat(filepath.Join(out, "new")); err != nil {
		t.Errorf("a file made before the pause is missing: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, "gone")); err == nil {
		t.Error("a file removed before the pause is in the backup")
	}
}

// The server's tar stream: read whole, it is a backup; cut short anywhere
// before its end, what was read has no manifest and is refused.
func TestTarStream(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	state := filepath.Join(root, "state", "w")
	makeState(t, state, 20)
	var buf bytes.Buffer
	tw := backup.NewTarWriter(&buf)
	if _, err := backup.Snapshot(ctx, backup.SnapshotOptions{Dir: state, Worker: "w", Target: tw, Pause: func() func() { return func() {} }}); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	whole := file.New(filepath.Join(root, "whole"))
	if _, err := backup.ReadTar(ctx, bytes.NewReader(buf.Bytes()), whole); err != nil {
		t.Fatal(err)
	}
	if _, err := backup.Verify(ctx, whole); err != nil {
		t.Fatal(err)
	}
	for i, cut := range []int{0, 512, 1024 + 7, buf.Len() / 2, buf.Len() - 2048} {
		part := file.New(filepath.Join(root, fmt.Sprint("part", i)))
		if _, err := backup.ReadTar(ctx, bytes.NewReader(buf.Bytes()[:cut]), part); err == nil {
			t.Errorf("stream cut at %d of %d: no error", cut, buf.Len())
		}
		if _, err := backup.Restore(ctx, backup.RestoreOptions{Source: part, Dir: filepath.Join(root, "r", fmt.Sprint(i))}); !errors.Is(err, backup.ErrNoManifest) {
			t.Errorf("restore of a stream cut at %d: %v, want ErrNoManifest", cut, err)
		}
	}
}

// A stream naming a file outside the state directory is refused.
func TestTarStreamBadPath(t *testing.T) {
	var buf bytes.Buffer
	tw := backup.NewTarWriter(&buf)
	tw.Put(context.Background(), "../evil", strings.NewReader("x"), 1)
	tw.Close()
	dir := t.TempDir()
	if _, err := backup.ReadTar(context.Background(), &buf, file.New(filepath.Join(dir, "b"))); err == nil || !strings.Contains(err.Error(), "not a plain relative path") {
		t.Errorf("ReadTar of ../evil: %v", err)
	}
}
