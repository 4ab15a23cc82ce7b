package jsclone

import (
	"errors"
	"strings"
	"testing"

	"github.com/dop251/goja"

	"github.com/cairn-dev/cairn/clone"
)

// evalThrows runs src, which must throw, and returns the thrown value.
func evalThrows(t *testing.T, vm *goja.Runtime, src string) goja.Value {
	t.Helper()
	_, err := vm.RunString(src)
	var ex *goja.Exception
	if !errors.As(err, &ex) {
		t.Fatalf("%s: got %v, want a JS exception", src, err)
	}
	return ex.Value()
}

func TestInstallNatives(t *testing.T) {
	vm := newCloneRuntime(t)
	v, err := vm.RunString(`(() => { const b = natives.serialize({a: [1n]}); return b instanceof ArrayBuffer && natives.deserialize(b).a[0] === 1n && natives.deserialize(new Uint8Array(b)).a[0] === 1n; })()`)
	if err != nil || !v.ToBoolean() {
		t.Errorf("serialize/deserialize round trip: %v %v", v, err)
	}
	thrown := evalThrows(t, vm, `natives.deserialize(new Uint8Array([1, 0x6f, 5]).buffer)`)
	if !strings.Contains(thrown.String(), clone.ErrCorrupt.Error()) {
		t.Errorf("deserialize of corrupt bytes threw %v, want %v", thrown, clone.ErrCorrupt)
	}
}

// Exception makes a DataCloneError DOMException only where DOMException
// is defined (jsrt's prelude), and passes exceptions thrown by JS through.
func TestException(t *testing.T) {
	vm := newCloneRuntime(t)
	if thrown := evalThrows(t, vm, `structuredClone(() => 1)`); !strings.Contains(thrown.String(), "could not be cloned") {
		t.Errorf("without DOMException: threw %v", thrown)
	}
	if thrown := evalThrows(t, vm, `structuredClone({get a() { throw new RangeError("no"); }})`); thrown.String() != "RangeError: no" {
		t.Errorf("throwing getter: threw %v, want the getter's RangeError", thrown)
	}
	if _, err := vm.RunString(`globalThis.DOMException = class extends Error { constructor(message, name) { super(message); this.name = name; } };`); err != nil {
		t.Fatal(err)
	}
	if thrown := evalThrows(t, vm, `structuredClone(Symbol("s"))`); thrown.String() != "DataCloneError: Symbol(s) could not be cloned." {
		t.Errorf("with DOMException: threw %v", thrown)
	}
	if got := Exception(vm, clone.ErrCorrupt); !strings.Contains(got.String(), clone.ErrCorrupt.Error()) {
		t.Errorf("Exception(ErrCorrupt) = %v", got)
	}
}

// Without Refs a capability is corrupt input; with Refs instances of
// classes other than those passed by reference are refused.
func TestRefs(t *testing.T) {
	vm := newCloneRuntime(t)
	if _, err := Deserialize(vm, []byte{1, 'X', 1}); !errors.Is(err, clone.ErrCorrupt) {
		t.Errorf("Deserialize of a capability: %v, want ErrCorrupt", err)
	}
	v, err := vm.RunString(`new (class Foo { constructor() { this.x = 1; } })()`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Serialize(vm, v); err != nil {
		t.Errorf("Serialize of a class instance: %v", err)
	}
	_, err = SerializeRefs(vm, v, &goldenRefs{vm: vm})
	var ce *clone.CloneError
	if !errors.As(err, &ce) || !strings.Contains(ce.Msg, `"Foo"`) {
		t.Errorf("SerializeRefs of a class instance: %v, want a CloneError naming Foo", err)
	}
}
