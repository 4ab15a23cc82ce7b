package kv

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/commit"
)

// heldLog holds every sync until released.
type heldLog struct {
	inner   *commit.Local
	release chan struct{}
}

func (l *heldLog) Submit(f commit.Syncer, done func(error)) {
	go func() {
		<-l.release
		l.inner.Submit(f, done)
	}()
}

func (l *heldLog) Close() error { return l.inner.Close() }

// With a commit log, a put returns only once durable, and nobody reads it
// before then.
func TestPutDurableBeforeSeen(t *testing.T) {
	log := &heldLog{inner: commit.NewLocal(0), release: make(chan struct{})}
	defer log.Close()
	ns, err := Open(filepath.Join(t.TempDir(), "ns.sqlite"), Options{Commit: log, SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	ctx := context.Background()
	put := make(chan error, 1)
	go func() { put <- ns.Put(ctx, "k", []byte("v"), PutOptions{}) }()
	time.Sleep(50 * time.Millisecond) // the put has committed and waits for its sync
	got := make(chan string, 1)
	go func() {
		e, ok, err := ns.Get(ctx, "k")
		if err != nil || !ok {
			got <- "error"
			return
		}
		got <- string(e.Value)
	}()
	select {
	case <-put:
		t.Fatal("put returned before its write was durable")
	case v := <-got:
		t.Fatalf("get returned %q before the write it saw was durable", v)
	case <-time.After(100 * time.Millisecond):
	}
	close(log.release)
	if err := <-put; err != nil {
		t.Fatal(err)
	}
	if v := <-got; v != "v" {
		t.Fatalf("get = %q", v)
	}
}
