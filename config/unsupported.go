package config

import (
	"fmt"
	"slices"
)

// UnsupportedBinding is a binding in the config of a kind cairn does not
// serve yet. The Worker still gets env[Name], an object whose every use
// throws an error saying so, rather than undefined.
type UnsupportedBinding struct {
	Kind string // the config key that declares it, e.g. "r2_buckets" or "queues.producers"
	Name string // the binding name: env[Name]
	Line int    // where it is declared in the config file
}

// unsupportedKind is one of wrangler's binding keys that cairn reads only to
// say it does not serve it. To support a kind, decode it in decode.go and
// remove it from unsupportedKinds.
type unsupportedKind struct {
	key     string // key path of the array or object, e.g. "queues.producers"
	array   bool   // an array of bindings (else one object)
	nameKey string // the key holding the binding name
}

// unsupportedKinds lists the binding kinds of wrangler's config that cairn
// does not serve.
var unsupportedKinds = []unsupportedKind{
	{"r2_buckets", true, "binding"},
	{"queues.producers", true, "binding"},
	{"ai", false, "binding"},
	{"vectorize", true, "binding"},
	{"hyperdrive", true, "binding"},
	{"analytics_engine_datasets", true, "binding"},
	{"send_email", true, "name"},
	{"workflows", true, "binding"},
	{"version_metadata", false, "binding"},
	{"browser", false, "binding"},
	{"secrets_store_secrets", true, "binding"},
	{"dispatch_namespaces", true, "binding"},
	{"mtls_certificates", true, "binding"},
	{"pipelines", true, "binding"},
	{"images", false, "binding"},
}

// unsupportedFeatures are keys of features cairn does not run locally yet
// (not bindings): Load warns that they are ignored.
var unsupportedFeatures = []string{"queues.consumers"}

// unsupportedBindings collects the bindings of unsupported kinds in root
// and warns about each, and about unsupported features, with file:line.
func (d *decoder) unsupportedBindings(root map[string]any) ([]UnsupportedBinding, error) {
	var out []UnsupportedBinding
	anyKey := func(string) bool { return true }
	for _, k := range unsupportedKinds {
		parent, key := splitLast(k.key)
		m := root
		if parent != "" {
			o, err := d.object(root, "", parent)
			if err != nil {
				return nil, err
			}
			m = o
		}
		add := func(o map[string]any, path string) error {
			name, err := d.str(o, path, k.nameKey)
			if err != nil || name == "" {
				return err
			}
			b := UnsupportedBinding{Kind: k.key, Name: name, Line: d.line(join(path, k.nameKey))}
			out = append(out, b)
			d.warn(fmt.Sprintf("%s:%d: %s binding %q is not supported by cairn yet: env.%s throws when used", d.file, b.Line, k.key, name, name))
			return nil
		}
		if k.array {
			if err := d.each(m, parent, key, anyKey, add); err != nil {
				return nil, err
			}
			continue
		}
		o, err := d.object(m, parent, key)
		if err != nil {
			return nil, err
		}
		if o != nil {
			if err := add(o, join(parent, key)); err != nil {
				return nil, err
			}
		}
	}
	for _, f := range unsupportedFeatures {
		parent, key := splitLast(f)
		m := root
		if parent != "" {
			m, _ = root[parent].(map[string]any)
		}
		if _, ok := m[key]; ok {
			d.warn(fmt.Sprintf("%s:%d: %q is not supported by cairn yet; ignored", d.file, d.line(f), f))
		}
	}
	slices.SortStableFunc(out, func(a, b UnsupportedBinding) int { return a.Line - b.Line })
	return out, nil
}

// splitLast splits a key path "a.b" into "a" and "b" ("" and "a" for "a").
func splitLast(path string) (parent, key string) {
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '.' {
			return path[:i], path[i+1:]
		}
	}
	return "", path
}
