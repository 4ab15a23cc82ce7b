package jsrt

import (
	"fmt"
	"maps"
	"slices"

	"github.com/dop251/goja"
)

// installUnsupported puts in env one object for each binding of a kind
// cairn does not serve (Config.Unsupported), so the Worker finds the
// binding it declared (not undefined) and its first use throws an Error
// that names it. Reading "then", "toJSON" or "constructor" and listing keys
// do not throw, so awaiting, logging or JSON-encoding env still works.
func (rt *runtime) installUnsupported(env *goja.Object) error {
	vm := rt.vm
	for _, name := range slices.Sorted(maps.Keys(rt.w.cfg.Unsupported)) {
		msg := fmt.Sprintf("env.%s (%s) is not supported by cairn yet", name, rt.w.cfg.Unsupported[name])
		throw := func() {
			e, err := vm.New(vm.Get("Error"), vm.ToValue(msg))
			if err != nil {
				panic(vm.NewTypeError(msg))
			}
			panic(e)
		}
		p := vm.NewProxy(vm.NewObject(), &goja.ProxyTrapConfig{
			Get: func(_ *goja.Object, prop string, _ goja.Value) goja.Value {
				switch prop {
				case "then", "toJSON", "constructor": // await, JSON.stringify
					return goja.Undefined()
				}
				throw()
				return nil
			},
			GetIdx: func(*goja.Object, int, goja.Value) goja.Value { throw(); return nil },
			GetSym: func(*goja.Object, *goja.Symbol, goja.Value) goja.Value { return goja.Undefined() },
			Has:    func(*goja.Object, string) bool { throw(); return false },
			Set:    func(*goja.Object, string, goja.Value, goja.Value) bool { throw(); return false },
			DefineProperty: func(*goja.Object, string, goja.PropertyDescriptor) bool {
				throw()
				return false
			},
			OwnKeys: func(*goja.Object) *goja.Object { return vm.NewArray() },
		})
		if err := env.Set(name, p); err != nil {
			return err
		}
	}
	return nil
}
