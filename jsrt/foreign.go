package jsrt

import (
	"fmt"

	"github.com/dop251/goja"

	"github.com/cairn-dev/cairn/objects"
)

// ForeignClass is a Durable Object class of another Worker of the same
// process, bound with script_name (cairn serve): its objects live in that
// Worker's Host and run its code.
type ForeignClass struct {
	Worker string // the Worker defining the class, for errors
	Class  string
	// Host returns the Worker's current Host, or nil while it is not
	// loaded. It is asked at each use, so a new version of that Worker is
	// reached once it serves.
	Host func() *objects.Host
}

// installForeignObjects puts the namespaces of other Workers' classes into
// env.
func (rt *runtime) installForeignObjects(env *goja.Object) error {
	for binding, fc := range rt.w.cfg.ForeignObjects {
		resolve := func() (*objects.Host, *objects.Namespace, error) {
			h := fc.Host()
			if h == nil {
				return nil, nil, fmt.Errorf("env.%s: Worker %q is not running", binding, fc.Worker)
			}
			ns, err := h.Namespace(fc.Class)
			if err != nil {
				return nil, nil, fmt.Errorf("env.%s: class %s of Worker %q: %w", binding, fc.Class, fc.Worker, err)
			}
			return h, ns, nil
		}
		n := rt.namespaceNativesOf(fc.Class, resolve)
		guardNatives(rt.vm, n)
		v, err := rt.makeNamespace(goja.Undefined(), n)
		if err != nil {
			return jsError(err)
		}
		if err := env.Set(binding, v); err != nil {
			return err
		}
	}
	return nil
}
