package webapi

import (
	"context"
	"log/slog"
	"sync"
	"testing"

	"github.com/dop251/goja"
)

// The tests of this package call the natives directly, on a bare runtime
// without jsrt's prelude: the classes scripts use (TextDecoder, crypto,
// console) are tested in jsrt, where the prelude is.

// newVM returns a bare runtime with every native of this package on the
// global object natives, a global hex(bufferSource) for expected values,
// and the log records console's log native writes.
func newVM(t testing.TB) (*goja.Runtime, *logRecorder) {
	t.Helper()
	vm := goja.New()
	natives := vm.NewObject()
	logs := &logRecorder{}
	for _, err := range []error{
		vm.Set("natives", natives),
		InstallEncoding(vm, natives),
		InstallCrypto(vm, natives),
		InstallConsole(vm, natives, slog.New(logs), nil),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := vm.RunString(`globalThis.hex = (b) => Array.from(ArrayBuffer.isView(b) ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : new Uint8Array(b), (x) => x.toString(16).padStart(2, "0")).join("");`); err != nil {
		t.Fatal(err)
	}
	return vm, logs
}

// eval runs src and returns its value as a string, or what it threw as
// "throws: <name>: <message>".
func eval(vm *goja.Runtime, src string) string {
	v, err := vm.RunString(src)
	if err != nil {
		ex, ok := err.(*goja.Exception)
		if !ok {
			return "error: " + err.Error()
		}
		if o, ok := ex.Value().(*goja.Object); ok {
			return "throws: " + o.Get("name").String() + ": " + o.Get("message").String()
		}
		return "throws: " + ex.Value().String()
	}
	return v.String()
}

// jsCase is one script and the string eval should return for it.
type jsCase struct{ name, src, want string }

// runCases evaluates the cases in order in one runtime.
func runCases(t *testing.T, cases []jsCase) {
	t.Helper()
	vm, _ := newVM(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := eval(vm, c.src); got != c.want {
				t.Errorf("%s\n got: %q\nwant: %q", c.src, got, c.want)
			}
		})
	}
}

// logRecorder is a slog.Handler that keeps the records it is given.
type logRecorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r)
	return nil
}
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logRecorder) WithGroup(string) slog.Handler      { return h }

// take returns the records kept so far and forgets them.
func (h *logRecorder) take() []slog.Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.records
	h.records = nil
	return r
}
