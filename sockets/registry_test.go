package sockets

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// nopHandler drops every event.
type nopHandler struct{}

func (nopHandler) OnMessage(_ []byte, _ bool, done func()) bool { done(); return true }
func (nopHandler) OnError(string)                               {}
func (nopHandler) OnClose(int, string, bool)                    {}

func newTestRegistry(t *testing.T) *Registry {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := NewRegistry(ctx, Options{Logger: quiet})
	t.Cleanup(func() {
		r.CloseAll()
		cancel()
	})
	return r
}

var testID = [32]byte{1, 2, 3}

// quiet drops the Registry's warnings (a full send queue) in tests.
var quiet = slog.New(slog.DiscardHandler)

func TestAddHibernatableLimits(t *testing.T) {
	for _, tc := range []struct {
		name    string
		tags    []string
		before  func(o *Object, c *Conn) // how c was accepted before, if it was
		wantErr string
	}{
		{name: "no tags"},
		{name: "ten tags", tags: strings.Split("a b c d e f g h i j", " ")},
		{name: "eleven tags", tags: strings.Split("a b c d e f g h i j k", " "), wantErr: "a Hibernatable WebSocket cannot have more than 10 tags"},
		{name: "tag of 256 bytes", tags: []string{strings.Repeat("x", 256)}},
		{name: "tag of 257 bytes", tags: []string{"ok", strings.Repeat("x", 257)}, wantErr: `"` + strings.Repeat("x", 257) + `" is longer than the max tag length (256 characters).`},
		{name: "accepted", before: func(o *Object, c *Conn) { o.AddAccepted(c) }, wantErr: "Cannot call acceptWebSocket() on a WebSocket that was already accepted"},
		{name: "hibernatable", before: func(o *Object, c *Conn) { _ = o.AddHibernatable(c, nil) }, wantErr: "Cannot call acceptWebSocket() on a WebSocket that was already accepted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newTestRegistry(t)
			o := r.Object("Obj", testID)
			c := r.NewConn(nopHandler{})
			if tc.before != nil {
				tc.before(o, c)
			}
			err := o.AddHibernatable(c, tc.tags)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("AddHibernatable = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Tags(); strings.Join(got, "|") != strings.Join(tc.tags, "|") {
				t.Errorf("Tags = %q, want %q", got, tc.tags)
			}
			for _, tag := range tc.tags {
				if !c.HasTag(tag) {
					t.Errorf("HasTag(%q) = false", tag)
				}
			}
			if c.HasTag("nope") {
				t.Error(`HasTag("nope") = true`)
			}
			if c.Object() != o {
				t.Error("Object() is not the record that accepted it")
			}
		})
	}
}

func TestHibernatableLimitPerObject(t *testing.T) {
	r := newTestRegistry(t)
	o := r.Object("Obj", testID)
	for range maxHibernatable {
		if err := o.AddHibernatable(r.NewConn(nopHandler{}), nil); err != nil {
			t.Fatal(err)
		}
	}
	err := o.AddHibernatable(r.NewConn(nopHandler{}), nil)
	if want := "only 32768 hibernatable WebSockets are allowed per Durable Object"; err == nil || err.Error() != want {
		t.Fatalf("AddHibernatable past the limit = %v, want %q", err, want)
	}
	// Another object has its own limit.
	if err := r.Object("Obj", [32]byte{9}).AddHibernatable(r.NewConn(nopHandler{}), nil); err != nil {
		t.Fatal(err)
	}
}

func TestAttachment(t *testing.T) {
	for _, tc := range []struct {
		name    string
		size    int
		wantErr string
	}{
		{name: "empty", size: 0},
		{name: "16 KiB", size: 16 << 10},
		{name: "16 KiB and a byte", size: 16<<10 + 1, wantErr: "A WebSocket 'serializeAttachment()' value cannot be larger than 16384 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestRegistry(t).NewConn(nopHandler{})
			if c.Attachment() != nil {
				t.Fatal("a new socket has an attachment")
			}
			data := make([]byte, tc.size)
			err := c.SetAttachment(data)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("SetAttachment = %v, want %q", err, tc.wantErr)
				}
				if c.Attachment() != nil {
					t.Error("a rejected attachment was kept")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.size > 0 {
				data[0] = 1 // the socket kept a copy
			}
			got := c.Attachment()
			if got == nil || len(got) != tc.size || (tc.size > 0 && got[0] != 0) {
				t.Fatalf("Attachment = %d bytes (nil %v), want %d zero bytes", len(got), got == nil, tc.size)
			}
		})
	}
}

func TestAutoResponseLimits(t *testing.T) {
	long := strings.Repeat("x", 2049)
	for _, tc := range []struct {
		name, req, res string
		wantErr        bool
	}{
		{name: "short", req: "ping", res: "pong"},
		{name: "2048 each", req: long[:2048], res: long[:2048]},
		{name: "long request", req: long, res: "pong", wantErr: true},
		{name: "long response", req: "ping", res: long, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := newTestRegistry(t).Object("Obj", testID)
			err := o.SetAutoResponse(tc.req, tc.res)
			if want := "Request and response must each be at most 2048 characters."; tc.wantErr && (err == nil || err.Error() != want) {
				t.Fatalf("SetAutoResponse = %v, want %q", err, want)
			}
			if !tc.wantErr && err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestEventTimeout(t *testing.T) {
	for _, tc := range []struct {
		name    string
		set     time.Duration
		want    time.Duration
		wantErr string
	}{
		{name: "unset", set: 0, want: 0},
		{name: "negative unsets", set: -time.Second, want: 0},
		{name: "a second", set: time.Second, want: time.Second},
		{name: "seven days", set: MaxEventTimeout, want: MaxEventTimeout},
		{name: "past seven days", set: MaxEventTimeout + time.Millisecond, wantErr: "Event timeout should not exceed 604800000 ms."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := newTestRegistry(t).Object("Obj", testID)
			err := o.SetEventTimeout(tc.set)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("SetEventTimeout = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := o.EventTimeout(); got != tc.want {
				t.Errorf("EventTimeout = %v, want %v", got, tc.want)
			}
		})
	}
}

// Counts follow accepts and Leave; the record goes once it holds nothing.
func TestCountsAndLeave(t *testing.T) {
	for _, tc := range []struct {
		name     string
		setting  func(o *Object) // left on the record, if any
		wantKept bool
	}{
		{name: "no setting"},
		{name: "auto-response", setting: func(o *Object) { _ = o.SetAutoResponse("ping", "pong") }, wantKept: true},
		{name: "event timeout", setting: func(o *Object) { _ = o.SetEventTimeout(time.Second) }, wantKept: true},
		{name: "auto-response cleared", setting: func(o *Object) { _ = o.SetAutoResponse("a", "b"); o.ClearAutoResponse() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newTestRegistry(t)
			counts := func(wantHib, wantAcc int) {
				t.Helper()
				if hib, acc := r.Counts("Obj", testID); hib != wantHib || acc != wantAcc {
					t.Errorf("Counts = %d, %d, want %d, %d", hib, acc, wantHib, wantAcc)
				}
			}
			counts(0, 0)
			o := r.Object("Obj", testID)
			if tc.setting != nil {
				tc.setting(o)
			}
			h1, h2, a := r.NewConn(nopHandler{}), r.NewConn(nopHandler{}), r.NewConn(nopHandler{})
			if err := o.AddHibernatable(h1, nil); err != nil {
				t.Fatal(err)
			}
			if err := o.AddHibernatable(h2, nil); err != nil {
				t.Fatal(err)
			}
			o.AddAccepted(a)
			o.AddAccepted(a) // already accepted: no change
			counts(2, 1)
			a.Leave()
			a.Leave() // again: no change
			counts(2, 0)
			h1.Leave()
			counts(1, 0)
			h2.Leave()
			counts(0, 0)
			r.NewConn(nopHandler{}).Leave() // never accepted: nothing happens
			if kept := r.Object("Obj", testID) == o; kept != tc.wantKept {
				t.Errorf("record kept = %v, want %v", kept, tc.wantKept)
			}
		})
	}
}

// Sockets lists hibernatable sockets in acceptance order, not accepted or
// left ones.
func TestObjectSockets(t *testing.T) {
	r := newTestRegistry(t)
	o := r.Object("Obj", testID)
	var want []*Conn
	for i := range 20 {
		c := r.NewConn(nopHandler{})
		if i%5 == 4 {
			o.AddAccepted(c)
			continue
		}
		if err := o.AddHibernatable(c, nil); err != nil {
			t.Fatal(err)
		}
		if i == 7 {
			c.Leave()
			continue
		}
		want = append(want, c)
	}
	got := o.Sockets()
	if len(got) != len(want) {
		t.Fatalf("Sockets = %d sockets, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("Sockets[%d] is not the socket accepted %dth", i, i)
		}
	}
}
