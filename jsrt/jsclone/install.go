package jsclone

import (
	"errors"

	"github.com/dop251/goja"

	"github.com/cairn-dev/cairn/clone"
)

// Install defines the natives serialize(value) ArrayBuffer and
// deserialize(ArrayBuffer) on natives, and the global structuredClone.
// Each throws what Exception makes of its error.
func Install(vm *goja.Runtime, natives *goja.Object) error {
	serialize := func(v goja.Value) goja.Value {
		b, err := Serialize(vm, v)
		if err != nil {
			panic(Exception(vm, err))
		}
		return vm.ToValue(vm.NewArrayBuffer(b))
	}
	deserialize := func(v goja.Value) goja.Value {
		out, err := Deserialize(vm, bufferBytes(v))
		if err != nil {
			panic(Exception(vm, err))
		}
		return out
	}
	if err := natives.Set("serialize", serialize); err != nil {
		return err
	}
	if err := natives.Set("deserialize", deserialize); err != nil {
		return err
	}
	return vm.Set("structuredClone", func(call goja.FunctionCall) goja.Value {
		b, err := Serialize(vm, call.Argument(0))
		if err != nil {
			panic(Exception(vm, err))
		}
		out, err := Deserialize(vm, b)
		if err != nil {
			panic(Exception(vm, err))
		}
		return out
	})
}

// Exception converts an error of Serialize or Deserialize into the JS
// value to throw: a *goja.Exception's own value; for a *clone.CloneError, a
// DOMException named DataCloneError when the global DOMException is
// defined (jsrt's prelude defines it); otherwise a Go error value.
func Exception(vm *goja.Runtime, err error) goja.Value {
	var ex *goja.Exception
	if errors.As(err, &ex) {
		return ex.Value()
	}
	var ce *clone.CloneError
	if errors.As(err, &ce) {
		if ctor, ok := goja.AssertConstructor(vm.Get("DOMException")); ok {
			if o, cerr := ctor(nil, vm.ToValue(ce.Msg), vm.ToValue("DataCloneError")); cerr == nil {
				return o
			}
		}
	}
	return vm.NewGoError(err)
}

// bufferBytes returns the bytes of an ArrayBuffer or Uint8Array, or nil for
// anything else.
func bufferBytes(v goja.Value) []byte {
	if v == nil {
		return nil
	}
	switch x := v.Export().(type) {
	case goja.ArrayBuffer:
		return x.Bytes()
	case []byte:
		return x
	}
	return nil
}
