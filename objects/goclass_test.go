package objects

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/commit"
	"github.com/cairn-dev/cairn/internal/gatesim"
)

// goCounter is a Go Durable Object for the tests: a counter in the KV API.
type goCounter struct {
	s *State
}

func (c *goCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n, err := c.add(1)
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	io.WriteString(w, strings.Repeat("x", int(n)))
}

func (c *goCounter) add(by float64) (float64, error) {
	v, _, err := c.s.Storage.Get("n")
	if err != nil {
		return 0, err
	}
	n, _ := v.(float64)
	n += by
	return n, c.s.Storage.Put("n", n)
}

func (c *goCounter) RPC(ctx context.Context, method string, args []any) (any, error) {
	switch method {
	case "add":
		return c.add(args[0].(float64))
	case "fail":
		return nil, errors.New("no luck")
	case "panic":
		panic("boom")
	case "abort":
		if _, err := c.add(100); err != nil {
			return nil, err
		}
		c.s.Abort("aborted on purpose")
		return "unreachable answer", nil
	}
	return nil, &ThrownError{Name: "TypeError", Message: "no method " + method}
}

// goHost is a Host serving the Go class named class, made by construct;
// log decides durability (nil: a real one).
func goHost(t *testing.T, log commit.Log, class string, construct func(*State) (any, error)) (*Host, *Namespace) {
	t.Helper()
	catalog, err := OpenCatalog(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h := NewHost(catalog, nil)
	if log != nil {
		h.SetCommitLog(log)
	}
	t.Cleanup(func() { h.Close() })
	h.Register(class, NewGoClass(construct))
	ns, err := h.Namespace(class)
	if err != nil {
		t.Fatal(err)
	}
	return h, ns
}

// counterHost is a Host with the Go class Counter.
func counterHost(t *testing.T, log commit.Log) (*Host, *Namespace) {
	return goHost(t, log, "Counter", func(s *State) (any, error) { return &goCounter{s}, nil })
}

func TestGoClassRPC(t *testing.T) {
	h, ns := counterHost(t, nil)
	id := ns.IDFromName("a")
	ctx := context.Background()
	for want := 1.0; want <= 3; want++ {
		got, err := h.Invoke(ctx, "Counter", id, "a", "add", 1)
		if err != nil || got != want {
			t.Fatalf("add = %v, %v; want %v", got, err, want)
		}
	}
	tests := []struct {
		method string
		want   string
	}{
		{"fail", "Error: no luck"},
		{"nope", "TypeError: no method nope"},
		{"panic", "panic in Durable Object: boom"},
	}
	for _, tt := range tests {
		_, err := h.Invoke(ctx, "Counter", id, "a", tt.method)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.method, err, tt.want)
		}
	}
	// spec 17 (ctx.abort): the event's writes roll back and its caller gets the reset.
	_, err := h.Invoke(ctx, "Counter", id, "a", "abort")
	var reset *ResetError
	if !errors.As(err, &reset) || !strings.Contains(err.Error(), "aborted on purpose") {
		t.Fatalf("abort: error %v, want a ResetError", err)
	}
	if got, err := h.Invoke(ctx, "Counter", id, "a", "add", 0); err != nil || got != 3.0 {
		t.Fatalf("after abort: %v, %v; want 3 (the aborted write rolled back)", got, err)
	}
}

// spec 20: a Go object's answer leaves only once its write is durable.
func TestGoClassOutputGate(t *testing.T) {
	log := gatesim.NewHeldLog()
	t.Cleanup(func() { log.Close() })
	h, ns := counterHost(t, log)
	id := ns.IDFromName("gated")
	log.Hold()
	got := make(chan string, 1)
	go func() {
		resp, err := h.Fetch(context.Background(), "Counter", id, "gated", httptest.NewRequest("GET", "/", nil))
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		got <- string(b)
	}()
	select {
	case b := <-got:
		t.Fatalf("response %q left before its write was durable", b)
	case <-time.After(200 * time.Millisecond):
	}
	log.Release()
	select {
	case b := <-got:
		if b != "x" {
			t.Fatalf("response %q, want x", b)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no response after the write became durable")
	}
}

// spec 16, 17: a failed sync resets the object; the unacknowledged write is
// not reported as done.
func TestGoClassFailedSyncResets(t *testing.T) {
	log := gatesim.NewHeldLog()
	log.FailNext(1<<30, errors.New("disk on fire")) // every sync
	t.Cleanup(func() { log.Close() })
	h, ns := counterHost(t, log)
	_, err := h.Invoke(context.Background(), "Counter", ns.IDFromName("f"), "f", "add", 1)
	var reset *ResetError
	if !errors.As(err, &reset) {
		t.Fatalf("add with a failing sync: %v, want a ResetError", err)
	}
}
