package objects

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cairn-dev/cairn/config"
)

func TestCatalogMigrations(t *testing.T) {
	dir := t.TempDir()
	c, err := OpenCatalog(dir)
	if err != nil {
		t.Fatal(err)
	}
	v1 := config.Migration{Tag: "v1", NewSQLiteClasses: []string{"Counter", "Old"}}
	if err := c.Apply([]config.Migration{v1}); err != nil {
		t.Fatal(err)
	}
	ns, store, err := c.Class("Counter")
	if err != nil {
		t.Fatal(err)
	}
	id := ns.IDFromName("x")
	_, oldStore, _ := c.Class("Old")
	if err := os.MkdirAll(oldStore, 0o755); err != nil {
		t.Fatal(err)
	}

	// Rename keeps secret and storage; delete removes the storage.
	v2 := config.Migration{Tag: "v2", RenamedClasses: []config.RenamedClass{{From: "Counter", To: "Tally"}}, DeletedClasses: []string{"Old"}}
	if err := c.Apply([]config.Migration{v1, v2}); err != nil {
		t.Fatal(err)
	}
	ns2, store2, err := c.Class("Tally")
	if err != nil {
		t.Fatal(err)
	}
	if ns2.IDFromName("x") != id || store2 != store {
		t.Error("rename changed the ids or the storage dir")
	}
	if _, err := os.Stat(oldStore); !os.IsNotExist(err) {
		t.Errorf("deleted class storage still there: %v", err)
	}

	// Reopening remembers everything; reapplying is a no-op.
	c2, err := OpenCatalog(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := c2.Applied(); !slices.Equal(got, []string{"v1", "v2"}) {
		t.Errorf("Applied = %v", got)
	}
	if err := c2.Apply([]config.Migration{v1, v2}); err != nil {
		t.Errorf("reapply: %v", err)
	}
	ns3, _, _ := c2.Class("Tally")
	if ns3.IDFromName("x") != id {
		t.Error("ids changed after reopening")
	}
	if _, err := ns3.ParseID(id.String()); err != nil {
		t.Errorf("ParseID after reopening: %v", err)
	}
}

func TestCatalogErrors(t *testing.T) {
	tests := []struct {
		name string
		ms   []config.Migration
		want string
	}{
		{"new twice", []config.Migration{{Tag: "a", NewClasses: []string{"X"}}, {Tag: "b", NewSQLiteClasses: []string{"X"}}}, `migration "b": cannot create class "X"`},
		{"rename missing", []config.Migration{{Tag: "a", RenamedClasses: []config.RenamedClass{{From: "X", To: "Y"}}}}, `migration "a": cannot rename class "X"`},
		{"rename onto existing", []config.Migration{{Tag: "a", NewClasses: []string{"X", "Y"}}, {Tag: "b", RenamedClasses: []config.RenamedClass{{From: "X", To: "Y"}}}}, `"Y" already exists`},
		{"delete missing", []config.Migration{{Tag: "a", DeletedClasses: []string{"X"}}}, `migration "a": cannot delete class "X"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := OpenCatalog(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Apply(tt.ms); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Apply err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestCatalogUndeclaredClass(t *testing.T) {
	dir := t.TempDir()
	c, _ := OpenCatalog(dir)
	ns, store, err := c.Class("Adhoc")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(store, filepath.Join(dir, "do")) {
		t.Errorf("storage dir %s not under %s/do", store, dir)
	}
	c2, _ := OpenCatalog(dir)
	ns2, _, _ := c2.Class("Adhoc")
	if ns.IDFromName("n") != ns2.IDFromName("n") {
		t.Error("undeclared class got a new secret after reopening")
	}
}
