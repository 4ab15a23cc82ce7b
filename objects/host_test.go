package objects

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// countingClass is a Go guest: each instance answers with how many
// instances of the class exist.
type countingClass struct{ made atomic.Int32 }

func (c *countingClass) NewInstance(o *Object) (Instance, error) {
	c.made.Add(1)
	return countingInstance{o}, nil
}

type countingInstance struct{ o *Object }

func (i countingInstance) Fetch(ctx context.Context, req *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(i.o.Name))}, nil
}

func (countingInstance) Close() {}

func TestHostOneInstancePerID(t *testing.T) {
	catalog, err := OpenCatalog(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h := NewHost(catalog, nil)
	cls := &countingClass{}
	h.Register("Room", cls)
	ns, err := h.Namespace("Room")
	if err != nil {
		t.Fatal(err)
	}
	ids := []ID{ns.IDFromName("a"), ns.IDFromName("b")}

	var wg sync.WaitGroup
	for n := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := ids[n%2]
			name := map[ID]string{ids[0]: "a", ids[1]: "b"}[id]
			resp, err := h.Fetch(context.Background(), "Room", id, name, httptest.NewRequest("GET", "http://x/", nil))
			if err != nil {
				t.Error(err)
				return
			}
			if b, _ := io.ReadAll(resp.Body); string(b) != name {
				t.Errorf("object %s answered %q", name, b)
			}
		}()
	}
	wg.Wait()
	if got := cls.made.Load(); got != 2 {
		t.Errorf("instances created = %d, want 2 (one per id)", got)
	}

	if _, err := h.Fetch(context.Background(), "Nope", ids[0], "", httptest.NewRequest("GET", "http://x/", nil)); !errors.Is(err, ErrNoClass) {
		t.Errorf("unknown class: err = %v, want ErrNoClass", err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Fetch(context.Background(), "Room", ids[0], "a", httptest.NewRequest("GET", "http://x/", nil)); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: err = %v, want ErrClosed", err)
	}
}
