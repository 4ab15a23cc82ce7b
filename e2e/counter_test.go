package e2e

import (
	"os"
	"path/filepath"
	"testing"
)

// copyDir copies the files of src (no subdirectory named .cairn) into a new temp dir.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(path string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if e.IsDir() {
			if e.Name() == ".cairn" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// The example from the README: SQL and KV counters per object, persisted
// across a restart, state in .cairn/state by default.
func TestCounterExample(t *testing.T) {
	dir := copyDir(t, "../examples/counter")
	state := filepath.Join(dir, ".cairn", "state")
	d := startDev(t, dir, state)

	d.expect("GET", "/ok", 200, "ok")
	d.expect("GET", "/counter/alice/sql", 200, `{"value":0}`)
	for _, want := range []string{`{"value":1}`, `{"value":2}`, `{"value":3}`} {
		d.expect("POST", "/counter/alice/sql/increment", 200, want)
	}
	d.expect("POST", "/counter/alice/kv/increment", 200, `{"value":1}`)
	d.expect("POST", "/counter/bob/sql/increment", 200, `{"value":1}`)
	d.expect("GET", "/nope", 404, "not found")
	d.Stop()

	d = startDev(t, dir, state)
	d.expect("GET", "/counter/alice/sql", 200, `{"value":3}`)
	d.expect("GET", "/counter/alice/kv", 200, `{"value":1}`)
	d.expect("POST", "/counter/alice/sql/increment", 200, `{"value":4}`)
	d.expect("GET", "/counter/bob/sql", 200, `{"value":1}`)
}
