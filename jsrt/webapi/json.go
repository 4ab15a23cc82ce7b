package webapi

import (
	"fmt"

	"github.com/dop251/goja"
)

// MaxJSONDepth bounds the nesting of arrays and objects that JSON.parse
// accepts and JSON.stringify produces. goja's JSON code recurses on the Go
// stack, so a few megabytes of "[[[[…" would otherwise overflow it, which
// no recover can catch: the process would end. V8 fails such input too,
// with a SyntaxError from JSON.parse and "RangeError: Maximum call stack
// size exceeded" from JSON.stringify; these are the errors given here.
// The bound is far above what real data nests (structured clone allows
// 2000) and keeps goja's depth-squared cycle check of stringify under a
// few tens of milliseconds.
const MaxJSONDepth = 5000

// InstallJSON replaces JSON.parse and JSON.stringify with depth-bounded
// versions that keep their behaviour otherwise: parse first scans the text
// for its nesting depth (a cheap pass over the bytes, skipping strings),
// and stringify tracks the depth of every object it descends into through
// a native replacer (composed with the caller's replacer, if any). Call it
// before Worker code runs, so the originals are captured unmodified.
func InstallJSON(vm *goja.Runtime) error {
	jsonObj, ok := vm.Get("JSON").(*goja.Object)
	if !ok {
		return fmt.Errorf("install JSON: no JSON global")
	}
	parse, ok1 := goja.AssertFunction(jsonObj.Get("parse"))
	stringify, ok2 := goja.AssertFunction(jsonObj.Get("stringify"))
	syntaxError, ok3 := goja.AssertConstructor(vm.Get("SyntaxError"))
	rangeError, ok4 := goja.AssertConstructor(vm.Get("RangeError"))
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return fmt.Errorf("install JSON: JSON.parse, JSON.stringify, SyntaxError or RangeError missing")
	}
	throw := func(ctor goja.Constructor, msg string) {
		e, err := ctor(nil, vm.ToValue(msg))
		if err != nil {
			panic(err)
		}
		panic(e)
	}
	newParse := func(call goja.FunctionCall) goja.Value {
		text := call.Argument(0).String()
		if d := jsonDepth(text, MaxJSONDepth); d > MaxJSONDepth {
			throw(syntaxError, fmt.Sprintf("JSON nested deeper than %d levels", MaxJSONDepth))
		}
		v, err := parse(call.This, call.Arguments...)
		if err != nil {
			panic(err)
		}
		return v
	}
	newStringify := func(call goja.FunctionCall) goja.Value {
		value := call.Argument(0)
		if _, ok := value.(*goja.Object); !ok {
			v, err := stringify(call.This, call.Arguments...) // a primitive: nothing nests
			if err != nil {
				panic(err)
			}
			return v
		}
		d := &depthReplacer{vm: vm, overflow: func() {
			throw(rangeError, "Maximum call stack size exceeded")
		}}
		switch r := call.Argument(1).(type) {
		case *goja.Object:
			if fn, ok := goja.AssertFunction(r); ok {
				d.user = fn
			} else if isArray(r) {
				d.allow = allowList(vm, r)
			}
		}
		v, err := stringify(call.This, value, vm.ToValue(d.replace), call.Argument(2))
		if err != nil {
			panic(err)
		}
		return v
	}
	for name, fn := range map[string]func(goja.FunctionCall) goja.Value{"parse": newParse, "stringify": newStringify} {
		f := vm.ToValue(fn).(*goja.Object)
		length := map[string]int{"parse": 2, "stringify": 3}[name]
		_ = f.DefineDataProperty("name", vm.ToValue(name), goja.FLAG_FALSE, goja.FLAG_TRUE, goja.FLAG_FALSE)
		_ = f.DefineDataProperty("length", vm.ToValue(length), goja.FLAG_FALSE, goja.FLAG_TRUE, goja.FLAG_FALSE)
		if err := jsonObj.DefineDataProperty(name, f, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE); err != nil {
			return err
		}
	}
	return nil
}

// jsonDepth returns the deepest nesting of arrays and objects in text, or
// limit+1 as soon as it passes limit. Brackets inside strings do not count;
// the text need not be valid JSON (parse reports that).
func jsonDepth(text string, limit int) int {
	depth, deepest := 0, 0
	inString, escaped := false, false
	for i := 0; i < len(text); i++ {
		c := text[i]
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '[', '{':
			depth++
			if depth > deepest {
				deepest = depth
				if deepest > limit {
					return deepest
				}
			}
		case ']', '}':
			depth--
		}
	}
	return deepest
}

// depthReplacer is the replacer JSON.stringify runs with: it follows the
// walk's depth and stops it past MaxJSONDepth, then applies the caller's
// replacer (a function, or an array of property names). stringify walks
// depth first and calls the replacer with the holder as this, so the
// holders form a stack: a call whose holder is the object last returned
// went one level down; any other holder is on the stack already.
type depthReplacer struct {
	vm       *goja.Runtime
	path     []*goja.Object // holders from the root's down to the current one
	last     *goja.Object   // the object the previous call returned
	user     goja.Callable
	allow    []string // an array replacer's property names, in order
	overflow func()
}

func (d *depthReplacer) replace(call goja.FunctionCall) goja.Value {
	holder, _ := call.This.(*goja.Object)
	switch {
	case holder != nil && holder == d.last:
		d.path = append(d.path, holder)
	default:
		for len(d.path) > 0 && d.path[len(d.path)-1] != holder {
			d.path = d.path[:len(d.path)-1]
		}
	}
	d.last = nil
	value := call.Argument(1)
	if d.user != nil {
		v, err := d.user(call.This, call.Argument(0), value)
		if err != nil {
			panic(err)
		}
		value = v
	}
	obj, ok := value.(*goja.Object)
	if !ok {
		return value
	}
	if _, isFn := goja.AssertFunction(obj); isFn {
		return value
	}
	if len(d.path)+1 > MaxJSONDepth {
		d.overflow()
	}
	if d.allow != nil && !isArray(obj) && obj.ClassName() == "Object" {
		// An array replacer lists the properties to keep, in its order.
		picked := d.vm.NewObject()
		for _, k := range d.allow {
			if v := obj.Get(k); v != nil {
				_ = picked.Set(k, v)
			}
		}
		obj = picked
		value = picked
	}
	d.last = obj
	return value
}

func isArray(obj *goja.Object) bool {
	return obj.ClassName() == "Array"
}

// allowList reads an array replacer: its strings and numbers, deduplicated.
func allowList(vm *goja.Runtime, arr *goja.Object) []string {
	n := int(arr.Get("length").ToInteger())
	seen := make(map[string]bool, n)
	out := make([]string, 0, n)
	for i := range n {
		v := arr.Get(fmt.Sprint(i))
		var k string
		switch ex := v.Export().(type) {
		case string:
			k = ex
		case int64, float64:
			k = v.String()
		default:
			continue
		}
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}
