package jsclone

import (
	"fmt"
	"math/big"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/dop251/goja"

	"github.com/cairn-dev/cairn/clone"
)

// goja exports a string to Go with lone surrogates replaced by U+FFFD, so
// only strings whose export contains U+FFFD are scanned (through
// goja.String's CharAt) and written as clone.TagUTF16 if they hold a lone
// surrogate; those are rebuilt with goja.StringFromUTF16.

// Serialize encodes v in the structured-clone encoding. A value that
// cannot be cloned is a *clone.CloneError; a getter or iterator that throws
// while v is read is returned as its *goja.Exception.
func Serialize(vm *goja.Runtime, v goja.Value) ([]byte, error) {
	return serialize(vm, v, nil)
}

// Refs passes objects by reference, as capabilities ('X' items), in the
// payloads of JS RPC. With Refs, an object ByRef accepts is written as the
// id Export gives it, and instances of other classes are refused (a
// structured clone would strip their prototype); a capability read back is
// the value Import returns for its id.
type Refs interface {
	// ByRef reports whether obj is passed by reference.
	ByRef(obj *goja.Object) bool
	// Export returns the capability id obj is passed as; ByRef accepted obj.
	Export(obj *goja.Object) uint64
	// Import returns the value that stands for the capability id.
	Import(id uint64) (goja.Value, error)
}

// Hosts carries platform objects (Request, Response, Headers, URL) in RPC
// payloads as 'H' items: a kind name and a cloneable payload standing for
// the object. A Refs that also implements Hosts is asked about each object
// of a class that structured clone would otherwise refuse, so a plain
// object can never pass for a platform object (the tag, not a key, marks
// it).
type Hosts interface {
	// Host returns the kind and payload standing for obj, ok false if obj
	// is not a platform object carried this way. An error (a used body) is
	// returned as is.
	Host(obj *goja.Object) (kind string, payload goja.Value, ok bool, err error)
	// MakeHost rebuilds the platform object of kind from its payload.
	MakeHost(kind string, payload goja.Value) (goja.Value, error)
}

// SerializeRefs is Serialize for an RPC payload: objects refs accepts are
// passed by reference.
func SerializeRefs(vm *goja.Runtime, v goja.Value, refs Refs) ([]byte, error) {
	return serialize(vm, v, refs)
}

func serialize(vm *goja.Runtime, v goja.Value, refs Refs) (out []byte, err error) {
	s := &serializer{vm: vm, w: clone.NewWriter(), refs: refs}
	s.seen = s.seenBuf[:0]
	defer func() {
		if r := recover(); r != nil {
			ex, ok := r.(*goja.Exception)
			if !ok {
				panic(r)
			}
			out, err = nil, ex
		}
	}()
	if err := s.item(v, 0); err != nil {
		return nil, err
	}
	return s.w.Bytes(), nil
}

type serializer struct {
	vm   *goja.Runtime
	w    *clone.Writer
	refs Refs // nil outside RPC
	// Objects written so far, numbered in order for back-references: a
	// slice while there are few (the common case), then also a map.
	seen    []*goja.Object
	seenBuf [8]*goja.Object
	ids     map[*goja.Object]int
	proto   *goja.Object  // Object.prototype, looked up on first need
	tag     goja.Callable // Object.prototype.toString, looked up on first need
}

const seenLinear = 16 // objects searched linearly before ids is built

func (s *serializer) lookup(obj *goja.Object) (int, bool) {
	if s.ids != nil {
		id, ok := s.ids[obj]
		return id, ok
	}
	for i, o := range s.seen {
		if o == obj {
			return i, true
		}
	}
	return 0, false
}

func (s *serializer) remember(obj *goja.Object) {
	s.seen = append(s.seen, obj)
	if s.ids == nil && len(s.seen) > seenLinear {
		s.ids = make(map[*goja.Object]int, 2*len(s.seen))
		for i, o := range s.seen {
			s.ids[o] = i
		}
	} else if s.ids != nil {
		s.ids[obj] = len(s.seen) - 1
	}
}

var (
	mapExportType         = reflect.TypeOf([][2]any{})
	setExportType         = reflect.TypeOf([]any{})
	arrayBufferExportType = reflect.TypeOf(goja.ArrayBuffer{})
	plainExportType       = reflect.TypeOf(map[string]any{})
	promiseExportType     = reflect.TypeOf((*goja.Promise)(nil))
	bigIntExportType      = reflect.TypeOf((*big.Int)(nil))
)

// uncloneable are the toString tags of built-in objects with internal
// state structured clone cannot carry (other objects are cloned as plain
// objects, whatever their prototype).
var uncloneable = map[string]bool{
	"WeakMap": true, "WeakSet": true, "WeakRef": true, "FinalizationRegistry": true,
	"Promise": true, "Generator": true, "AsyncGenerator": true, "Symbol": true,
	"Map Iterator": true, "Set Iterator": true, "Array Iterator": true,
	"String Iterator": true, "RegExp String Iterator": true,
}

// kind returns the built-in type of obj. goja's class name tells Arrays,
// Dates, RegExps, Errors, functions and primitive wrappers apart, but is
// "Object" for everything else; those are told apart by the type goja would
// export them as (Map, Set, ArrayBuffer, typed arrays, Promise, BigInt
// wrapper) and, for exotic objects that export as a plain map (DataView,
// WeakMap, …), by their Object.prototype.toString tag. Plain objects whose
// prototype is Object.prototype or null, the common case, need no JS call.
func (s *serializer) kind(obj *goja.Object) string {
	if class := obj.ClassName(); class != "Object" {
		return class
	}
	switch t := obj.ExportType(); t {
	case mapExportType:
		return "Map"
	case setExportType:
		return "Set"
	case arrayBufferExportType:
		return "ArrayBuffer"
	case promiseExportType:
		return "Promise"
	case bigIntExportType:
		return "BigInt"
	case plainExportType:
		proto := obj.Prototype()
		if s.proto == nil {
			s.proto = s.vm.Get("Object").ToObject(s.vm).Get("prototype").ToObject(s.vm)
		}
		if proto == nil || proto == s.proto {
			return "Object"
		}
		if tag := s.toStringTag(obj); tag == "DataView" || uncloneable[tag] {
			return tag
		}
		return "Object"
	default:
		tag := s.toStringTag(obj)
		if t != nil && t.Kind() == reflect.Slice && clone.ViewElemSize(tag) != 0 {
			return tag // a typed array: []uint8, []float64, …
		}
		if uncloneable[tag] {
			return tag
		}
		return "Object"
	}
}

// toStringTag returns the tag Object.prototype.toString reports for obj
// ("Map" for "[object Map]").
func (s *serializer) toStringTag(obj *goja.Object) string {
	if s.tag == nil {
		proto := s.vm.Get("Object").ToObject(s.vm).Get("prototype").ToObject(s.vm)
		s.tag, _ = goja.AssertFunction(proto.Get("toString"))
	}
	tag, err := s.tag(obj)
	if err != nil {
		return "Object"
	}
	t := tag.String()
	if strings.HasPrefix(t, "[object ") && strings.HasSuffix(t, "]") {
		return t[len("[object ") : len(t)-1]
	}
	return "Object"
}

func (s *serializer) item(v goja.Value, depth int) error {
	if depth > clone.MaxDepth {
		return &clone.CloneError{Msg: "value is nested too deeply to be cloned"}
	}
	obj, ok := v.(*goja.Object)
	if !ok {
		return s.primitive(v)
	}
	if id, ok := s.lookup(obj); ok {
		s.w.Byte(clone.TagRef)
		s.w.Uvarint(uint64(id))
		return nil
	}
	if s.refs != nil && s.refs.ByRef(obj) {
		s.w.Byte(clone.TagCapability)
		s.w.Uvarint(s.refs.Export(obj))
		return nil
	}
	if _, isFn := goja.AssertFunction(obj); isFn {
		return &clone.CloneError{Msg: fmt.Sprintf("%s could not be cloned.", describe(obj))}
	}
	class := s.kind(obj)
	if s.refs != nil && class == "Object" {
		if s.proto == nil {
			s.proto = s.vm.Get("Object").ToObject(s.vm).Get("prototype").ToObject(s.vm)
		}
		if proto := obj.Prototype(); proto != nil && proto != s.proto {
			// A class instance: a platform object (some, like URL, are
			// Go-backed, so not only plain exports), else refused.
			if done, err := s.host(obj, depth); done || err != nil {
				return err
			}
		}
	}
	if s.refs != nil && class == "Object" && obj.ExportType() == plainExportType {
		if proto := obj.Prototype(); proto != nil && proto != s.proto {
			name := "Object"
			if c := proto.Get("constructor"); c != nil {
				if n := c.ToObject(s.vm).Get("name"); n != nil && n.String() != "" {
					name = n.String()
				}
			}
			return &clone.CloneError{Msg: fmt.Sprintf("Could not serialize object of type %q. This type does not support serialization.", name)}
		}
	}
	s.remember(obj)
	switch {
	case class == "Array":
		n := int(obj.Get("length").ToInteger())
		s.w.Byte(clone.TagArray)
		s.w.Uvarint(uint64(n))
		for i := range n {
			if err := s.item(obj.Get(strconv.Itoa(i)), depth+1); err != nil {
				return err
			}
		}
	case class == "Date":
		s.w.Byte(clone.TagDate)
		s.w.Float64(obj.ToNumber().ToFloat())
	case class == "RegExp":
		s.w.Byte(clone.TagRegExp)
		s.w.Str(obj.Get("source").String())
		s.w.Str(obj.Get("flags").String())
	case class == "Map":
		var entries [][2]goja.Value
		if err := s.forEach(obj, "Map", func(v, k goja.Value) {
			entries = append(entries, [2]goja.Value{k, v})
		}); err != nil {
			return err
		}
		s.w.Byte(clone.TagMap)
		s.w.Uvarint(uint64(len(entries)))
		for _, e := range entries {
			if err := s.item(e[0], depth+1); err != nil {
				return err
			}
			if err := s.item(e[1], depth+1); err != nil {
				return err
			}
		}
	case class == "Set":
		var values []goja.Value
		if err := s.forEach(obj, "Set", func(v, _ goja.Value) { values = append(values, v) }); err != nil {
			return err
		}
		s.w.Byte(clone.TagSet)
		s.w.Uvarint(uint64(len(values)))
		for _, e := range values {
			if err := s.item(e, depth+1); err != nil {
				return err
			}
		}
	case class == "ArrayBuffer":
		ab, _ := obj.Export().(goja.ArrayBuffer)
		s.w.Byte(clone.TagArrayBuffer)
		s.w.Bin(ab.Bytes())
	case clone.ViewElemSize(class) != 0:
		s.w.Byte(clone.TagView)
		s.w.Str(class)
		if err := s.item(obj.Get("buffer"), depth+1); err != nil {
			return err
		}
		s.w.Uvarint(uint64(obj.Get("byteOffset").ToInteger()))
		lengthProp := "length"
		if class == "DataView" {
			lengthProp = "byteLength"
		}
		s.w.Uvarint(uint64(obj.Get(lengthProp).ToInteger()))
	case class == "Error":
		s.w.Byte(clone.TagError)
		for _, prop := range []string{"name", "message", "stack"} {
			p := obj.Get(prop)
			if p == nil || goja.IsUndefined(p) {
				s.w.Str("")
			} else {
				s.w.Str(p.String())
			}
		}
	case class == "String" || class == "Number" || class == "Boolean" || class == "BigInt":
		// A primitive wrapper (new String("s"), Object(1n)): its value.
		var prim goja.Value
		switch class {
		case "String":
			prim = obj.ToString()
		case "Number":
			prim = s.vm.ToValue(obj.ToNumber().ToFloat())
		default:
			prim = s.vm.ToValue(obj.Export())
		}
		s.w.Byte(clone.TagWrapper)
		return s.primitive(prim)
	case class == "Object":
		keys := obj.Keys()
		if slices.ContainsFunc(keys, func(k string) bool { return strings.ContainsRune(k, utf8.RuneError) }) {
			return s.entries(obj, depth)
		}
		s.w.Byte(clone.TagObject)
		s.w.Uvarint(uint64(len(keys)))
		for _, k := range keys {
			s.w.Str(k)
			if err := s.item(obj.Get(k), depth+1); err != nil {
				return err
			}
		}
	default:
		return &clone.CloneError{Msg: fmt.Sprintf("%s could not be cloned.", describe(obj))}
	}
	return nil
}

// host writes obj as an 'H' item if the Refs carries it as a platform
// object, and reports whether it did.
func (s *serializer) host(obj *goja.Object, depth int) (bool, error) {
	h, ok := s.refs.(Hosts)
	if !ok {
		return false, nil
	}
	kind, payload, ok, err := h.Host(obj)
	if err != nil || !ok {
		return false, err
	}
	s.remember(obj)
	s.w.Byte(clone.TagHost)
	s.w.Str(kind)
	return true, s.item(payload, depth+1)
}

func (s *serializer) primitive(v goja.Value) error {
	if v == nil || goja.IsUndefined(v) {
		s.w.Byte(clone.TagUndefined)
		return nil
	}
	if goja.IsNull(v) {
		s.w.Byte(clone.TagNull)
		return nil
	}
	if sym, ok := v.(*goja.Symbol); ok {
		return &clone.CloneError{Msg: "Symbol(" + sym.String() + ") could not be cloned."}
	}
	// Type tests rather than v.Export(), which would box every number and
	// string into an interface.
	switch {
	case goja.IsString(v):
		x := v.String() // lone surrogates come out as U+FFFD
		if strings.ContainsRune(x, utf8.RuneError) {
			if units, lone := rawUTF16(v); lone {
				s.w.Byte(clone.TagUTF16)
				s.w.UTF16(units)
				return nil
			}
		}
		s.w.Byte(clone.TagString)
		s.w.Str(x)
	case goja.IsNumber(v):
		if v.ExportType() == int64Type {
			if x := v.ToInteger(); x > -(1<<53) && x < 1<<53 {
				s.w.Byte(clone.TagInt)
				s.w.Varint(x)
				return nil
			}
		}
		s.w.Byte(clone.TagFloat)
		s.w.Float64(v.ToFloat())
	case v.ExportType() == boolType:
		if v.ToBoolean() {
			s.w.Byte(clone.TagTrue)
		} else {
			s.w.Byte(clone.TagFalse)
		}
	case goja.IsBigInt(v):
		x, ok := v.Export().(*big.Int)
		if !ok {
			return &clone.CloneError{Msg: v.String() + " could not be cloned."}
		}
		s.w.Byte(clone.TagBigInt)
		s.w.BigInt(x)
	default:
		return &clone.CloneError{Msg: fmt.Sprintf("%s could not be cloned.", v.String())}
	}
	return nil
}

var (
	int64Type = reflect.TypeOf(int64(0))
	boolType  = reflect.TypeOf(false)
)

// rawUTF16 returns the UTF-16 code units of the JS string v and whether it
// holds a lone (unpaired) surrogate.
func rawUTF16(v goja.Value) ([]uint16, bool) {
	gs, ok := v.(goja.String)
	if !ok {
		return nil, false
	}
	n := gs.Length()
	units := make([]uint16, n)
	lone := false
	for i := 0; i < n; i++ {
		units[i] = gs.CharAt(i)
	}
	for i := 0; i < n; i++ {
		c := units[i]
		switch {
		case c >= 0xD800 && c < 0xDC00:
			if i+1 < n && units[i+1] >= 0xDC00 && units[i+1] < 0xE000 {
				i++
			} else {
				lone = true
			}
		case c >= 0xDC00 && c < 0xE000:
			lone = true
		}
	}
	return units, lone
}

// describe names an uncloneable object for the error message.
func describe(obj *goja.Object) string {
	if _, ok := goja.AssertFunction(obj); ok {
		return obj.String()
	}
	if c := obj.Get("constructor"); c != nil {
		if co, ok := c.(*goja.Object); ok {
			if n := co.Get("name"); n != nil && n.String() != "" {
				return "#<" + n.String() + ">"
			}
		}
	}
	return "#<" + obj.ClassName() + ">"
}

// entries writes the object obj through Object.entries. Keys reports a key
// holding a lone surrogate with U+FFFD, which names another property, so
// obj.Get cannot read its value; Object.entries hands over keys and values
// as JS values. (The key is still written as UTF-8, with U+FFFD.)
func (s *serializer) entries(obj *goja.Object, depth int) error {
	entries, ok := goja.AssertFunction(s.vm.Get("Object").ToObject(s.vm).Get("entries"))
	if !ok {
		return &clone.CloneError{Msg: describe(obj) + " could not be cloned."}
	}
	list, err := entries(goja.Undefined(), obj)
	if err != nil {
		return err
	}
	arr := list.ToObject(s.vm)
	n := int(arr.Get("length").ToInteger())
	s.w.Byte(clone.TagObject)
	s.w.Uvarint(uint64(n))
	for i := range n {
		kv := arr.Get(strconv.Itoa(i)).ToObject(s.vm)
		s.w.Str(kv.Get("0").String())
		if err := s.item(kv.Get("1"), depth+1); err != nil {
			return err
		}
	}
	return nil
}

// forEach calls fn(value, key) for each entry of the Map or Set obj, through
// the built-in ctor.prototype.forEach (so an own "forEach" property on obj
// is not consulted).
func (s *serializer) forEach(obj *goja.Object, ctor string, fn func(v, k goja.Value)) error {
	proto := s.vm.Get(ctor).ToObject(s.vm).Get("prototype").ToObject(s.vm)
	each, ok := goja.AssertFunction(proto.Get("forEach"))
	if !ok {
		return &clone.CloneError{Msg: describe(obj) + " could not be cloned."}
	}
	_, err := each(obj, s.vm.ToValue(func(call goja.FunctionCall) goja.Value {
		fn(call.Argument(0), call.Argument(1))
		return goja.Undefined()
	}))
	return err
}

// Deserialize decodes a value written by Serialize. It never panics: input
// Serialize did not write is clone.ErrCorrupt, and so is a capability
// ('X'), which only DeserializeRefs reads.
func Deserialize(vm *goja.Runtime, b []byte) (goja.Value, error) {
	return deserialize(vm, b, nil)
}

// DeserializeRefs is Deserialize for an RPC payload: each capability reads
// back as the value refs.Import returns for it.
func DeserializeRefs(vm *goja.Runtime, b []byte, refs Refs) (goja.Value, error) {
	return deserialize(vm, b, refs)
}

func deserialize(vm *goja.Runtime, b []byte, refs Refs) (v goja.Value, err error) {
	r, err := clone.NewReader(b)
	if err != nil {
		return nil, err
	}
	d := &deserializer{vm: vm, r: r, refs: refs}
	defer func() {
		// goja panics on some invalid constructor arguments (e.g. a view
		// past the end of its buffer); corrupt input must not crash us.
		if r := recover(); r != nil {
			v, err = nil, clone.ErrCorrupt
		}
	}()
	v, err = d.item(0)
	if err == nil && r.Len() != 0 {
		err = clone.ErrCorrupt
	}
	return v, err
}

type deserializer struct {
	vm   *goja.Runtime
	r    *clone.Reader
	objs []goja.Value
	refs Refs // nil outside RPC: 'X' is then corrupt
}

// register reserves the next object number for v.
func (d *deserializer) register(v goja.Value) int {
	d.objs = append(d.objs, v)
	return len(d.objs) - 1
}

func (d *deserializer) newObject(ctor string, args ...any) (*goja.Object, error) {
	vals := make([]goja.Value, len(args))
	for i, a := range args {
		vals[i] = d.vm.ToValue(a)
	}
	return d.vm.New(d.vm.Get(ctor), vals...)
}

func (d *deserializer) item(depth int) (goja.Value, error) {
	if depth > clone.MaxDepth {
		return nil, clone.ErrCorrupt
	}
	vm := d.vm
	tag, err := d.r.ReadByte()
	if err != nil {
		return nil, err
	}
	switch tag {
	case clone.TagUndefined:
		return goja.Undefined(), nil
	case clone.TagNull:
		return goja.Null(), nil
	case clone.TagTrue:
		return vm.ToValue(true), nil
	case clone.TagFalse:
		return vm.ToValue(false), nil
	case clone.TagInt:
		n, err := d.r.Varint()
		if err != nil {
			return nil, err
		}
		return vm.ToValue(n), nil
	case clone.TagFloat:
		f, err := d.r.Float64()
		return vm.ToValue(f), err
	case clone.TagBigInt:
		n, err := d.r.BigInt()
		if err != nil {
			return nil, err
		}
		return vm.ToValue(n), nil
	case clone.TagString:
		s, err := d.r.Str()
		return vm.ToValue(s), err
	case clone.TagUTF16:
		units, err := d.r.UTF16()
		if err != nil {
			return nil, err
		}
		return goja.StringFromUTF16(units), nil
	case clone.TagRef:
		k, err := d.r.Uvarint()
		if err != nil || k >= uint64(len(d.objs)) || d.objs[k] == nil {
			return nil, clone.ErrCorrupt
		}
		return d.objs[k], nil
	case clone.TagDate:
		f, err := d.r.Float64()
		if err != nil {
			return nil, err
		}
		o, err := d.newObject("Date", f)
		if err == nil {
			d.register(o)
		}
		return o, err
	case clone.TagRegExp:
		src, err := d.r.Str()
		if err != nil {
			return nil, err
		}
		flags, err := d.r.Str()
		if err != nil {
			return nil, err
		}
		o, err := d.newObject("RegExp", src, flags)
		if err != nil {
			return nil, clone.ErrCorrupt
		}
		d.register(o)
		return o, nil
	case clone.TagObject:
		n, err := d.r.Count()
		if err != nil {
			return nil, err
		}
		o := vm.NewObject()
		d.register(o)
		for range n {
			k, err := d.r.Str()
			if err != nil {
				return nil, err
			}
			v, err := d.item(depth + 1)
			if err != nil {
				return nil, err
			}
			// Set is much cheaper than DefineDataProperty and, on a fresh
			// object, creates the same own property, except for the
			// "__proto__" accessor (which would replace the prototype)
			// and an inherited read-only property (a frozen
			// Object.prototype), where Set fails: define those.
			if k == "__proto__" || o.Set(k, v) != nil {
				if err := o.DefineDataProperty(k, v, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE); err != nil {
					return nil, clone.ErrCorrupt
				}
			}
		}
		return o, nil
	case clone.TagArray:
		n, err := d.r.Count()
		if err != nil {
			return nil, err
		}
		a := vm.NewArray()
		d.register(a)
		for i := range n {
			v, err := d.item(depth + 1)
			if err != nil {
				return nil, err
			}
			_ = a.Set(strconv.Itoa(i), v)
		}
		_ = a.Set("length", n)
		return a, nil
	case clone.TagMap, clone.TagSet:
		n, err := d.r.Count()
		if err != nil {
			return nil, err
		}
		ctor, method := "Map", "set"
		if tag == clone.TagSet {
			ctor, method = "Set", "add"
		}
		o, err := d.newObject(ctor)
		if err != nil {
			return nil, err
		}
		d.register(o)
		add, _ := goja.AssertFunction(o.Get(method))
		for range n {
			k, err := d.item(depth + 1)
			if err != nil {
				return nil, err
			}
			args := []goja.Value{k}
			if tag == clone.TagMap {
				v, err := d.item(depth + 1)
				if err != nil {
					return nil, err
				}
				args = append(args, v)
			}
			if _, err := add(o, args...); err != nil {
				return nil, clone.ErrCorrupt
			}
		}
		return o, nil
	case clone.TagArrayBuffer:
		b, err := d.r.Bin()
		if err != nil {
			return nil, err
		}
		ab := vm.ToValue(vm.NewArrayBuffer(append([]byte{}, b...)))
		d.register(ab)
		return ab, nil
	case clone.TagView:
		kind, err := d.r.Str()
		if err != nil || clone.ViewElemSize(kind) == 0 {
			return nil, clone.ErrCorrupt
		}
		slot := d.register(nil)
		buf, err := d.item(depth + 1)
		if err != nil {
			return nil, err
		}
		if _, ok := buf.Export().(goja.ArrayBuffer); !ok {
			return nil, clone.ErrCorrupt
		}
		off, err := d.r.Uvarint()
		if err != nil {
			return nil, err
		}
		n, err := d.r.Uvarint()
		if err != nil {
			return nil, err
		}
		o, err := d.vm.New(vm.Get(kind), buf, vm.ToValue(off), vm.ToValue(n))
		if err != nil {
			return nil, clone.ErrCorrupt
		}
		d.objs[slot] = o
		return o, nil
	case clone.TagCapability:
		id, err := d.r.Uvarint()
		if err != nil || d.refs == nil {
			return nil, clone.ErrCorrupt
		}
		return d.refs.Import(id)
	case clone.TagHost:
		kind, err := d.r.Str()
		if err != nil {
			return nil, err
		}
		h, ok := d.refs.(Hosts)
		if !ok {
			return nil, clone.ErrCorrupt
		}
		slot := d.register(nil)
		payload, err := d.item(depth + 1)
		if err != nil {
			return nil, err
		}
		o, err := h.MakeHost(kind, payload)
		if err != nil {
			return nil, err
		}
		d.objs[slot] = o
		return o, nil
	case clone.TagWrapper:
		slot := d.register(nil)
		prim, err := d.item(depth + 1)
		if err != nil {
			return nil, err
		}
		if _, isObj := prim.(*goja.Object); isObj || goja.IsUndefined(prim) || goja.IsNull(prim) {
			return nil, clone.ErrCorrupt
		}
		o := prim.ToObject(vm)
		d.objs[slot] = o
		return o, nil
	case clone.TagError:
		var parts [3]string
		for i := range parts {
			if parts[i], err = d.r.Str(); err != nil {
				return nil, err
			}
		}
		ctor := parts[0]
		if _, ok := goja.AssertConstructor(vm.Get(ctor)); !ok || !isErrorName(ctor) {
			ctor = "Error"
		}
		args := []any{parts[1]}
		if ctor == "AggregateError" { // new AggregateError(errors, message)
			args = []any{[]any{}, parts[1]}
		}
		o, err := d.newObject(ctor, args...)
		if err != nil {
			return nil, clone.ErrCorrupt
		}
		if parts[0] != ctor {
			_ = o.Set("name", parts[0])
		}
		if parts[2] != "" {
			_ = o.Set("stack", parts[2])
		}
		d.register(o)
		return o, nil
	}
	return nil, clone.ErrCorrupt
}

func isErrorName(name string) bool {
	switch name {
	case "Error", "EvalError", "RangeError", "ReferenceError", "SyntaxError", "TypeError", "URIError", "AggregateError":
		return true
	}
	return false
}
