package server

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// With history off, an existing history is set aside (renamed), not left
// to describe files written without records.
func TestSetAsideHistory(t *testing.T) {
	persist := t.TempDir()
	dir := HistoryDir(persist, "w")
	if err := os.MkdirAll(filepath.Join(dir, "d1", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := setAsideHistory(persist, "w", slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("history still in place: %v", err)
	}
	ents, _ := os.ReadDir(filepath.Join(persist, "w"))
	if len(ents) != 1 || !strings.HasPrefix(ents[0].Name(), "history.off-") {
		t.Fatalf("entries %v, want one history.off-*", ents)
	}
	// Nothing to set aside: no error.
	if err := setAsideHistory(persist, "w", slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
}
