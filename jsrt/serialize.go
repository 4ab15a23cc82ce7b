package jsrt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/dop251/goja"
)

// The structured-clone encoding, used for Durable Object KV values and for
// structuredClone. It is stable: data written by one version of cairn must
// stay readable by every later one, so change it only by adding tags or
// bumping the version byte (and keep reading version 1).
//
//	value    = version(1) item
//	item     = tag payload
//	'u' undefined | 'n' null | 't' true | 'f' false
//	'i' zigzag varint                  integer number in ±2^53 (not -0)
//	'd' float64 little-endian          any other number (NaN, -0, fractions)
//	'g' sign(0|1) varint(n) n bytes    BigInt, magnitude big-endian
//	's' varint(n) n bytes              string, UTF-8
//	'w' varint(n) n × uint16 LE        string holding a lone surrogate, as raw
//	                                   UTF-16 code units (n counts units)
//	'D' float64                        Date (ms since epoch)
//	'R' string string                  RegExp source, flags
//	'o' varint(n) n × (string item)    object: own enumerable string keys, in
//	                                   order (any prototype; read back as a
//	                                   plain object, as structuredClone does)
//	'a' varint(n) n × item             array: indices 0…length-1 (holes read
//	                                   back as undefined; other props dropped)
//	'M' varint(n) n × (item item)      Map
//	'S' varint(n) n × item             Set
//	'B' varint(n) n bytes              ArrayBuffer
//	'V' string item varint varint      view: constructor name, its buffer (an
//	                                   item, so shared buffers stay shared),
//	                                   byte offset, length (elements; bytes for DataView)
//	'E' string string string           Error: name, message, stack (the
//	                                   constructor is the built-in error type
//	                                   of that name, else Error)
//	'P' item                           String/Number/Boolean/BigInt wrapper
//	                                   object around the primitive item
//	'r' varint(k)                      the k-th object already read (cycles, shared refs)
//	'X' varint(id)                     RPC only, never stored: a function, RpcTarget or
//	                                   stub passed by reference (capability id)
//
// A "string" above is 's'-less: varint(n) n bytes. Every tag but the
// primitives (u n t f i d g s w) and 'r' is an object; objects are numbered
// from 0 in the order their tag is written, so a back-reference can point at
// an object still being read (a cycle). Functions, symbols, Promises,
// WeakMaps, WeakSets, WeakRefs, iterators and generators are refused with a
// CloneError.
//
// Strings are UTF-8 ('s') unless they hold a lone surrogate, which UTF-8
// cannot carry: those are written as UTF-16 ('w') so they round-trip
// exactly. goja exports a string to Go with lone surrogates replaced by
// U+FFFD, so only strings whose export contains U+FFFD are scanned (through
// goja.String's CharAt) and written as 'w' if needed; they are rebuilt with
// goja.StringFromUTF16. Object keys are always UTF-8 (a lone surrogate in a
// key reads back as U+FFFD).
//
// Deserialize never panics: truncated or corrupt input, unknown tags, lengths
// larger than the input, back-references to objects not yet read, and trailing
// bytes all return an error.
const serialVersion = 1

// CloneError reports a value that cannot be cloned (a function, a symbol, a
// Promise, …). In JS it is a DOMException named DataCloneError.
type CloneError struct{ Msg string }

func (e *CloneError) Error() string { return e.Msg }

// errCorrupt is returned by Deserialize for input it did not write.
var errCorrupt = errors.New("stored value is corrupt or from an unknown format")

// maxDepth bounds nesting so hostile input cannot exhaust the stack.
const maxDepth = 2000

var viewKinds = map[string]bool{
	"Int8Array": true, "Uint8Array": true, "Uint8ClampedArray": true, "Int16Array": true,
	"Uint16Array": true, "Int32Array": true, "Uint32Array": true, "Float32Array": true,
	"Float64Array": true, "BigInt64Array": true, "BigUint64Array": true, "DataView": true,
}

// Serialize encodes v in the structured-clone encoding. A getter or
// iterator that throws while v is read is returned as its *goja.Exception.
func Serialize(vm *goja.Runtime, v goja.Value) (out []byte, err error) {
	return serialize(vm, v, nil)
}

// refCodec passes values by reference in RPC payloads: functions, RpcTarget
// instances and stubs become capabilities; instances of other classes are
// refused (structured clone would strip their prototype).
type refCodec interface {
	byRef(obj *goja.Object) bool
	export(obj *goja.Object) uint64
	importRef(id uint64) (goja.Value, error)
}

func serialize(vm *goja.Runtime, v goja.Value, refs refCodec) (out []byte, err error) {
	s := &serializer{vm: vm, buf: make([]byte, 1, 64), refs: refs}
	s.seen = s.seenBuf[:0]
	s.buf[0] = serialVersion
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
	return s.buf, nil
}

type serializer struct {
	vm   *goja.Runtime
	buf  []byte
	refs refCodec // nil outside RPC
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
		if t != nil && t.Kind() == reflect.Slice && viewKinds[tag] {
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

func (s *serializer) uvarint(n uint64) { s.buf = binary.AppendUvarint(s.buf, n) }
func (s *serializer) str(x string) {
	s.uvarint(uint64(len(x)))
	s.buf = append(s.buf, x...)
}
func (s *serializer) float(f float64) {
	s.buf = binary.LittleEndian.AppendUint64(s.buf, math.Float64bits(f))
}

func (s *serializer) item(v goja.Value, depth int) error {
	if depth > maxDepth {
		return &CloneError{Msg: "value is nested too deeply to be cloned"}
	}
	obj, ok := v.(*goja.Object)
	if !ok {
		return s.primitive(v)
	}
	if id, ok := s.lookup(obj); ok {
		s.buf = append(s.buf, 'r')
		s.uvarint(uint64(id))
		return nil
	}
	if s.refs != nil && s.refs.byRef(obj) {
		s.buf = append(s.buf, 'X')
		s.uvarint(s.refs.export(obj))
		return nil
	}
	if _, isFn := goja.AssertFunction(obj); isFn {
		return &CloneError{Msg: fmt.Sprintf("%s could not be cloned.", describe(obj))}
	}
	class := s.kind(obj)
	if s.refs != nil && class == "Object" && obj.ExportType() == plainExportType {
		if proto := obj.Prototype(); proto != nil && proto != s.proto {
			name := "Object"
			if c := proto.Get("constructor"); c != nil {
				if n := c.ToObject(s.vm).Get("name"); n != nil && n.String() != "" {
					name = n.String()
				}
			}
			return &CloneError{Msg: fmt.Sprintf("Could not serialize object of type %q. This type does not support serialization.", name)}
		}
	}
	s.remember(obj)
	switch {
	case class == "Array":
		n := int(obj.Get("length").ToInteger())
		s.buf = append(s.buf, 'a')
		s.uvarint(uint64(n))
		for i := range n {
			if err := s.item(obj.Get(strconv.Itoa(i)), depth+1); err != nil {
				return err
			}
		}
	case class == "Date":
		s.buf = append(s.buf, 'D')
		s.float(obj.ToNumber().ToFloat())
	case class == "RegExp":
		s.buf = append(s.buf, 'R')
		s.str(obj.Get("source").String())
		s.str(obj.Get("flags").String())
	case class == "Map":
		var entries [][2]goja.Value
		if err := s.forEach(obj, "Map", func(v, k goja.Value) {
			entries = append(entries, [2]goja.Value{k, v})
		}); err != nil {
			return err
		}
		s.buf = append(s.buf, 'M')
		s.uvarint(uint64(len(entries)))
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
		s.buf = append(s.buf, 'S')
		s.uvarint(uint64(len(values)))
		for _, e := range values {
			if err := s.item(e, depth+1); err != nil {
				return err
			}
		}
	case class == "ArrayBuffer":
		ab, _ := obj.Export().(goja.ArrayBuffer)
		s.buf = append(s.buf, 'B')
		s.str(string(ab.Bytes()))
	case viewKinds[class]:
		s.buf = append(s.buf, 'V')
		s.str(class)
		if err := s.item(obj.Get("buffer"), depth+1); err != nil {
			return err
		}
		s.uvarint(uint64(obj.Get("byteOffset").ToInteger()))
		lengthProp := "length"
		if class == "DataView" {
			lengthProp = "byteLength"
		}
		s.uvarint(uint64(obj.Get(lengthProp).ToInteger()))
	case class == "Error":
		s.buf = append(s.buf, 'E')
		for _, prop := range []string{"name", "message", "stack"} {
			p := obj.Get(prop)
			if p == nil || goja.IsUndefined(p) {
				s.str("")
			} else {
				s.str(p.String())
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
		s.buf = append(s.buf, 'P')
		return s.primitive(prim)
	case class == "Object":
		keys := obj.Keys()
		s.buf = append(s.buf, 'o')
		s.uvarint(uint64(len(keys)))
		for _, k := range keys {
			s.str(k)
			if err := s.item(obj.Get(k), depth+1); err != nil {
				return err
			}
		}
	default:
		return &CloneError{Msg: fmt.Sprintf("%s could not be cloned.", describe(obj))}
	}
	return nil
}

func (s *serializer) primitive(v goja.Value) error {
	if v == nil || goja.IsUndefined(v) {
		s.buf = append(s.buf, 'u')
		return nil
	}
	if goja.IsNull(v) {
		s.buf = append(s.buf, 'n')
		return nil
	}
	if sym, ok := v.(*goja.Symbol); ok {
		return &CloneError{Msg: "Symbol(" + sym.String() + ") could not be cloned."}
	}
	// Type tests rather than v.Export(), which would box every number and
	// string into an interface.
	switch {
	case goja.IsString(v):
		x := v.String() // lone surrogates come out as U+FFFD
		if strings.ContainsRune(x, utf8.RuneError) {
			if units, lone := rawUTF16(v); lone {
				s.buf = append(s.buf, 'w')
				s.uvarint(uint64(len(units)))
				for _, u := range units {
					s.buf = binary.LittleEndian.AppendUint16(s.buf, u)
				}
				return nil
			}
		}
		s.buf = append(s.buf, 's')
		s.str(x)
	case goja.IsNumber(v):
		if v.ExportType() == int64Type {
			if x := v.ToInteger(); x > -(1<<53) && x < 1<<53 {
				s.buf = append(s.buf, 'i')
				s.buf = binary.AppendVarint(s.buf, x)
				return nil
			}
		}
		s.buf = append(s.buf, 'd')
		s.float(v.ToFloat())
	case v.ExportType() == boolType:
		if v.ToBoolean() {
			s.buf = append(s.buf, 't')
		} else {
			s.buf = append(s.buf, 'f')
		}
	case goja.IsBigInt(v):
		x, ok := v.Export().(*big.Int)
		if !ok {
			return &CloneError{Msg: v.String() + " could not be cloned."}
		}
		s.buf = append(s.buf, 'g')
		if x.Sign() < 0 {
			s.buf = append(s.buf, 1)
		} else {
			s.buf = append(s.buf, 0)
		}
		s.str(string(x.Bytes()))
	default:
		return &CloneError{Msg: fmt.Sprintf("%s could not be cloned.", v.String())}
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

// forEach calls fn(value, key) for each entry of the Map or Set obj, through
// the built-in ctor.prototype.forEach (so an own "forEach" property on obj
// is not consulted).
func (s *serializer) forEach(obj *goja.Object, ctor string, fn func(v, k goja.Value)) error {
	proto := s.vm.Get(ctor).ToObject(s.vm).Get("prototype").ToObject(s.vm)
	each, ok := goja.AssertFunction(proto.Get("forEach"))
	if !ok {
		return &CloneError{Msg: describe(obj) + " could not be cloned."}
	}
	_, err := each(obj, s.vm.ToValue(func(call goja.FunctionCall) goja.Value {
		fn(call.Argument(0), call.Argument(1))
		return goja.Undefined()
	}))
	return err
}

// Deserialize decodes a value written by Serialize.
func Deserialize(vm *goja.Runtime, b []byte) (v goja.Value, err error) {
	return deserialize(vm, b, nil)
}

func deserialize(vm *goja.Runtime, b []byte, refs refCodec) (v goja.Value, err error) {
	if len(b) == 0 || b[0] != serialVersion {
		return nil, errCorrupt
	}
	d := &deserializer{vm: vm, buf: b[1:], refs: refs}
	defer func() {
		// goja panics on some invalid constructor arguments (e.g. a view
		// past the end of its buffer); corrupt input must not crash us.
		if r := recover(); r != nil {
			v, err = nil, errCorrupt
		}
	}()
	v, err = d.item(0)
	if err == nil && len(d.buf) != 0 {
		err = errCorrupt
	}
	return v, err
}

type deserializer struct {
	vm   *goja.Runtime
	buf  []byte
	objs []goja.Value
	refs refCodec // nil outside RPC: 'X' is then corrupt
}

func (d *deserializer) byte() (byte, error) {
	if len(d.buf) == 0 {
		return 0, errCorrupt
	}
	c := d.buf[0]
	d.buf = d.buf[1:]
	return c, nil
}

func (d *deserializer) uvarint() (uint64, error) {
	n, k := binary.Uvarint(d.buf)
	if k <= 0 {
		return 0, errCorrupt
	}
	d.buf = d.buf[k:]
	return n, nil
}

// count reads a length and checks it is plausible for the bytes left.
func (d *deserializer) count() (int, error) {
	n, err := d.uvarint()
	if err != nil || n > uint64(len(d.buf)) {
		return 0, errCorrupt
	}
	return int(n), nil
}

func (d *deserializer) bytes() ([]byte, error) {
	n, err := d.count()
	if err != nil {
		return nil, err
	}
	b := d.buf[:n]
	d.buf = d.buf[n:]
	return b, nil
}

func (d *deserializer) str() (string, error) {
	b, err := d.bytes()
	return string(b), err
}

func (d *deserializer) float() (float64, error) {
	if len(d.buf) < 8 {
		return 0, errCorrupt
	}
	f := math.Float64frombits(binary.LittleEndian.Uint64(d.buf))
	d.buf = d.buf[8:]
	return f, nil
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
	if depth > maxDepth {
		return nil, errCorrupt
	}
	vm := d.vm
	tag, err := d.byte()
	if err != nil {
		return nil, err
	}
	switch tag {
	case 'u':
		return goja.Undefined(), nil
	case 'n':
		return goja.Null(), nil
	case 't':
		return vm.ToValue(true), nil
	case 'f':
		return vm.ToValue(false), nil
	case 'i':
		n, k := binary.Varint(d.buf)
		if k <= 0 {
			return nil, errCorrupt
		}
		d.buf = d.buf[k:]
		return vm.ToValue(n), nil
	case 'd':
		f, err := d.float()
		return vm.ToValue(f), err
	case 'g':
		sign, err := d.byte()
		if err != nil {
			return nil, err
		}
		mag, err := d.bytes()
		if err != nil {
			return nil, err
		}
		n := new(big.Int).SetBytes(mag)
		if sign == 1 {
			n.Neg(n)
		}
		return vm.ToValue(n), nil
	case 's':
		s, err := d.str()
		return vm.ToValue(s), err
	case 'w':
		n, err := d.uvarint()
		if err != nil || n > uint64(len(d.buf)/2) {
			return nil, errCorrupt
		}
		units := make([]uint16, n)
		for i := range units {
			units[i] = binary.LittleEndian.Uint16(d.buf[2*i:])
		}
		d.buf = d.buf[2*n:]
		return goja.StringFromUTF16(units), nil
	case 'r':
		k, err := d.uvarint()
		if err != nil || k >= uint64(len(d.objs)) || d.objs[k] == nil {
			return nil, errCorrupt
		}
		return d.objs[k], nil
	case 'D':
		f, err := d.float()
		if err != nil {
			return nil, err
		}
		o, err := d.newObject("Date", f)
		if err == nil {
			d.register(o)
		}
		return o, err
	case 'R':
		src, err := d.str()
		if err != nil {
			return nil, err
		}
		flags, err := d.str()
		if err != nil {
			return nil, err
		}
		o, err := d.newObject("RegExp", src, flags)
		if err != nil {
			return nil, errCorrupt
		}
		d.register(o)
		return o, nil
	case 'o':
		n, err := d.count()
		if err != nil {
			return nil, err
		}
		o := vm.NewObject()
		d.register(o)
		for range n {
			k, err := d.str()
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
					return nil, errCorrupt
				}
			}
		}
		return o, nil
	case 'a':
		n, err := d.count()
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
	case 'M', 'S':
		n, err := d.count()
		if err != nil {
			return nil, err
		}
		ctor, method := "Map", "set"
		if tag == 'S' {
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
			if tag == 'M' {
				v, err := d.item(depth + 1)
				if err != nil {
					return nil, err
				}
				args = append(args, v)
			}
			if _, err := add(o, args...); err != nil {
				return nil, errCorrupt
			}
		}
		return o, nil
	case 'B':
		b, err := d.bytes()
		if err != nil {
			return nil, err
		}
		ab := vm.ToValue(vm.NewArrayBuffer(append([]byte{}, b...)))
		d.register(ab)
		return ab, nil
	case 'V':
		kind, err := d.str()
		if err != nil || !viewKinds[kind] {
			return nil, errCorrupt
		}
		slot := d.register(nil)
		buf, err := d.item(depth + 1)
		if err != nil {
			return nil, err
		}
		if _, ok := buf.Export().(goja.ArrayBuffer); !ok {
			return nil, errCorrupt
		}
		off, err := d.uvarint()
		if err != nil {
			return nil, err
		}
		n, err := d.uvarint()
		if err != nil {
			return nil, err
		}
		o, err := d.vm.New(vm.Get(kind), buf, vm.ToValue(off), vm.ToValue(n))
		if err != nil {
			return nil, errCorrupt
		}
		d.objs[slot] = o
		return o, nil
	case 'X':
		id, err := d.uvarint()
		if err != nil || d.refs == nil {
			return nil, errCorrupt
		}
		return d.refs.importRef(id)
	case 'P':
		slot := d.register(nil)
		prim, err := d.item(depth + 1)
		if err != nil {
			return nil, err
		}
		if _, isObj := prim.(*goja.Object); isObj || goja.IsUndefined(prim) || goja.IsNull(prim) {
			return nil, errCorrupt
		}
		o := prim.ToObject(vm)
		d.objs[slot] = o
		return o, nil
	case 'E':
		var parts [3]string
		for i := range parts {
			if parts[i], err = d.str(); err != nil {
				return nil, err
			}
		}
		ctor := parts[0]
		if _, ok := goja.AssertConstructor(vm.Get(ctor)); !ok || !isErrorName(ctor) {
			ctor = "Error"
		}
		o, err := d.newObject(ctor, parts[1])
		if err != nil {
			return nil, errCorrupt
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
	return nil, errCorrupt
}

func isErrorName(name string) bool {
	switch name {
	case "Error", "EvalError", "RangeError", "ReferenceError", "SyntaxError", "TypeError", "URIError", "AggregateError":
		return true
	}
	return false
}

// installClone defines the serialize/deserialize natives and the global
// structuredClone.
func installClone(vm *goja.Runtime, natives *goja.Object) error {
	serialize := func(v goja.Value) goja.Value {
		b, err := Serialize(vm, v)
		if err != nil {
			panic(cloneException(vm, err))
		}
		return vm.ToValue(vm.NewArrayBuffer(b))
	}
	deserialize := func(v goja.Value) goja.Value {
		out, err := Deserialize(vm, bufferBytes(v))
		if err != nil {
			panic(cloneException(vm, err))
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
			panic(cloneException(vm, err))
		}
		out, err := Deserialize(vm, b)
		if err != nil {
			panic(cloneException(vm, err))
		}
		return out
	})
}

// cloneException converts a clone failure into the JS value to throw: a
// DOMException named DataCloneError when the prelude defines DOMException.
func cloneException(vm *goja.Runtime, err error) goja.Value {
	var ex *goja.Exception
	if errors.As(err, &ex) {
		return ex.Value()
	}
	var ce *CloneError
	if errors.As(err, &ce) {
		if ctor, ok := goja.AssertConstructor(vm.Get("DOMException")); ok {
			if o, cerr := ctor(nil, vm.ToValue(ce.Msg), vm.ToValue("DataCloneError")); cerr == nil {
				return o
			}
		}
	}
	return vm.NewGoError(err)
}
