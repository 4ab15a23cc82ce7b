package clone

import (
	"cmp"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"slices"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDateMs is the largest distance from the epoch, in ms, of a JS Date.
const maxDateMs = 8.64e15

// Marshal encodes the Go value v as the JS value it stands for:
//
//	nil, a nil *big.Int or *Error    null
//	Undefined                        undefined
//	bool                             boolean
//	float64, float32                 number (integers in ±2^53 as 'i', others as 'd')
//	int, int8…int64, uint…uint64     number; an integer a float64 cannot hold
//	                                 exactly (beyond ±2^53, mostly) is refused:
//	                                 use *big.Int for a BigInt
//	string                           string; valid UTF-8 as 's', WTF-8 holding a
//	                                 lone surrogate as 'w' (see Unmarshal); any
//	                                 other invalid byte stands for U+FFFD
//	*big.Int                         BigInt
//	time.Time                        Date, to the millisecond (truncated toward
//	                                 the past); refused beyond ±8.64e15 ms of the
//	                                 epoch, which a Date cannot hold
//	InvalidDate                      Date whose time is NaN
//	[]byte                           ArrayBuffer
//	View                             typed array or DataView over its Buffer
//	[]any, any other slice           array
//	map[string]any, any other map    object with those own properties, keys in
//	  with string keys               sorted order (keys not valid UTF-8 are
//	                                 made so, U+FFFD for each bad byte)
//	Map                              Map
//	Set                              Set
//	*Error, Error                    Error
//	RegExp                           RegExp
//	Wrapper                          String, Number, Boolean or BigInt object
//
// Named types whose underlying type is listed (a string, a slice, a map
// with string keys) are encoded as it is. A nil slice or map is an empty
// array or object. Any other type (a struct, a pointer, a func, a channel,
// a map with other keys) is refused with a *CloneError.
//
// Marshal keeps identity: a slice (of any kind: []any, Map, Set, []byte),
// map or *Error met a second time (the same backing array and length, the
// same map, the same pointer) is written as a back-reference, so shared
// values are read back shared and cyclic values can be written. A slice
// with no capacity and a nil map have no identity (empty slices may share
// an address), nor have Dates, RegExps, Views and Wrappers, which are Go
// values: each occurrence is a new JS object (a View's Buffer is still
// shared).
// Nesting deeper than MaxDepth is refused with a *CloneError.
func Marshal(v any) ([]byte, error) {
	e := &encoder{w: NewWriter()}
	if err := e.value(v, 0); err != nil {
		return nil, err
	}
	return e.w.Bytes(), nil
}

type encoder struct {
	w    *Writer
	objs int              // objects written so far
	seen map[identity]int // object number of each value with identity
}

// identity tells apart the Go values that stand for one JS object: tag is
// the item's tag, p the map, pointer or backing array and n the length.
type identity struct {
	tag byte
	p   uintptr
	n   int
}

// object writes the tag of an object and numbers it.
func (e *encoder) object(tag byte) {
	e.w.Byte(tag)
	e.objs++
}

// open writes the tag of an object, or a back-reference if the same
// object was written before: p is the address of its map, pointer or
// backing array and n its length. A value with no identity (hasID false)
// is a new object each time.
func (e *encoder) open(tag byte, p uintptr, n int, hasID bool) (isRef bool) {
	if !hasID {
		e.object(tag)
		return false
	}
	id := identity{tag, p, n}
	if k, ok := e.seen[id]; ok {
		e.w.Byte(TagRef)
		e.w.Uvarint(uint64(k))
		return true
	}
	if e.seen == nil {
		e.seen = make(map[identity]int)
	}
	e.seen[id] = e.objs
	e.object(tag)
	return false
}

func (e *encoder) value(v any, depth int) error {
	if depth > MaxDepth {
		return &CloneError{Msg: "value is nested too deeply to be cloned"}
	}
	switch x := v.(type) {
	case nil:
		e.w.Byte(TagNull)
	case Undefined:
		e.w.Byte(TagUndefined)
	case bool:
		e.bool(x)
	case float64:
		e.number(x)
	case float32:
		e.number(float64(x))
	case int:
		return e.int(int64(x))
	case int64:
		return e.int(x)
	case string:
		e.string(x)
	case *big.Int:
		if x == nil {
			e.w.Byte(TagNull)
			return nil
		}
		e.w.Byte(TagBigInt)
		e.w.BigInt(x)
	case time.Time:
		return e.date(x)
	case InvalidDate:
		e.object(TagDate)
		e.w.Float64(math.NaN())
	case []byte:
		e.buffer(x)
	case View:
		return e.view(x, depth)
	case []any:
		if e.open(TagArray, reflect.ValueOf(v).Pointer(), len(x), cap(x) > 0) {
			return nil
		}
		e.w.Uvarint(uint64(len(x)))
		for _, el := range x {
			if err := e.value(el, depth+1); err != nil {
				return err
			}
		}
	case map[string]any:
		if e.open(TagObject, reflect.ValueOf(v).Pointer(), 0, x != nil) {
			return nil
		}
		props := make([]prop, 0, len(x))
		for k, el := range x {
			props = append(props, prop{k, el})
		}
		return e.props(props, depth)
	case Map:
		if e.open(TagMap, reflect.ValueOf(v).Pointer(), len(x), cap(x) > 0) {
			return nil
		}
		e.w.Uvarint(uint64(len(x)))
		for _, en := range x {
			if err := e.value(en.Key, depth+1); err != nil {
				return err
			}
			if err := e.value(en.Value, depth+1); err != nil {
				return err
			}
		}
	case Set:
		if e.open(TagSet, reflect.ValueOf(v).Pointer(), len(x), cap(x) > 0) {
			return nil
		}
		e.w.Uvarint(uint64(len(x)))
		for _, el := range x {
			if err := e.value(el, depth+1); err != nil {
				return err
			}
		}
	case *Error:
		if x == nil {
			e.w.Byte(TagNull)
			return nil
		}
		if e.open(TagError, reflect.ValueOf(v).Pointer(), 0, true) {
			return nil
		}
		e.errorFields(x)
	case Error:
		e.object(TagError)
		e.errorFields(&x)
	case RegExp:
		e.object(TagRegExp)
		e.w.Str(x.Source)
		e.w.Str(x.Flags)
	case Wrapper:
		return e.wrapper(x, depth)
	default:
		return e.reflectValue(reflect.ValueOf(v), depth)
	}
	return nil
}

func (e *encoder) bool(b bool) {
	if b {
		e.w.Byte(TagTrue)
	} else {
		e.w.Byte(TagFalse)
	}
}

// number writes f as 'i' if it is an integer in ±2^53 (not -0), else 'd'.
func (e *encoder) number(f float64) {
	if f > -(1<<53) && f < 1<<53 && f == math.Trunc(f) && (f != 0 || !math.Signbit(f)) {
		e.w.Byte(TagInt)
		e.w.Varint(int64(f))
		return
	}
	e.w.Byte(TagFloat)
	e.w.Float64(f)
}

func (e *encoder) int(n int64) error {
	f := float64(n)
	if f >= 1<<63 || int64(f) != n {
		return &CloneError{Msg: fmt.Sprintf("clone: integer %d is not exactly a JS number (use *big.Int for a BigInt)", n)}
	}
	e.number(f)
	return nil
}

func (e *encoder) uint(n uint64) error {
	f := float64(n)
	if f >= 1<<64 || uint64(f) != n {
		return &CloneError{Msg: fmt.Sprintf("clone: integer %d is not exactly a JS number (use *big.Int for a BigInt)", n)}
	}
	e.number(f)
	return nil
}

func (e *encoder) string(s string) {
	if utf8.ValidString(s) {
		e.w.Byte(TagString)
		e.w.Str(s)
		return
	}
	units, lone := utf16Units(s)
	if lone {
		e.w.Byte(TagUTF16)
		e.w.UTF16(units)
		return
	}
	e.w.Byte(TagString)
	e.w.Str(string(utf16.Decode(units)))
}

func (e *encoder) date(t time.Time) error {
	if sec := t.Unix(); sec < -maxDateMs/1000 || sec > maxDateMs/1000 {
		return &CloneError{Msg: fmt.Sprintf("clone: time %v is outside the range of a JS Date", t)}
	}
	ms := t.UnixMilli()
	if ms < -maxDateMs || ms > maxDateMs {
		return &CloneError{Msg: fmt.Sprintf("clone: time %v is outside the range of a JS Date", t)}
	}
	e.object(TagDate)
	e.w.Float64(float64(ms))
	return nil
}

func (e *encoder) buffer(b []byte) {
	if e.open(TagArrayBuffer, reflect.ValueOf(b).Pointer(), len(b), cap(b) > 0) {
		return
	}
	e.w.Bin(b)
}

func (e *encoder) view(v View, depth int) error {
	size := ViewElemSize(v.Type)
	if size == 0 {
		return &CloneError{Msg: fmt.Sprintf("clone: %q is not a typed array or DataView", v.Type)}
	}
	if v.Offset < 0 || v.Length < 0 || v.Offset%size != 0 || v.Offset > len(v.Buffer) || v.Length > (len(v.Buffer)-v.Offset)/size {
		return &CloneError{Msg: fmt.Sprintf("clone: %s of offset %d and length %d does not fit its %d-byte buffer", v.Type, v.Offset, v.Length, len(v.Buffer))}
	}
	if depth+1 > MaxDepth {
		return &CloneError{Msg: "value is nested too deeply to be cloned"}
	}
	e.object(TagView)
	e.w.Str(v.Type)
	e.buffer(v.Buffer)
	e.w.Uvarint(uint64(v.Offset))
	e.w.Uvarint(uint64(v.Length))
	return nil
}

func (e *encoder) errorFields(x *Error) {
	e.w.Str(x.Name)
	e.w.Str(x.Message)
	e.w.Str(x.Stack)
}

func (e *encoder) wrapper(x Wrapper, depth int) error {
	switch p := x.Value.(type) {
	case bool, float64, float32, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, string:
	case *big.Int:
		if p == nil {
			return &CloneError{Msg: "clone: Wrapper of a nil *big.Int"}
		}
	default:
		return &CloneError{Msg: fmt.Sprintf("clone: Wrapper of %T, not a string, number, boolean or *big.Int", x.Value)}
	}
	e.object(TagWrapper)
	return e.value(x.Value, depth+1)
}

// prop is one property of an object being written.
type prop struct {
	key string
	val any
}

// props writes the count and properties of an object (its tag is
// written): keys made valid UTF-8, sorted.
func (e *encoder) props(props []prop, depth int) error {
	slices.SortFunc(props, func(a, b prop) int { return cmp.Compare(a.key, b.key) })
	fixed := false
	for i, p := range props {
		if !utf8.ValidString(p.key) {
			units, _ := utf16Units(p.key)
			props[i].key = string(utf16.Decode(units))
			fixed = true
		}
	}
	if fixed {
		// Keys made valid may now sort differently or collide: the last
		// of equal keys (in the order of the original keys) wins.
		slices.SortStableFunc(props, func(a, b prop) int { return cmp.Compare(a.key, b.key) })
		kept := props[:0]
		for i, p := range props {
			if i+1 == len(props) || props[i+1].key != p.key {
				kept = append(kept, p)
			}
		}
		props = kept
	}
	e.w.Uvarint(uint64(len(props)))
	for _, p := range props {
		e.w.Str(p.key)
		if err := e.value(p.val, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// reflectValue writes the values of types not listed in value's switch:
// named types and other kinds of integers, slices and maps.
func (e *encoder) reflectValue(rv reflect.Value, depth int) error {
	switch rv.Kind() {
	case reflect.Bool:
		e.bool(rv.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return e.int(rv.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return e.uint(rv.Uint())
	case reflect.Float32, reflect.Float64:
		e.number(rv.Float())
	case reflect.String:
		e.string(rv.String())
	case reflect.Slice:
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			e.buffer(rv.Bytes())
			return nil
		}
		n := rv.Len()
		if e.open(TagArray, rv.Pointer(), n, rv.Cap() > 0) {
			return nil
		}
		e.w.Uvarint(uint64(n))
		for i := range n {
			if err := e.value(rv.Index(i).Interface(), depth+1); err != nil {
				return err
			}
		}
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return &CloneError{Msg: fmt.Sprintf("clone: cannot marshal %s: an object's keys are strings", rv.Type())}
		}
		n := rv.Len()
		if e.open(TagObject, rv.Pointer(), 0, !rv.IsNil()) {
			return nil
		}
		props := make([]prop, 0, n)
		for it := rv.MapRange(); it.Next(); {
			props = append(props, prop{it.Key().String(), it.Value().Interface()})
		}
		return e.props(props, depth)
	default:
		return &CloneError{Msg: fmt.Sprintf("clone: cannot marshal %s", rv.Type())}
	}
	return nil
}
