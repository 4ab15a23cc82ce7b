//go:build crash || powerloss

package e2e

import (
	"database/sql"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/cairn-dev/cairn/commit"
	_ "github.com/mattn/go-sqlite3"
)

// checkHistories kills d (quiet: every write checked, none in flight) and
// compares every database under state with its history's latest state
// (commit.History.Build): after a crash the server reconciled them when it
// opened each database (commit.History.Reconcile), and the check before
// opened them all. It returns how many it compared.
func checkHistories(t *testing.T, d *devServer, state string, round int) int {
	t.Helper()
	_ = d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.done
	dbs := map[string]string{} // id → database file
	var hists []string
	err := filepath.WalkDir(state, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case e.IsDir() && strings.Contains(p, string(filepath.Separator)+"history"+string(filepath.Separator)):
			if segs, _ := filepath.Glob(filepath.Join(p, "seg-*.log")); len(segs) > 0 {
				hists = append(hists, p)
			}
		case !e.IsDir() && strings.HasSuffix(p, ".sqlite") && !strings.Contains(p, string(filepath.Separator)+"history"+string(filepath.Separator)):
			dbs[strings.TrimSuffix(filepath.Base(p), ".sqlite")] = p
		}
		return nil
	})
	if err != nil {
		t.Fatalf("round %d: %v", round, err)
	}
	tmp := t.TempDir()
	compared := 0
	for _, dir := range hists {
		id := filepath.Base(dir)
		db, ok := dbs[id]
		if !ok {
			continue // deleted, or never written
		}
		h, err := commit.OpenHistory(dir, id, commit.HistoryOptions{})
		if err != nil {
			t.Fatalf("round %d: history %s: %v", round, dir, err)
		}
		last := h.Last()
		built := filepath.Join(tmp, fmt.Sprintf("built-%d-%s.db", round, id))
		if err := h.Build(last.Seq, built); err != nil {
			t.Fatalf("round %d: history %s: build %d: %v", round, dir, last.Seq, err)
		}
		h.Close()
		// The database as SQLite sees it: the file and its WAL, copied so
		// that opening them changes nothing in the state directory.
		cp := filepath.Join(tmp, fmt.Sprintf("db-%d-%s.db", round, id))
		for _, suffix := range []string{"", "-wal"} {
			b, err := os.ReadFile(db + suffix)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			if err == nil {
				if err := os.WriteFile(cp+suffix, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		got, want := dumpSQLite(t, cp), dumpSQLite(t, built)
		if got != want {
			t.Fatalf("round %d: %s differs from its history's latest state (record %d)\ndatabase: %.300s\nhistory:  %.300s", round, db, last.Seq, got, want)
		}
		compared++
	}
	if compared == 0 {
		t.Fatalf("round %d: no database with a history found under %s", round, state)
	}
	return compared
}

// dumpSQLite returns every row of every table of the database at path.
func dumpSQLite(t *testing.T, path string) string {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var tables []string
	rows, err := db.Query("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	var b strings.Builder
	for _, tb := range tables {
		rows, err := db.Query(`SELECT * FROM "` + tb + `"`)
		if err != nil {
			t.Fatalf("%s: %s: %v", path, tb, err)
		}
		cols, _ := rows.Columns()
		var lines []string
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, fmt.Sprintf("%v", vals))
		}
		rows.Close()
		slices.Sort(lines)
		fmt.Fprintf(&b, "%s(%d): %s\n", tb, len(lines), strings.Join(lines, " "))
	}
	return b.String()
}
