package kv

import (
	"context"
	"errors"
	"os"
	"testing"
)

func TestCatalog(t *testing.T) {
	persist := t.TempDir()
	c := NewCatalog(persist, "w")
	if list, err := c.List(); err != nil || len(list) != 0 {
		t.Fatalf("empty catalog: %v %v", list, err)
	}
	// A bound namespace has a file and no title.
	bound, _ := Path(persist, "w", "bound")
	ns, err := Open(bound, Options{SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	ns.Close()
	made, err := c.Create("made")
	if err != nil || len(made.ID) != 32 || made.Title != "made" {
		t.Fatalf("Create = %+v, %v", made, err)
	}
	if _, err := c.Create("made"); !errors.Is(err, ErrTitleExists) {
		t.Errorf("duplicate Create: %v", err)
	}
	list, err := c.List()
	if err != nil || len(list) != 2 {
		t.Fatalf("List = %+v, %v", list, err)
	}
	for _, ns := range list {
		if (ns.ID == "bound" && ns.Title != "") || (ns.ID == made.ID && ns.Title != "made") {
			t.Errorf("listed %+v", ns)
		}
	}
	if err := c.Rename("bound", "made"); !errors.Is(err, ErrTitleExists) {
		t.Errorf("Rename to a taken title: %v", err)
	}
	if err := c.Rename("bound", "renamed"); err != nil {
		t.Fatal(err)
	}
	if ns, err := NewCatalog(persist, "w").Get("bound"); err != nil || ns.Title != "renamed" {
		t.Errorf("title after reopening the catalog = %+v, %v", ns, err)
	}
	if err := c.Rename("nope", "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Rename unknown: %v", err)
	}
	// Use opens the file; Delete removes it and its title.
	err = c.Use(made.ID, func(info NamespaceInfo, path string) error {
		ns, err := Open(path, Options{SweepInterval: -1})
		if err != nil {
			return err
		}
		defer ns.Close()
		return ns.Put(context.Background(), "k", []byte("v"), PutOptions{})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(made.ID); err != nil {
		t.Fatal(err)
	}
	path, _ := c.Path(made.ID)
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("file after Delete: %v", err)
	}
	if err := c.Use(made.ID, func(NamespaceInfo, string) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Errorf("Use after Delete: %v", err)
	}
	if err := c.Delete(made.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Delete: %v", err)
	}
	if _, err := c.Path("../x"); !errors.Is(err, ErrNamespaceID) {
		t.Errorf("Path(../x): %v", err)
	}
}
