package webapi

import (
	"context"
	"log/slog"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/dop251/goja"
)

// consoleLevels maps the level names the prelude's console passes to
// __cairn.log onto slog levels (console.log is "log", console.info "info",
// console.warn "warn", console.error and failed console.assert "error").
var consoleLevels = map[string]slog.Level{
	"debug": slog.LevelDebug,
	"log":   slog.LevelInfo,
	"info":  slog.LevelInfo,
	"warn":  slog.LevelWarn,
	"error": slog.LevelError,
}

// InstallConsole defines on natives the natives behind console and
// performance (jsrt's prelude/05_platform.js defines the globals and formats
// the arguments) and the async context behind AsyncLocalStorage (jsrt's
// modules/async_hooks.js):
//
//	log(level, message)     one slog record, attribute source=console, and a
//	                        call of tap (if not nil) with the same arguments
//	now() number            milliseconds since the runtime started (fractional)
//	asyncContext()          the async context of node:async_hooks (see
//	setAsyncContext(ctx)    installAsyncContext)
func InstallConsole(vm *goja.Runtime, natives *goja.Object, log *slog.Logger, tap func(level, msg string)) error {
	if err := natives.Set("log", func(level, msg string) {
		lv, ok := consoleLevels[level]
		if !ok {
			level, lv = "log", slog.LevelInfo
		}
		log.Log(context.Background(), lv, msg, "source", "console")
		if tap != nil {
			tap(level, msg)
		}
	}); err != nil {
		return err
	}
	start := time.Now()
	if err := natives.Set("now", func() float64 { return float64(time.Since(start).Nanoseconds()) / 1e6 }); err != nil {
		return err
	}
	return installAsyncContext(vm, natives)
}

// asyncContext is the async execution context behind node:async_hooks'
// AsyncLocalStorage: an opaque JS value (modules/async_hooks.js keeps a Map
// of stores in it). As goja's AsyncContextTracker it travels with every
// promise reaction (then callbacks and await continuations): grabbed when the
// reaction is registered, current while it runs, cleared after.
type asyncContext struct{ current goja.Value }

func (c *asyncContext) Grab() any       { return c.current }
func (c *asyncContext) Resumed(ctx any) { c.current, _ = ctx.(goja.Value) }
func (c *asyncContext) Exited()         { c.current = nil }

// installAsyncContext defines the natives asyncContext() (the current
// context, undefined outside any) and setAsyncContext(ctx). The tracker is
// registered on the first setAsyncContext, so runtimes that never use
// AsyncLocalStorage pay nothing per promise reaction.
func installAsyncContext(vm *goja.Runtime, natives *goja.Object) error {
	ctx := &asyncContext{}
	tracking := false
	if err := natives.Set("asyncContext", func(goja.FunctionCall) goja.Value {
		if ctx.current == nil {
			return goja.Undefined()
		}
		return ctx.current
	}); err != nil {
		return err
	}
	return natives.Set("setAsyncContext", func(call goja.FunctionCall) goja.Value {
		if !tracking {
			tracking = true
			vm.SetAsyncContextTracker(ctx)
		}
		ctx.current = call.Argument(0)
		if goja.IsUndefined(ctx.current) {
			ctx.current = nil
		}
		return goja.Undefined()
	})
}

// formatValues formats args as console.log does (Node's util.format):
// through the prelude's __cairn.format when it is installed, so Go and JS
// agree, else with a Go fallback that handles the format directives and
// inspects values compactly.
func formatValues(vm *goja.Runtime, args []goja.Value) string {
	if natives, ok := vm.GlobalObject().Get("__cairn").(*goja.Object); ok {
		if format, ok := goja.AssertFunction(natives.Get("format")); ok {
			if out, err := format(goja.Undefined(), args...); err == nil {
				return out.String()
			}
		}
	}
	return fallbackFormat(vm, args)
}

var formatDirective = regexp.MustCompile(`%[sdifjoOc%]`)

func fallbackFormat(vm *goja.Runtime, args []goja.Value) string {
	if len(args) == 0 {
		return ""
	}
	var sb strings.Builder
	rest := args[1:]
	if f, ok := args[0].Export().(string); ok && goja.IsString(args[0]) {
		i := 1
		sb.WriteString(formatDirective.ReplaceAllStringFunc(f, func(spec string) string {
			if spec == "%%" {
				return "%"
			}
			if i >= len(args) {
				return spec
			}
			v := args[i]
			i++
			switch spec {
			case "%s":
				if goja.IsString(v) {
					return v.String()
				}
				return inspectValue(vm, v, 1, true)
			case "%d":
				return formatNumber(v.ToFloat())
			case "%i":
				f := v.ToFloat()
				if math.IsNaN(f) || math.IsInf(f, 0) {
					return "NaN"
				}
				return formatNumber(math.Trunc(f))
			case "%f":
				return formatNumber(v.ToFloat())
			case "%j":
				b, err := vm.RunString("JSON.stringify")
				if err == nil {
					if fn, ok := goja.AssertFunction(b); ok {
						if out, err := fn(goja.Undefined(), v); err == nil {
							return out.String()
						}
					}
				}
				return "[Circular]"
			case "%c":
				return ""
			}
			return inspectValue(vm, v, 2, true)
		}))
		if i <= len(args) {
			rest = args[i:]
		}
	} else {
		sb.WriteString(inspectValue(vm, args[0], 2, false))
	}
	for _, v := range rest {
		sb.WriteByte(' ')
		if goja.IsString(v) {
			sb.WriteString(v.String())
		} else {
			sb.WriteString(inspectValue(vm, v, 2, false))
		}
	}
	return sb.String()
}

func formatNumber(f float64) string {
	if f == 0 && math.Signbit(f) {
		return "-0"
	}
	// JS Number#toString: integers without exponent up to 1e21, else
	// the shortest round-tripping form with a JS-style exponent.
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == math.Trunc(f) && math.Abs(f) < 1e21:
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	a := math.Abs(f)
	if a >= 1e-6 && a < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	s := strconv.FormatFloat(f, 'e', -1, 64) // 1e-07 → 1e-7
	mant, exp, _ := strings.Cut(s, "e")
	sign := exp[0]
	exp = strings.TrimLeft(exp[1:], "0")
	if sign == '+' {
		return mant + "e+" + exp
	}
	return mant + "e-" + exp
}

var identifierKey = regexp.MustCompile(`^[A-Za-z_$][\w$]*$`)

// inspectValue renders v compactly, like Node's util.inspect on one line.
// nested quotes strings (they are inside a container or a %s of an object).
func inspectValue(vm *goja.Runtime, v goja.Value, depth int, nested bool) string {
	return (&inspector{vm: vm, seen: map[*goja.Object]bool{}}).value(v, depth, nested)
}

type inspector struct {
	vm   *goja.Runtime
	seen map[*goja.Object]bool
}

func (in *inspector) value(v goja.Value, depth int, nested bool) string {
	if v == nil || goja.IsUndefined(v) {
		return "undefined"
	}
	if goja.IsNull(v) {
		return "null"
	}
	obj, ok := v.(*goja.Object)
	if !ok {
		switch x := v.Export().(type) {
		case string:
			if nested {
				return "'" + strings.ReplaceAll(x, "'", `\'`) + "'"
			}
			return x
		case *big.Int:
			return x.String() + "n"
		case float64:
			return formatNumber(x)
		}
		return v.String()
	}
	if _, isFn := goja.AssertFunction(obj); isFn {
		name := obj.Get("name")
		if name == nil || name.String() == "" {
			return "[Function: (anonymous)]"
		}
		return "[Function: " + name.String() + "]"
	}
	switch obj.ClassName() {
	case "Error":
		if st := obj.Get("stack"); st != nil && !goja.IsUndefined(st) {
			return st.String()
		}
		return obj.String()
	case "Date", "RegExp":
		if obj.ClassName() == "Date" {
			if iso, ok := goja.AssertFunction(obj.Get("toISOString")); ok {
				if out, err := iso(obj); err == nil {
					return out.String()
				}
			}
		}
		return obj.String()
	}
	if in.seen[obj] {
		return "[Circular]"
	}
	isArray := obj.ClassName() == "Array"
	if depth < 0 {
		if isArray {
			return "[Array]"
		}
		return "[Object]"
	}
	in.seen[obj] = true
	defer delete(in.seen, obj)
	var parts []string
	if isArray {
		n := int(obj.Get("length").ToInteger())
		for i := range n {
			parts = append(parts, in.value(obj.Get(strconv.Itoa(i)), depth-1, true))
		}
		if len(parts) == 0 {
			return "[]"
		}
		return "[ " + strings.Join(parts, ", ") + " ]"
	}
	for _, k := range obj.Keys() {
		key := k
		if !identifierKey.MatchString(k) {
			key = "'" + k + "'"
		}
		parts = append(parts, key+": "+in.value(obj.Get(k), depth-1, true))
	}
	if len(parts) == 0 {
		return "{}"
	}
	return "{ " + strings.Join(parts, ", ") + " }"
}
