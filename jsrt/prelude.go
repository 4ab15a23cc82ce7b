package jsrt

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"sync"

	"github.com/dop251/goja"
)

//go:embed prelude/*.js
var preludeFS embed.FS

// preludePrograms compiles the prelude once per process; the programs are
// immutable and shared by every runtime.
var preludePrograms = sync.OnceValues(func() ([]*goja.Program, error) {
	names, err := fs.Glob(preludeFS, "prelude/*.js")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	progs := make([]*goja.Program, 0, len(names))
	for _, name := range names {
		src, err := preludeFS.ReadFile(name)
		if err != nil {
			return nil, err
		}
		p, err := goja.Compile("cairn:"+name, string(src), true)
		if err != nil {
			return nil, fmt.Errorf("compile %s: %w", name, err)
		}
		progs = append(progs, p)
	}
	return progs, nil
})

// runPrelude evaluates the prelude files in lexical order. The natives object
// (__cairn) must already be installed.
func runPrelude(vm *goja.Runtime) error {
	progs, err := preludePrograms()
	if err != nil {
		return err
	}
	if keys, err := builtinKeys(); err == nil {
		if natives, ok := vm.GlobalObject().Get("__cairn").(*goja.Object); ok {
			_ = natives.Set("builtinKeys", keys)
		}
	}
	for _, p := range progs {
		if _, err := vm.RunProgram(p); err != nil {
			return fmt.Errorf("prelude: %w", err)
		}
	}
	return nil
}

// newNatives creates the global __cairn through which Go natives reach the
// prelude (see the package doc for its contents). The runtime deletes it
// (hideNatives) once the prelude has run, before Worker code loads.
func newNatives(vm *goja.Runtime) *goja.Object {
	natives := vm.NewObject()
	if err := vm.GlobalObject().DefineDataProperty("__cairn", natives, goja.FLAG_FALSE, goja.FLAG_TRUE, goja.FLAG_FALSE); err != nil {
		panic(err) // cannot fail on a fresh global object
	}
	return natives
}
