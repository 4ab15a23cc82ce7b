package versions

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

func TestAddListGet(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	v1, err := s.Add(Version{Message: "first", Source: "test"}, map[string][]byte{"worker.js": []byte("one"), "config.json": []byte("{}")})
	if err != nil {
		t.Fatal(err)
	}
	v2, err := s.Add(Version{Message: "second"}, map[string][]byte{"worker.js": []byte("two")})
	if err != nil {
		t.Fatal(err)
	}
	if v1.Number != 1 || v2.Number != 2 || v1.ID == v2.ID {
		t.Fatalf("numbers/ids: %+v %+v", v1, v2)
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(v1.ID) {
		t.Fatalf("id %q is not a v4 UUID", v1.ID)
	}
	if got := v1.Files; len(got) != 2 || got[0] != "config.json" || got[1] != "worker.js" {
		t.Fatalf("files = %v", got)
	}
	list, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != v2.ID || list[1].ID != v1.ID {
		t.Fatalf("list (newest first) = %+v", list)
	}
	got, err := s.Get(v1.ID)
	if err != nil || got.Message != "first" || got.Source != "test" || !got.Created.Equal(v1.Created) {
		t.Fatalf("get = %+v, %v", got, err)
	}
	b, err := s.ReadFile(v2.ID, "worker.js")
	if err != nil || string(b) != "two" {
		t.Fatalf("read = %q, %v", b, err)
	}
}

func TestNotFoundAndBadNames(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.Add(Version{}, map[string][]byte{"worker.js": nil})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{NewID(), "../etc", "", "not-a-uuid"} {
		if _, err := s.Get(id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%q) = %v, want ErrNotFound", id, err)
		}
		if _, err := s.ReadFile(id, "worker.js"); !errors.Is(err, ErrNotFound) {
			t.Errorf("ReadFile(%q) = %v, want ErrNotFound", id, err)
		}
	}
	for _, name := range []string{"", ".", "..", "../x", "a/../../x", "/abs", "a//b", "a/./b", `a\b`, "a\x00b", "version.json"} {
		if _, err := s.Add(Version{}, map[string][]byte{name: nil}); !errors.Is(err, ErrBadFileName) {
			t.Errorf("Add(file %q) = %v, want ErrBadFileName", name, err)
		}
		if _, err := s.ReadFile(v.ID, name); !errors.Is(err, ErrBadFileName) {
			t.Errorf("ReadFile(%q) = %v, want ErrBadFileName", name, err)
		}
	}
	if list, _ := s.List(); len(list) != 1 {
		t.Fatalf("refused adds left versions behind: %+v", list)
	}
}

func TestDeployments(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Active(); !errors.Is(err, ErrNoDeployment) {
		t.Fatalf("Active on empty store = %v, want ErrNoDeployment", err)
	}
	if _, err := s.Deploy(Deployment{Versions: []Split{{VersionID: NewID(), Percentage: 100}}}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deploy of unknown version = %v, want ErrNotFound", err)
	}
	v1, _ := s.Add(Version{}, map[string][]byte{"worker.js": nil})
	v2, _ := s.Add(Version{}, map[string][]byte{"worker.js": nil})
	for _, v := range []Version{v1, v2, v1} {
		if _, err := s.Deploy(Deployment{Message: v.ID, Versions: []Split{{VersionID: v.ID, Percentage: 100}}}); err != nil {
			t.Fatal(err)
		}
	}
	// A new Store on the same directory (a restart) sees the same history.
	s2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	active, err := s2.Active()
	if err != nil || active.Versions[0].VersionID != v1.ID {
		t.Fatalf("active = %+v, %v; want version %s", active, err, v1.ID)
	}
	all, err := s2.Deployments()
	if err != nil || len(all) != 3 || all[0].ID != active.ID || all[1].Versions[0].VersionID != v2.ID {
		t.Fatalf("deployments = %+v, %v", all, err)
	}
}

// An upload interrupted by a crash leaves a temporary directory that Open
// removes; it never shows as a version.
func TestOpenRemovesUnfinished(t *testing.T) {
	dir := t.TempDir()
	tmp := filepath.Join(dir, tmpPrefix+NewID())
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(tmp, "worker.js"), []byte("half"), 0o644)
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("unfinished upload still there: %v", err)
	}
	if list, err := s.List(); err != nil || len(list) != 0 {
		t.Fatalf("list = %+v, %v", list, err)
	}
}

// A version holds a tree of files (its static assets); a version that
// failed to load is removed, one that was deployed is kept.
func TestNestedFilesAndRemove(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.Add(Version{}, map[string][]byte{"worker.js": []byte("w"), "assets/index.html": []byte("<p>"), "assets/css/a.css": []byte("a"), "assets/.assetsignore": []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(s.VersionDir(v.ID), "assets", "css", "a.css")); err != nil || string(b) != "a" {
		t.Fatalf("nested file: %q, %v", b, err)
	}
	if b, err := s.ReadFile(v.ID, "assets/index.html"); err != nil || string(b) != "<p>" {
		t.Fatalf("ReadFile nested: %q, %v", b, err)
	}
	if err := s.Remove(v.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(v.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("removed version still there: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("Remove left %v", entries)
	}
	kept, _ := s.Add(Version{}, map[string][]byte{"worker.js": nil})
	if _, err := s.Deploy(Deployment{Versions: []Split{{VersionID: kept.ID, Percentage: 100}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(kept.ID); err == nil {
		t.Fatal("removed a deployed version")
	}
}
