package d1

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-dev/cairn/commit"
)

// nosyncLog acknowledges without syncing: the database's Shared never
// learns the WAL's size.
type nosyncLog struct{}

func (nosyncLog) Submit(f commit.Syncer, done func(error)) { done(nil) }
func (nosyncLog) Close() error                             { return nil }

// With a commit log the database checkpoints its WAL itself (to see the
// errors, see commit.Shared): SQLite's automatic checkpoint is off, and the
// database's own runs once a sync saw the WAL past commit.CheckpointBytes.
func TestOwnCheckpoints(t *testing.T) {
	for _, c := range []struct {
		name         string
		log          commit.Log
		checkpointed bool
	}{
		{"synced", commit.NewLocal(0), true},
		{"never synced", nosyncLog{}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer c.log.Close()
			path := filepath.Join(t.TempDir(), "db.sqlite")
			db, err := Open(path, "uuid", Options{Commit: c.log})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			ctx := context.Background()
			if _, _, err := db.Batch(ctx, []Statement{{SQL: "CREATE TABLE t (v)"}}, ""); err != nil {
				t.Fatal(err)
			}
			value := strings.Repeat("x", 64<<10)
			for range 100 { // 6.4 MB
				if _, _, err := db.Batch(ctx, []Statement{{SQL: "INSERT INTO t VALUES (?)", Params: []any{value}}}, ""); err != nil {
					t.Fatal(err)
				}
			}
			info, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := info.Size() > 1<<20; got != c.checkpointed {
				t.Fatalf("database file %d bytes: checkpointed = %v, want %v", info.Size(), got, c.checkpointed)
			}
		})
	}
}

// Record keeps no record (commit.Log).
func (nosyncLog) Record(commit.Syncer, *commit.Record) error { return nil }
