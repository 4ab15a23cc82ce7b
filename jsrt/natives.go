package jsrt

import (
	"fmt"
	goruntime "runtime"

	"github.com/dop251/goja"
)

// guardNatives prepares obj, an object of natives handed to the prelude,
// for a runtime that also runs untrusted Worker code:
//
//   - every function on it (and on the plain objects nested in it) is
//     wrapped so that a Go panic inside becomes a JS Error thrown to the
//     caller instead of unwinding the loop goroutine and ending the process;
//   - it and its nested objects lose their prototype, so a property the
//     prelude looks up and the object lacks is never searched for on
//     Object.prototype, where Worker code may have put a getter to capture
//     the object as its receiver.
//
// Call it before the prelude sees obj; functions added to obj later are not
// wrapped.
func guardNatives(vm *goja.Runtime, obj *goja.Object) {
	guardObject(vm, obj, "", 0)
}

func guardObject(vm *goja.Runtime, obj *goja.Object, prefix string, depth int) {
	_ = obj.SetPrototype(nil)
	for _, key := range obj.Keys() {
		v := obj.Get(key)
		fn, ok := goja.AssertFunction(v)
		if !ok {
			if o, isObj := v.(*goja.Object); isObj && depth < 3 && o.ClassName() == "Object" {
				guardObject(vm, o, prefix+key+".", depth+1)
			}
			continue
		}
		_ = obj.Set(key, guardNative(vm, prefix+key, fn))
	}
}

// guardNative wraps fn so a Go panic in it (an index out of range, a nil
// dereference on arguments the native did not expect) throws a JS Error
// naming the native. Panics that are goja's own way of throwing (JS
// exceptions, interrupts, the call-stack limit) pass through unchanged.
func guardNative(vm *goja.Runtime, name string, fn goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(call goja.FunctionCall) goja.Value {
		v, err := callGuarded(fn, call.This, call.Arguments)
		if err != nil {
			if _, ok := err.(*nativePanic); ok {
				panic(vm.NewGoError(fmt.Errorf("internal error in %s: %w", name, err)))
			}
			panic(err) // a JS exception or an interrupt, rethrown as is
		}
		return v
	}
}

// nativePanic is a Go panic recovered from a native.
type nativePanic struct{ value any }

func (p *nativePanic) Error() string { return fmt.Sprint(p.value) }

// callGuarded calls fn, turning a Go panic that escapes goja into a
// *nativePanic. A runtime.Error (nil map, bad index) and any other value
// goja does not know as a throw end up here.
func callGuarded(fn goja.Callable, this goja.Value, args []goja.Value) (v goja.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			if re, ok := r.(goruntime.Error); ok {
				err = &nativePanic{re.Error()}
				return
			}
			err = &nativePanic{r}
		}
	}()
	return fn(this, args...)
}

// hideNatives removes the global __cairn once the prelude has captured
// what it needs: Worker code must not reach the natives.
func hideNatives(vm *goja.Runtime) {
	_ = vm.GlobalObject().Delete("__cairn")
}
