package webapi

import (
	"strings"
	"unicode/utf8"

	"github.com/dop251/goja"
	whatwg "github.com/nlnwa/whatwg-url/url"
)

// urlParser is the WHATWG URL Standard parser (github.com/nlnwa/whatwg-url)
// with its default options, which follow the standard. It holds no state
// between calls, so one serves every runtime.
var urlParser = whatwg.NewParser()

// URL record fields as urlParse and urlSet return them, in this order; the
// JS URL class (prelude/07_url.js) reads them by these indices.
const (
	urlHref = iota
	urlOrigin
	urlProtocol
	urlUsername
	urlPassword
	urlHost
	urlHostname
	urlPort
	urlPathname
	urlSearch
	urlHash
	urlFields
)

// InstallURL adds the natives behind the URL and URLSearchParams classes
// of prelude/07_url.js to natives:
//
//   - urlParse(input, base?) parses input (against base, when given) with
//     the WHATWG URL Standard parser and returns the URL's fields as an
//     array (the order of the url* constants), or null when either fails
//     to parse.
//   - urlSet(href, name, value) runs the setter name ("protocol",
//     "username", ..., "hash") on the parsed href and returns the fields
//     afterwards; setting "href" to an invalid URL returns null.
//   - formParse(s) parses application/x-www-form-urlencoded s into a flat
//     array of names and values.
//   - formSerialize(pairs) serializes such a flat array.
//
// Parsing stays in Go because new URL(request.url) runs on every request.
func InstallURL(vm *goja.Runtime, natives *goja.Object) error {
	// The fast path's protocols, made JS values once, and its host reused
	// as the hostname when they are the same string: each conversion of a
	// non-empty string to a goja.Value allocates.
	protocols := map[string]goja.Value{}
	for _, p := range []string{"http:", "https:", "ws:", "wss:"} {
		protocols[p] = vm.ToValue(p)
	}
	record := func(r urlRecord) goja.Value {
		host := vm.ToValue(r.host)
		hostname := host
		if r.port != "" {
			hostname = vm.ToValue(r.hostname)
		}
		return vm.NewArray(r.href, r.origin, protocols[r.protocol], "", "", host, hostname, r.port, r.pathname, r.search, r.hash)
	}
	fields := func(u *whatwg.Url) goja.Value {
		vals := [urlFields]any{
			urlHref:     u.Href(false),
			urlOrigin:   urlOriginOf(u),
			urlProtocol: u.Protocol(),
			urlUsername: u.Username(),
			urlPassword: u.Password(),
			urlHost:     u.Host(),
			urlHostname: u.Hostname(),
			urlPort:     u.Port(),
			urlPathname: u.Pathname(),
			urlSearch:   u.Search(),
			urlHash:     u.Hash(),
		}
		return vm.NewArray(vals[:]...)
	}
	for name, fn := range map[string]func(goja.FunctionCall) goja.Value{
		"urlParse": func(call goja.FunctionCall) goja.Value {
			defer invalidURLOnPanic(vm)
			input := call.Argument(0).String()
			var (
				u   *whatwg.Url
				err error
			)
			if base := call.Argument(1); goja.IsUndefined(base) {
				if r, ok := parseSimpleURL(input); ok {
					return record(r)
				}
				u, err = urlParser.Parse(input)
			} else {
				var b *whatwg.Url
				if b, err = urlParser.Parse(base.String()); err == nil {
					u, err = b.Parse(input)
				}
			}
			if err != nil {
				return goja.Null()
			}
			return fields(u)
		},
		"urlSet": func(call goja.FunctionCall) goja.Value {
			defer invalidURLOnPanic(vm)
			u, err := urlParser.Parse(call.Argument(0).String())
			if err != nil {
				return goja.Null()
			}
			value := call.Argument(2).String()
			switch call.Argument(1).String() {
			case "href":
				if u, err = urlParser.Parse(value); err != nil {
					return goja.Null()
				}
			case "protocol":
				u.SetProtocol(value)
			case "username":
				u.SetUsername(value)
			case "password":
				u.SetPassword(value)
			case "host":
				u.SetHost(value)
			case "hostname":
				u.SetHostname(value)
			case "port":
				u.SetPort(value)
			case "pathname":
				u.SetPathname(value)
			case "search":
				u.SetSearch(value)
			case "hash":
				u.SetHash(value)
			}
			return fields(u)
		},
		"formParse": func(call goja.FunctionCall) goja.Value {
			pairs := ParseForm(call.Argument(0).String())
			vals := make([]any, len(pairs))
			for i, s := range pairs {
				vals[i] = s
			}
			return vm.NewArray(vals...)
		},
		"formSerialize": func(call goja.FunctionCall) goja.Value {
			var pairs []string
			if err := vm.ExportTo(call.Argument(0), &pairs); err != nil {
				panic(vm.NewTypeError("formSerialize: %v", err))
			}
			return vm.ToValue(SerializeForm(pairs))
		},
	} {
		if err := natives.Set(name, fn); err != nil {
			return err
		}
	}
	return nil
}

// invalidURLOnPanic turns a panic of the URL parser (a bug in it) into
// the TypeError of an invalid URL, so that it fails the call and not the
// Worker. Exceptions thrown on purpose (goja values) pass through.
func invalidURLOnPanic(vm *goja.Runtime) {
	r := recover()
	if r == nil {
		return
	}
	if _, ok := r.(*goja.Exception); ok {
		panic(r)
	}
	if _, ok := r.(goja.Value); ok {
		panic(r)
	}
	panic(vm.NewTypeError("Invalid URL string."))
}

// urlOriginOf is the ASCII serialization of u's origin: scheme://host[:port]
// for the special schemes but file, the origin of the URL inside a blob:
// URL whose inner URL is http(s), and "null" otherwise.
func urlOriginOf(u *whatwg.Url) string {
	switch u.Scheme() {
	case "http", "https", "ws", "wss", "ftp":
		return u.Protocol() + "//" + u.Host()
	case "blob":
		inner, err := urlParser.Parse(u.Pathname())
		if err == nil && (inner.Scheme() == "http" || inner.Scheme() == "https") {
			return urlOriginOf(inner)
		}
	}
	return "null"
}

// ParseForm parses application/x-www-form-urlencoded s (URL Standard 5.1)
// into a flat list of names and values: "+" is a space, percent escapes are
// bytes, and the bytes are decoded as UTF-8 with U+FFFD for invalid ones.
func ParseForm(s string) []string {
	var out []string
	for s != "" {
		var seq string
		seq, s, _ = strings.Cut(s, "&")
		if seq == "" {
			continue
		}
		name, value, _ := strings.Cut(seq, "=")
		out = append(out, formDecode(name), formDecode(value))
	}
	return out
}

func formDecode(s string) string {
	if !strings.ContainsAny(s, "+%") && utf8.ValidString(s) {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			b = append(b, ' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b = append(b, hexValue(s[i+1])<<4|hexValue(s[i+2]))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func hexValue(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// SerializeForm serializes a flat list of names and values as
// application/x-www-form-urlencoded (URL Standard 5.2): ASCII alphanumerics
// and *-._ as they are, space as "+", every other UTF-8 byte escaped.
func SerializeForm(pairs []string) string {
	var b strings.Builder
	for i := 0; i+1 < len(pairs); i += 2 {
		if i > 0 {
			b.WriteByte('&')
		}
		formEncode(&b, pairs[i])
		b.WriteByte('=')
		formEncode(&b, pairs[i+1])
	}
	return b.String()
}

func formEncode(b *strings.Builder, s string) {
	const hex = "0123456789ABCDEF"
	s = strings.ToValidUTF8(s, "\uFFFD")
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '*', c == '-', c == '.', c == '_':
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
}
