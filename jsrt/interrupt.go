package jsrt

import (
	"reflect"
	"unsafe"

	"github.com/dop251/goja"
)

// A task over the CPU limit is interrupted (goja.Runtime.Interrupt) and
// fails only its own request or object; the runtime then goes on with the
// next task, keeping its other objects and the requests in flight on it.
//
// goja unwinds an interrupt with a Go panic. Frames of generators and
// async functions are pushed without deferred pops (goja's generator.next
// and enterNext), so an interrupt inside an async function (nearly every
// handler is one) leaves them on the engine's stacks: the engine then
// believes JS is still running, never runs a promise job again, and every
// later await hangs. Between tasks no JS is running, so the engine's state
// there is known: empty stacks, the global scope, no job queued.
// restoreIdle puts it back to that state, through reflection, because
// goja offers no API for it; the jobs the interrupted task queued are
// dropped, as goja itself drops them when an interrupt unwinds a clean
// stack. The fields are checked before any is touched: if goja's layout
// ever changes (go.mod pins it), restoreIdle reports false and the runtime
// is reset instead (a new engine, as before this existed). The caller
// checks the result with runsJobs.

// engineFields are the fields of goja's vm that restoreIdle sets, and the
// kind each must have.
var engineFields = map[string]reflect.Kind{
	"prg": reflect.Pointer, "pc": reflect.Int, "stack": reflect.Slice,
	"sp": reflect.Int, "sb": reflect.Int, "args": reflect.Int,
	"stash": reflect.Pointer, "privEnv": reflect.Pointer,
	"callStack": reflect.Slice, "iterStack": reflect.Slice, "refStack": reflect.Slice, "tryStack": reflect.Slice,
	"newTarget": reflect.Interface, "result": reflect.Interface, "curAsyncRunner": reflect.Pointer,
}

// writable returns the field name of struct value s, made settable.
func writable(s reflect.Value, name string, kind reflect.Kind) (reflect.Value, bool) {
	f := s.FieldByName(name)
	if !f.IsValid() || f.Kind() != kind || !f.CanAddr() {
		return reflect.Value{}, false
	}
	return reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem(), true
}

// restoreIdle returns vm, after an interrupt, to the state it has between
// tasks (see above). It reports false, having changed nothing, if goja's
// fields are not what it expects. Loop goroutine only, between tasks.
func restoreIdle(vm *goja.Runtime) bool {
	r := reflect.ValueOf(vm).Elem()
	jobs, ok := writable(r, "jobQueue", reflect.Slice)
	if !ok {
		return false
	}
	global, ok := writable(r, "global", reflect.Struct)
	if !ok {
		return false
	}
	globalStash, ok := writable(global, "stash", reflect.Struct)
	if !ok {
		return false
	}
	ptr := r.FieldByName("vm")
	if !ptr.IsValid() || ptr.Kind() != reflect.Pointer || ptr.IsNil() {
		return false
	}
	m := reflect.NewAt(ptr.Type().Elem(), ptr.UnsafePointer()).Elem()
	fields := make(map[string]reflect.Value, len(engineFields))
	for name, kind := range engineFields {
		f, ok := writable(m, name, kind)
		if !ok {
			return false
		}
		fields[name] = f
	}
	if fields["stash"].Type() != globalStash.Addr().Type() {
		return false
	}
	for name, f := range fields {
		switch name {
		case "sb":
			f.SetInt(-1)
		case "stash":
			f.Set(globalStash.Addr())
		case "callStack", "iterStack", "refStack", "tryStack":
			f.Clear() // drop what the frames referenced
			f.SetLen(0)
		default:
			f.SetZero()
		}
	}
	jobs.SetZero()
	vm.ClearInterrupt()
	return true
}
