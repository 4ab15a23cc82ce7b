package d1

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/commit"
)

// historyManager returns a Manager in dir whose databases keep history,
// with the commit log and store a server would give it.
func historyManager(t *testing.T, dir string) (*Manager, func()) {
	t.Helper()
	log := commit.NewLocal(0)
	hs := commit.NewHistories(filepath.Join(dir, "history"), nil)
	log.SetHistories(hs)
	m := NewManager(filepath.Join(dir, "d1"), nil)
	m.Commit, m.Histories = log, hs
	return m, func() {
		if err := m.Close(); err != nil {
			t.Error(err)
		}
		log.Close()
		hs.Close()
	}
}

func rows(t *testing.T, db *DB) string {
	t.Helper()
	r := mustQuery(t, db, "SELECT k, v FROM t ORDER BY k")
	var b strings.Builder
	for _, row := range r.Rows {
		fmt.Fprintf(&b, "%v=%v;", row[0], row[1])
	}
	return b.String()
}

// spec 3.6, 70: a bookmark for a past moment, a restore to it, and the
// previous bookmark undoing the restore; bookmarks of sessions and of Time
// Travel are one ordering.
func TestTimeTravelRestore(t *testing.T) {
	dir := t.TempDir()
	m, done := historyManager(t, dir)
	defer done()
	db, err := m.Open("db1", "db1")
	if err != nil {
		t.Fatal(err)
	}
	mustQuery(t, db, "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")
	mustQuery(t, db, "INSERT INTO t VALUES (1, 'one')")
	b1 := db.Bookmark()
	time.Sleep(5 * time.Millisecond)
	mid := time.Now()
	time.Sleep(5 * time.Millisecond)
	mustQuery(t, db, "INSERT INTO t VALUES (2, 'two')")
	mustQuery(t, db, "DELETE FROM t WHERE k = 1")
	after := rows(t, db)
	if after != "2=two;" {
		t.Fatalf("rows = %s", after)
	}
	got, err := db.BookmarkAt(mid)
	if err != nil {
		t.Fatal(err)
	}
	if got != b1 {
		t.Fatalf("bookmark at %v = %s, want the bookmark after the first insert %s", mid, got, b1)
	}
	if cur, _ := db.BookmarkAt(time.Time{}); cur != db.Bookmark() || cur <= b1 {
		t.Fatalf("current bookmark %s, session bookmark %s, earlier %s: one ordering", cur, db.Bookmark(), b1)
	}
	before := db.Bookmark()
	nb, prev, err := db.Restore(context.Background(), b1)
	if err != nil {
		t.Fatal(err)
	}
	if prev != before || nb <= prev {
		t.Fatalf("restore returned %s (previous %s); the bookmark before was %s", nb, prev, before)
	}
	if got := rows(t, db); got != "1=one;" {
		t.Fatalf("after restore rows = %s, want 1=one;", got)
	}
	if db.Bookmark() != nb {
		t.Fatalf("bookmark after restore %s, restore said %s", db.Bookmark(), nb)
	}
	// Writes continue after the restore, then the restore is undone.
	mustQuery(t, db, "INSERT INTO t VALUES (3, 'three')")
	if _, _, err := db.Restore(context.Background(), prev); err != nil {
		t.Fatal(err)
	}
	if got := rows(t, db); got != after {
		t.Fatalf("after undo rows = %s, want %s", got, after)
	}
	// The sequence survives a restart; the history goes on.
	last := db.Bookmark()
	done()
	m, done = historyManager(t, dir)
	db, err = m.Open("db1", "db1")
	if err != nil {
		t.Fatal(err)
	}
	if db.Bookmark() != last {
		t.Fatalf("bookmark after restart %s, want %s", db.Bookmark(), last)
	}
	mustQuery(t, db, "INSERT INTO t VALUES (4, 'four')")
	if _, _, err := db.Restore(context.Background(), b1); err != nil {
		t.Fatal(err)
	}
	if got := rows(t, db); got != "1=one;" {
		t.Fatalf("restore after restart: rows = %s", got)
	}
}

// Bad input: another database's bookmark, a malformed one, a moment
// outside the window: a clear error and nothing changed.
func TestTimeTravelBadInput(t *testing.T) {
	m, done := historyManager(t, t.TempDir())
	defer done()
	db, err := m.Open("a", "a")
	if err != nil {
		t.Fatal(err)
	}
	other, err := m.Open("b", "b")
	if err != nil {
		t.Fatal(err)
	}
	mustQuery(t, db, "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")
	mustQuery(t, db, "INSERT INTO t VALUES (1, 'x')")
	mustQuery(t, other, "CREATE TABLE z (a)")
	want := rows(t, db)
	bm := db.Bookmark()
	for _, tc := range []struct{ name, bookmark, msg string }{
		{"other database", other.Bookmark(), "not a bookmark of this database"},
		{"malformed", "yesterday", "not a bookmark of this database"},
		{"future", db.bookmark(db.Seq() + 10), "outside the Time Travel window"},
	} {
		_, _, err := db.Restore(context.Background(), tc.bookmark)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: restore(%q) = %v, want an error with %q", tc.name, tc.bookmark, err, tc.msg)
		}
	}
	if _, err := db.BookmarkAt(time.Now().Add(-48 * time.Hour)); err == nil || !strings.Contains(err.Error(), "outside the Time Travel window") {
		t.Errorf("bookmark two days before the database: %v", err)
	}
	if _, err := db.BookmarkAt(time.Now().Add(time.Hour)); err == nil || !strings.Contains(err.Error(), "future") {
		t.Errorf("bookmark in the future: %v", err)
	}
	if got := rows(t, db); got != want || db.Bookmark() != bm {
		t.Fatalf("a failed restore changed the database: %s %s", got, db.Bookmark())
	}
}

// A model check: random batches applied to a model and to a database with
// history, and restores to random past bookmarks, after which every row
// must equal the model's state at that bookmark. TIMETRAVEL_SEED replays
// a run, TIMETRAVEL_N sets its length.
func TestTimeTravelModel(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("TIMETRAVEL_SEED"); s != "" {
		fmt.Sscan(s, &seed)
	}
	n := 120
	if s := os.Getenv("TIMETRAVEL_N"); s != "" {
		fmt.Sscan(s, &n)
	}
	t.Logf("seed %d (TIMETRAVEL_SEED replays)", seed)
	r := rand.New(rand.NewPCG(seed, 16))
	dir := t.TempDir()
	m, done := historyManager(t, dir)
	defer func() { done() }()
	db, _ := m.Open("model", "model")
	mustQuery(t, db, "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")
	model := map[int]string{}
	render := func(m map[int]string) string {
		var b strings.Builder
		for k := range 40 {
			if v, ok := m[k]; ok {
				fmt.Fprintf(&b, "%d=%s;", k, v)
			}
		}
		return b.String()
	}
	states := map[string]string{db.Bookmark(): ""}
	var marks []string
	for i := range n {
		switch x := r.IntN(20); {
		case x == 0 && len(marks) > 0: // restore
			target := marks[r.IntN(len(marks))]
			if _, _, err := db.Restore(context.Background(), target); err != nil {
				t.Fatalf("step %d: restore %s: %v", i, target, err)
			}
			model = map[int]string{}
			for _, kv := range strings.Split(strings.TrimSuffix(states[target], ";"), ";") {
				if kv == "" {
					continue
				}
				var k int
				var v string
				fmt.Sscanf(strings.Replace(kv, "=", " ", 1), "%d %s", &k, &v)
				model[k] = v
			}
		case x == 1: // restart
			done()
			m, done = historyManager(t, dir)
			db, _ = m.Open("model", "model")
		default:
			var stmts []Statement
			for range 1 + r.IntN(3) {
				k := r.IntN(40)
				if r.IntN(3) == 0 {
					stmts = append(stmts, Statement{SQL: "DELETE FROM t WHERE k = ?", Params: []any{k}})
					delete(model, k)
				} else {
					v := strings.Repeat(string(rune('a'+r.IntN(26))), 1+r.IntN(3000))
					stmts = append(stmts, Statement{SQL: "INSERT OR REPLACE INTO t VALUES (?, ?)", Params: []any{k, v}})
					model[k] = v
				}
			}
			if _, _, err := db.Batch(context.Background(), stmts, ""); err != nil {
				t.Fatal(err)
			}
		}
		got := rows(t, db)
		if want := render(model); got != want {
			t.Fatalf("step %d: database differs from the model\n got %.300s\nwant %.300s", i, got, want)
		}
		states[db.Bookmark()] = got
		marks = append(marks, db.Bookmark())
	}
}

// Deleting a database deletes its history: a database made again with
// the same id starts its own, and has no bookmark of the old one.
func TestTimeTravelDeleteRemovesHistory(t *testing.T) {
	dir := t.TempDir()
	m, done := historyManager(t, dir)
	defer done()
	db, err := m.Open("gone", "gone")
	if err != nil {
		t.Fatal(err)
	}
	mustQuery(t, db, "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")
	old := db.Bookmark()
	if err := m.Delete("gone"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "history", "d1", "gone")); !os.IsNotExist(err) {
		t.Fatalf("history of a deleted database: %v", err)
	}
	db, err = m.Open("gone", "gone")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.Restore(context.Background(), old); err == nil {
		t.Fatal("restored a new database to a bookmark of the deleted one")
	}
}
