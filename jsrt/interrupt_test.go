package jsrt

import (
	"errors"
	"testing"
	"time"

	"github.com/dop251/goja"
)

// After an interrupt anywhere (plain code, an async function before or
// after an await, a generator, a promise job, nested async calls, a
// try/finally), restoreIdle gives back an engine that runs code, runs
// promise jobs and keeps its globals. Without it, the async cases leave
// goja unable to run a promise job again (the runtime had to be replaced).
func TestRestoreIdleAfterInterrupt(t *testing.T) {
	for _, tc := range []struct{ name, src string }{
		{"sync", `for (;;) {}`},
		{"async before await", `(async () => { for (;;) {} })()`},
		{"async after await", `(async () => { await null; for (;;) {} })()`},
		{"nested async", `(async () => { await (async () => { await 1; for (;;) {} })() })()`},
		{"generator", `function* g() { for (;;) {} } g().next()`},
		{"promise job", `Promise.resolve().then(() => { for (;;) {} })`},
		{"finally", `(async () => { try { await null; for (;;) {} } finally { globalThis.fin = 1 } })()`},
		{"for of", `(async () => { for (const x of [1, 2, 3]) { await x; for (;;) {} } })()`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vm := goja.New()
			vm.SetMaxCallStackSize(maxCallStackSize)
			if _, err := vm.RunString(`globalThis.kept = 41`); err != nil {
				t.Fatal(err)
			}
			for round := range 2 { // and once more on the repaired engine
				timer := time.AfterFunc(30*time.Millisecond, func() { vm.Interrupt(errCPULimit) })
				_, err := vm.RunString(tc.src)
				timer.Stop()
				var intr *goja.InterruptedError
				if !errors.As(err, &intr) || intr.Value() != errCPULimit {
					t.Fatalf("round %d: err = %v, want the interrupt", round, err)
				}
				if !restoreIdle(vm) {
					t.Fatal("restoreIdle = false: goja's fields changed?")
				}
				var order []string
				_ = vm.Set("note", func(s string) { order = append(order, s) })
				v, err := vm.RunString(`
					Promise.resolve().then(() => note("job"));
					(async () => { await null; note("await"); await new Promise(r => r()); note("await2") })();
					note("sync");
					kept + 1`)
				if err != nil {
					t.Fatalf("round %d: run after restore: %v", round, err)
				}
				if got := v.ToInteger(); got != 42 {
					t.Errorf("round %d: kept + 1 = %d, want 42", round, got)
				}
				if want := []string{"sync", "job", "await", "await2"}; len(order) != 4 || order[0] != want[0] || order[3] != want[3] {
					t.Errorf("round %d: order = %v, want %v", round, order, want)
				}
			}
		})
	}
}
