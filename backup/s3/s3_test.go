package s3_test

import (
	"context"
	"database/sql"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	_ "github.com/mattn/go-sqlite3"

	"github.com/cairn-dev/cairn/backup"
	"github.com/cairn-dev/cairn/backup/s3"
)

// fakeS3 starts an S3-compatible server in the test with one bucket.
func fakeS3(t *testing.T, bucket string) string {
	t.Helper()
	be := s3mem.New()
	if err := be.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(be).Server())
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestS3RoundTrip(t *testing.T) {
	ctx := context.Background()
	endpoint := fakeS3(t, "backups")
	state := filepath.Join(t.TempDir(), "w")
	os.MkdirAll(filepath.Join(state, "d1"), 0o755)
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(state, "d1", "x.sqlite")+"?_journal_mode=WAL")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE t (v); INSERT INTO t VALUES (1), (2), (3)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	os.WriteFile(filepath.Join(state, "catalog.json"), []byte("{}"), 0o644)

	cfg, err := s3.ParseURL("s3://backups/cairn/one")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Endpoint, cfg.AccessKey, cfg.SecretKey, cfg.Region = endpoint, "key", "secret", "us-east-1"
	target, err := s3.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := backup.Restore(ctx, backup.RestoreOptions{Source: target, Dir: filepath.Join(t.TempDir(), "w")}); !errors.Is(err, backup.ErrNoManifest) {
		t.Fatalf("restore from an empty prefix: %v, want ErrNoManifest", err)
	}
	m, err := backup.Snapshot(ctx, backup.SnapshotOptions{Dir: state, Worker: "w", Target: target})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Files) != 2 {
		t.Errorf("files %+v", m.Files)
	}
	if _, err := backup.Verify(ctx, target); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "w")
	if _, err := backup.Restore(ctx, backup.RestoreOptions{Source: target, Dir: out, Worker: "w"}); err != nil {
		t.Fatal(err)
	}
	rdb, _ := sql.Open("sqlite3", "file:"+filepath.Join(out, "d1", "x.sqlite"))
	defer rdb.Close()
	var n int
	if err := rdb.QueryRow("SELECT sum(v) FROM t").Scan(&n); err != nil || n != 6 {
		t.Errorf("restored sum %d, %v; want 6", n, err)
	}
	// An object replaced under the manifest is refused.
	if err := target.Put(ctx, "catalog.json", stringsReader("{\"x\":1}"), 7); err != nil {
		t.Fatal(err)
	}
	if _, err := backup.Verify(ctx, target); !errors.Is(err, backup.ErrChecksum) {
		t.Errorf("verify of a changed object: %v, want ErrChecksum", err)
	}
	if _, err := target.Get(ctx, "nope"); !errors.Is(err, backup.ErrNotFound) {
		t.Errorf("get of a missing object: %v, want ErrNotFound", err)
	}
}

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		in             string
		bucket, prefix string
		ok             bool
	}{
		{"s3://b/p/q", "b", "p/q", true},
		{"s3://b", "b", "", true},
		{"s3://b/p/", "b", "p", true},
		{"s3:///p", "", "", false},
		{"http://b/p", "", "", false},
		{"b/p", "", "", false},
	} {
		c, err := s3.ParseURL(tc.in)
		if (err == nil) != tc.ok || c.Bucket != tc.bucket || c.Prefix != tc.prefix {
			t.Errorf("ParseURL(%q) = %+v, %v", tc.in, c, err)
		}
	}
}
