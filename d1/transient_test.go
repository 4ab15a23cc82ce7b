package d1

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/cairn-dev/cairn/commit"
	"github.com/cairn-dev/cairn/internal/gatesim"
)

// A transient sync fault fails the calls that needed that sync, and only
// those: once it clears, the database works again without a restart
// (issue 17).
func TestTransientSyncFault(t *testing.T) {
	log := gatesim.NewHeldLog()
	defer log.Close()
	db, err := Open(filepath.Join(t.TempDir(), "db.sqlite"), "test-uuid", Options{Commit: log})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	query := func(sql string) (Result, error) {
		r, _, err := db.Query(ctx, Statement{SQL: sql}, "")
		return r, err
	}
	if _, err := query("CREATE TABLE t (a)"); err != nil {
		t.Fatal(err)
	}
	log.FailNext(2, fmt.Errorf("%w: open db.sqlite-wal: permission denied", commit.ErrSyncNotAttempted))
	if _, err := query("INSERT INTO t VALUES (1)"); err == nil {
		t.Fatal("insert succeeded while syncs fail")
	}
	if _, err := query("SELECT count(*) AS n FROM t"); err == nil {
		t.Fatal("a read that may see a write not durable succeeded while syncs fail")
	}
	// The fault has cleared.
	if _, err := query("INSERT INTO t VALUES (2)"); err != nil {
		t.Fatalf("insert after the fault: %v", err)
	}
	r, err := query("SELECT count(*) AS n FROM t")
	if err != nil {
		t.Fatalf("select after the fault: %v", err)
	}
	if n := r.Rows[0][0]; n != int64(2) {
		t.Fatalf("count = %v (%T), want 2", n, n)
	}
}
