package objects

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cairn-dev/cairn/config"
)

func openCatalog(t *testing.T, dir string) *Catalog {
	t.Helper()
	c, err := OpenCatalog(dir)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func class(t *testing.T, c *Catalog, name string) (*Namespace, string) {
	t.Helper()
	ns, dir, err := c.Class(name)
	if err != nil {
		t.Fatal(err)
	}
	return ns, dir
}

func TestCatalogMigrations(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "counter") // OpenCatalog creates it
	c := openCatalog(t, dir)
	v1 := config.Migration{Tag: "v1", NewSQLiteClasses: []string{"Counter", "Old"}}
	if err := c.Apply([]config.Migration{v1}); err != nil {
		t.Fatal(err)
	}
	ns, store := class(t, c, "Counter")
	if !filepath.IsAbs(store) || !strings.HasPrefix(store, dir) {
		t.Errorf("storage dir %s is not absolute and under %s", store, dir)
	}
	id := ns.IDFromName("x")
	data := filepath.Join(store, id.String()+".sqlite")
	if err := os.MkdirAll(store, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(data, []byte("rows"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, oldStore := class(t, c, "Old")
	if oldStore == store {
		t.Fatal("two classes share a storage dir")
	}
	if err := os.MkdirAll(oldStore, 0o755); err != nil {
		t.Fatal(err)
	}

	// Rename keeps secret and storage; delete removes the storage.
	v2 := config.Migration{
		Tag:            "v2",
		RenamedClasses: []config.RenamedClass{{From: "Counter", To: "Tally"}},
		DeletedClasses: []string{"Old"},
	}
	if err := c.Apply([]config.Migration{v1, v2}); err != nil {
		t.Fatal(err)
	}
	ns2, store2 := class(t, c, "Tally")
	if ns2.IDFromName("x") != id || store2 != store {
		t.Error("rename changed the ids or the storage dir")
	}
	if _, err := ns2.ParseID(id.String()); err != nil {
		t.Errorf("an id minted before the rename: %v", err)
	}
	if _, err := os.Stat(data); err != nil {
		t.Errorf("data lost in the rename: %v", err)
	}
	if _, err := os.Stat(oldStore); !os.IsNotExist(err) {
		t.Errorf("deleted class storage still there: %v", err)
	}

	// Reapplying is a no-op that does not even rewrite the file.
	before, _ := os.ReadFile(filepath.Join(dir, "catalog.json"))
	if err := c.Apply([]config.Migration{v1, v2}); err != nil {
		t.Errorf("reapply: %v", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "catalog.json"))
	if !bytes.Equal(before, after) {
		t.Error("reapplying changed catalog.json")
	}

	// Reopening remembers everything.
	c2 := openCatalog(t, dir)
	if got := c2.Applied(); !slices.Equal(got, []string{"v1", "v2"}) {
		t.Errorf("Applied = %v, want [v1 v2]", got)
	}
	if err := c2.Apply([]config.Migration{v1, v2}); err != nil {
		t.Errorf("reapply after reopening: %v", err)
	}
	ns3, store3 := class(t, c2, "Tally")
	if ns3.IDFromName("x") != id || store3 != store {
		t.Error("ids or storage dir changed after reopening")
	}
	if _, err := ns3.ParseID(id.String()); err != nil {
		t.Errorf("ParseID after reopening: %v", err)
	}

	// A class deleted and declared again starts afresh.
	v3 := config.Migration{Tag: "v3", NewClasses: []string{"Old"}}
	if err := c2.Apply([]config.Migration{v1, v2, v3}); err != nil {
		t.Fatal(err)
	}
	_, newOld := class(t, c2, "Old")
	if newOld == oldStore {
		t.Error("a recreated class reuses the deleted class's storage dir")
	}
}

func TestCatalogErrors(t *testing.T) {
	tests := []struct {
		name string
		ms   []config.Migration
		want string
	}{
		{
			"new twice",
			[]config.Migration{{Tag: "a", NewClasses: []string{"X"}}, {Tag: "b", NewSQLiteClasses: []string{"X"}}},
			`migration "b": cannot create class "X": it already exists`,
		},
		{
			"rename missing",
			[]config.Migration{{Tag: "a", RenamedClasses: []config.RenamedClass{{From: "X", To: "Y"}}}},
			`migration "a": cannot rename class "X": it does not exist`,
		},
		{
			"rename onto existing",
			[]config.Migration{{Tag: "a", NewClasses: []string{"X", "Y"}}, {Tag: "b", RenamedClasses: []config.RenamedClass{{From: "X", To: "Y"}}}},
			`migration "b": cannot rename class "X" to "Y": "Y" already exists`,
		},
		{
			"delete missing",
			[]config.Migration{{Tag: "a", DeletedClasses: []string{"X"}}},
			`migration "a": cannot delete class "X": it does not exist`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			c := openCatalog(t, dir)
			err := c.Apply(tt.ms)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Apply err = %v, want %q", err, tt.want)
			}
			// A failed Apply changes nothing, in memory or on disk.
			if got := c.Applied(); len(got) != 0 {
				t.Errorf("Applied after a failed Apply = %v", got)
			}
			if _, err := os.Stat(filepath.Join(dir, "catalog.json")); !os.IsNotExist(err) {
				t.Errorf("a failed Apply wrote catalog.json: %v", err)
			}
		})
	}
}

func TestCatalogFailedApplyKeepsState(t *testing.T) {
	dir := t.TempDir()
	c := openCatalog(t, dir)
	v1 := config.Migration{Tag: "v1", NewSQLiteClasses: []string{"A"}}
	if err := c.Apply([]config.Migration{v1}); err != nil {
		t.Fatal(err)
	}
	ns, store := class(t, c, "A")
	// v2 renames A, then fails on its deletion: the rename must not stick.
	bad := config.Migration{Tag: "v2", RenamedClasses: []config.RenamedClass{{From: "A", To: "B"}}, DeletedClasses: []string{"Nope"}}
	if err := c.Apply([]config.Migration{v1, bad}); err == nil {
		t.Fatal("Apply succeeded")
	}
	ns2, store2 := class(t, c, "A")
	if ns2.IDFromName("n") != ns.IDFromName("n") || store2 != store {
		t.Error("a failed Apply changed class A")
	}
	if got := c.Applied(); !slices.Equal(got, []string{"v1"}) {
		t.Errorf("Applied = %v, want [v1]", got)
	}
}

func TestCatalogRelativeDir(t *testing.T) {
	t.Chdir(t.TempDir())
	c := openCatalog(t, filepath.Join("state", "w"))
	_, store := class(t, c, "A")
	if !filepath.IsAbs(store) {
		t.Errorf("storage dir %s is not absolute", store)
	}
}

func TestCatalogUndeclaredClass(t *testing.T) {
	dir := t.TempDir()
	c := openCatalog(t, dir)
	ns, store := class(t, c, "Adhoc")
	if !strings.HasPrefix(store, filepath.Join(dir, "do")+string(filepath.Separator)) {
		t.Errorf("storage dir %s not under %s/do", store, dir)
	}
	c2 := openCatalog(t, dir)
	ns2, store2 := class(t, c2, "Adhoc")
	if ns.IDFromName("n") != ns2.IDFromName("n") || store2 != store {
		t.Error("undeclared class changed after reopening")
	}

	// Declaring it later (the project gains a migrations block) adopts it:
	// same ids, same data.
	v1 := config.Migration{Tag: "v1", NewSQLiteClasses: []string{"Adhoc"}}
	if err := c2.Apply([]config.Migration{v1}); err != nil {
		t.Fatal(err)
	}
	ns3, store3 := class(t, c2, "Adhoc")
	if ns3.IDFromName("n") != ns.IDFromName("n") || store3 != store {
		t.Error("declaring a class used before changed its ids or storage dir")
	}
	// Once declared, declaring it again is an error as usual.
	v2 := config.Migration{Tag: "v2", NewSQLiteClasses: []string{"Adhoc"}}
	if err := c2.Apply([]config.Migration{v1, v2}); err == nil {
		t.Error("declaring a class twice succeeded")
	}
}

// A data directory whose catalog vanished but whose objects remain is
// refused: starting afresh would give every object a new id (issue 17).
func TestCatalogMissingWithObjects(t *testing.T) {
	dir := t.TempDir()
	c := openCatalog(t, dir)
	_, store := class(t, c, "Counter")
	// A class directory with no objects yet is no reason to refuse.
	if err := os.MkdirAll(store, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "catalog.json")); err != nil {
		t.Fatal(err)
	}
	openCatalog(t, dir)
	if err := os.Remove(filepath.Join(dir, "catalog.json")); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(store, "0123.sqlite"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := OpenCatalog(dir)
	if !errors.Is(err, ErrCatalogMissing) || !strings.Contains(err.Error(), "1 object files") {
		t.Fatalf("OpenCatalog = %v, want ErrCatalogMissing", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "catalog.json")); !os.IsNotExist(err) {
		t.Errorf("the refused open wrote a catalog: %v", err)
	}
}

// A deploy plans the new version's migrations, and commits them only once
// the version loaded: until Commit nothing changes on disk or in memory, a
// bad migration fails at Plan, and a deleted class's storage stays until
// RemoveDeleted.
func TestCatalogPlan(t *testing.T) {
	dir := t.TempDir()
	c := openCatalog(t, dir)
	if err := c.Apply([]config.Migration{{Tag: "v1", NewSQLiteClasses: []string{"A", "B"}}}); err != nil {
		t.Fatal(err)
	}
	_, bDir, err := c.Class("B")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(bDir, 0o755); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "catalog.json"))

	if _, err := c.Plan([]config.Migration{{Tag: "v2", RenamedClasses: []config.RenamedClass{{From: "Nope", To: "C"}}}}); err == nil ||
		!strings.Contains(err.Error(), `cannot rename class "Nope"`) {
		t.Fatalf("plan of a bad rename = %v", err)
	}
	p, err := c.Plan([]config.Migration{{Tag: "v2", RenamedClasses: []config.RenamedClass{{From: "A", To: "C"}}, DeletedClasses: []string{"B"}}})
	if err != nil {
		t.Fatal(err)
	}
	// Staged: the new version loads against class C (A's data) and a class
	// it uses without a migration, none of it saved.
	_, cDir, err := c.Class("C")
	if err != nil {
		t.Fatal(err)
	}
	if _, aDir, _ := openCatalog(t, dir).Class("A"); aDir != cDir {
		t.Fatalf("staged C has storage %s, want A's %s", cDir, aDir)
	}
	if _, _, err := c.Class("Undeclared"); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "catalog.json"))
	if !bytes.Equal(before, after) || slices.Contains(c.Applied(), "v2") {
		t.Fatal("Plan changed the catalog")
	}
	p.Discard()
	if err := p.Commit(); err == nil {
		t.Fatal("commit of a discarded plan succeeded")
	}
	after, _ = os.ReadFile(filepath.Join(dir, "catalog.json"))
	if !bytes.Equal(before, after) {
		t.Fatal("a discarded plan changed the catalog")
	}
	p, err = c.Plan([]config.Migration{{Tag: "v2", RenamedClasses: []config.RenamedClass{{From: "A", To: "C"}}, DeletedClasses: []string{"B"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Commit(); err != nil {
		t.Fatal(err)
	}
	if reopened := openCatalog(t, dir); !slices.Equal(reopened.Applied(), []string{"v1", "v2"}) {
		t.Fatalf("applied after commit = %v", reopened.Applied())
	}
	if _, err := os.Stat(bDir); err != nil {
		t.Fatalf("deleted class's storage removed before RemoveDeleted: %v", err)
	}
	if err := p.RemoveDeleted(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bDir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("deleted class's storage still there: %v", err)
	}
}
