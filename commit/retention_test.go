package commit

import (
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"
)

// fillHistory gives h a base and one record an hour for the last n hours
// before now, one page each (small segments: each seals after a record or
// two), and waits for the background compactions.
func fillHistory(t *testing.T, h *History, now time.Time, n int) {
	t.Helper()
	if err := h.SaveBase(filepath.Join(t.TempDir(), "none.db"), 0, now.Add(-time.Duration(n+1)*time.Hour)); err != nil {
		t.Fatal(err)
	}
	// Random pages: records are compressed, and a page of zeros would
	// keep every record in one segment.
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := 1; i <= n; i++ {
		page := make([]byte, 4096)
		for j := range page {
			page[j] = byte(rnd.Uint32())
		}
		rec := &Record{Kind: KindCommit, DB: h.Name(), Seq: uint64(i), Time: now.Add(-time.Duration(n-i)*time.Hour - time.Minute),
			PageSize: 4096, DBSize: 1, Frames: []Frame{{Pgno: 1, Data: page}}}
		if err := h.Append(rec); err != nil {
			t.Fatal(err)
		}
		if err := h.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.Close(); err != nil { // waits for background compactions
		t.Fatal(err)
	}
}

// kept returns how far back h can still build a state: record i of
// fillHistory is n-i hours old.
func kept(t *testing.T, h *History, n int) time.Duration {
	t.Helper()
	oldest, _, ok := h.Window()
	if !ok {
		t.Fatal("no window")
	}
	if oldest == 0 {
		return time.Duration(n+1) * time.Hour // the base
	}
	return time.Duration(n-int(oldest))*time.Hour + time.Minute
}

// Each database of a store keeps its own retention window (the server
// gives them from the config's history_retention keys), and SetOptions
// changes the window of a history already open: compaction honours it.
func TestHistoriesRetentionPerDatabase(t *testing.T) {
	retention := map[string]time.Duration{"d1/short": 6 * time.Hour, "kv/day": 24 * time.Hour}
	opts := func(name string) HistoryOptions {
		return HistoryOptions{Retention: retention[name], SegmentBytes: 6 << 10} // 0: the default, 30 days
	}
	hs := NewHistories(t.TempDir(), opts)
	defer hs.Close()
	now := time.Now()
	const hours = 48
	window := map[string]time.Duration{}
	for _, name := range []string{"d1/short", "kv/day", "objects/C/default"} {
		h, err := hs.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		fillHistory(t, h, now, hours)
		if err := h.Compact(now); err != nil {
			t.Fatal(err)
		}
		window[name] = kept(t, h, hours)
		if err := h.Build(h.Last().Seq, filepath.Join(t.TempDir(), "last.db")); err != nil {
			t.Fatalf("%s: the latest state does not build: %v", name, err)
		}
	}
	t.Logf("windows after compaction: %v", window)
	// The window keeps at least the retention, and the compaction folds
	// what is older than it up to a segment (a record or two here).
	for name, want := range map[string]time.Duration{"d1/short": 6 * time.Hour, "kv/day": 24 * time.Hour} {
		if got := window[name]; got < want || got > want+3*time.Hour {
			t.Errorf("%s: window of %v after compaction, want about %v", name, got.Round(time.Minute), want)
		}
	}
	if got := window["objects/C/default"]; got < hours*time.Hour {
		t.Errorf("default (30 days): window of %v, want all %d hours kept", got.Round(time.Minute), hours)
	}

	// A new config shortens the default: the open history takes it.
	retention = map[string]time.Duration{"objects/C/default": 12 * time.Hour}
	hs.SetOptions(opts)
	h, _ := hs.Open("objects/C/default")
	if got := h.Retention(); got != 12*time.Hour {
		t.Fatalf("retention after SetOptions: %v", got)
	}
	if err := h.Compact(now); err != nil {
		t.Fatal(err)
	}
	if got := kept(t, h, hours); got < 12*time.Hour || got > 15*time.Hour {
		t.Errorf("after SetOptions: window of %v, want about 12h", got.Round(time.Minute))
	}
}
