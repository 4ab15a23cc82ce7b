package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/tailscale/hujson"
)

// A document is a parsed config file in a format-neutral form: JSON-like
// values (map[string]any, []any, string, float64, bool, nil) plus the line
// of each key path, such as "durable_objects.bindings[0].class_name".
type document struct {
	file  string
	root  map[string]any
	lines map[string]int
}

// line returns the line of path, or of its nearest enclosing key that has a
// known line, or 0.
func (d *document) line(path string) int {
	for path != "" {
		if n, ok := d.lines[path]; ok {
			return n
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// errorf returns an *Error located at path.
func (d *document) errorf(path, format string, args ...any) error {
	return &Error{File: d.file, Line: d.line(path), Msg: fmt.Sprintf(format, args...)}
}

// join appends an object key to a key path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// index appends an array index to a key path.
func index(path string, i int) string {
	return fmt.Sprintf("%s[%d]", path, i)
}

// parseJSON parses JSON with comments and trailing commas (JWCC). It walks
// hujson's syntax tree directly, so byte offsets, and hence lines, are those
// of the original text.
func parseJSON(file string, src []byte) (*document, error) {
	v, err := hujson.Parse(src)
	if err != nil {
		// hujson reports "hujson: line N, column C: message".
		var line, col int
		msg := err.Error()
		if _, serr := fmt.Sscanf(msg, "hujson: line %d, column %d:", &line, &col); serr == nil {
			_, msg, _ = strings.Cut(msg, ": ")
			_, msg, _ = strings.Cut(msg, ": ")
		}
		return nil, &Error{File: file, Line: line, Msg: "syntax error: " + msg}
	}
	d := &document{file: file, lines: make(map[string]int)}
	lineAt := func(offset int) int { return 1 + bytes.Count(src[:offset], []byte("\n")) }

	var walk func(v *hujson.Value, path string) (any, error)
	walk = func(v *hujson.Value, path string) (any, error) {
		switch t := v.Value.(type) {
		case *hujson.Object:
			m := make(map[string]any, len(t.Members))
			for i := range t.Members {
				mem := &t.Members[i]
				lit, _ := mem.Name.Value.(hujson.Literal) // names are always strings
				name := lit.String()
				p := join(path, name)
				if _, dup := m[name]; dup {
					return nil, &Error{File: file, Line: lineAt(mem.Name.StartOffset), Msg: fmt.Sprintf("duplicate key %q", p)}
				}
				d.lines[p] = lineAt(mem.Name.StartOffset)
				x, err := walk(&mem.Value, p)
				if err != nil {
					return nil, err
				}
				m[name] = x
			}
			return m, nil
		case *hujson.Array:
			a := make([]any, len(t.Elements))
			for i := range t.Elements {
				p := index(path, i)
				d.lines[p] = lineAt(t.Elements[i].StartOffset)
				x, err := walk(&t.Elements[i], p)
				if err != nil {
					return nil, err
				}
				a[i] = x
			}
			return a, nil
		case hujson.Literal:
			var x any
			if err := json.Unmarshal(t, &x); err != nil {
				return nil, &Error{File: file, Line: lineAt(v.StartOffset), Msg: "syntax error: " + err.Error()}
			}
			return x, nil
		}
		return nil, &Error{File: file, Line: lineAt(v.StartOffset), Msg: "syntax error: unexpected value"}
	}
	root, err := walk(&v, "")
	if err != nil {
		return nil, err
	}
	m, ok := root.(map[string]any)
	if !ok {
		return nil, &Error{File: file, Line: lineAt(v.StartOffset), Msg: "config must be an object, got " + typeName(root)}
	}
	d.root = m
	return d, nil
}

// parseTOML parses TOML. BurntSushi/toml does not expose where keys are, so
// lines come from tomlLines.
func parseTOML(file string, src []byte) (*document, error) {
	var root map[string]any
	if _, err := toml.Decode(string(src), &root); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, &Error{File: file, Line: pe.Position.Line, Msg: "syntax error: " + pe.Message}
		}
		return nil, &Error{File: file, Msg: "syntax error: " + err.Error()}
	}
	if root == nil {
		root = make(map[string]any)
	}
	normalizeTOML(root)
	return &document{file: file, root: root, lines: tomlLines(src)}, nil
}

// normalizeTOML converts decoded TOML values to the JSON-like forms
// parseJSON produces: numbers become float64 (as in JavaScript), arrays of
// tables become []any, and dates and times become strings in TOML syntax, so
// that an unquoted compatibility_date = 2024-04-03 reads as "2024-04-03".
func normalizeTOML(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = normalizeTOML(x)
		}
	case []any:
		for i, x := range t {
			t[i] = normalizeTOML(x)
		}
	case []map[string]any:
		a := make([]any, len(t))
		for i, x := range t {
			a[i] = normalizeTOML(x)
		}
		return a
	case int64:
		return float64(t)
	case time.Time:
		switch t.Location().String() { // BurntSushi/toml marks local values by zone name
		case "date-local":
			return t.Format(time.DateOnly)
		case "time-local":
			return t.Format("15:04:05.999999999")
		case "datetime-local":
			return t.Format("2006-01-02T15:04:05.999999999")
		}
		return t.Format(time.RFC3339Nano)
	}
	return v
}

// tomlLines maps key paths in a TOML document to the line defining them. It
// knows enough TOML for wrangler files: [table] and [[array]] headers, key =
// value lines with dotted or quoted keys, multi-line strings, and multi-line
// arrays whose elements are inline tables each starting a line. Anything else
// gets the line of its nearest enclosing key (see document.line).
func tomlLines(src []byte) map[string]int {
	lines := make(map[string]int)
	set := func(path string, n int) {
		if _, ok := lines[path]; !ok {
			lines[path] = n
		}
	}
	arrays := make(map[string]int) // [[array]] path -> elements seen so far
	resolve := func(keys []string) string {
		path := ""
		for _, k := range keys {
			path = join(path, k)
			if n := arrays[path]; n > 0 {
				path = index(path, n-1) // headers refer to the latest element
			}
		}
		return path
	}

	table := ""          // path of the current [table]
	array := ""          // path of an open multi-line array value
	elems, depth := 0, 0 // its elements seen so far, and bracket nesting
	closeStr := ""       // delimiter ending an open multi-line string
	for i, text := range strings.Split(string(src), "\n") {
		n := i + 1
		s := strings.TrimSpace(text)
		switch {
		case closeStr != "":
			if strings.Contains(s, closeStr) {
				closeStr = ""
			}
		case depth > 0:
			if depth == 1 && strings.HasPrefix(s, "{") {
				set(index(array, elems), n)
				elems++
			} else if depth == 1 && (strings.HasPrefix(s, `"`) || strings.HasPrefix(s, "'")) {
				for range quotedElems(s) {
					set(index(array, elems), n)
					elems++
				}
			}
			depth += nesting(s)
		case s == "" || s[0] == '#':
		case strings.HasPrefix(s, "[["):
			h, _, _ := strings.Cut(s[2:], "]]")
			keys := splitKey(h)
			path := join(resolve(keys[:len(keys)-1]), keys[len(keys)-1])
			set(path, n)
			table = index(path, arrays[path])
			arrays[path]++
			set(table, n)
		case s[0] == '[':
			h, _, _ := strings.Cut(s[1:], "]")
			table = resolve(splitKey(h))
			set(table, n)
		default:
			k, v, ok := cutUnquoted(s, '=')
			if !ok {
				continue
			}
			path := table
			for _, seg := range splitKey(k) {
				path = join(path, seg)
				set(path, n)
			}
			v = strings.TrimSpace(v)
			switch {
			case strings.HasPrefix(v, "["):
				if d := nesting(v); d > 0 {
					array, elems, depth = path, 0, d
				}
			case strings.HasPrefix(v, `"""`), strings.HasPrefix(v, "'''"):
				if strings.Count(v, v[:3]) == 1 {
					closeStr = v[:3]
				}
			}
		}
	}
	return lines
}

// quotedElems counts the strings that begin a line of array elements
// ("a", "b",), up to the first other value or a comment.
func quotedElems(s string) int {
	n := 0
	for {
		s = strings.TrimLeft(s, " \t,")
		if s == "" || (s[0] != '"' && s[0] != '\'') {
			return n
		}
		q := s[0]
		i := 1
		for i < len(s) && s[i] != q {
			if s[i] == '\\' && q == '"' {
				i++
			}
			i++
		}
		n++
		if i >= len(s) {
			return n
		}
		s = s[i+1:]
	}
}

// nesting returns the number of brackets and braces s opens minus the number
// it closes, ignoring strings and comments.
func nesting(s string) int {
	d := 0
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' && quote == '"' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '#':
			return d
		case c == '[' || c == '{':
			d++
		case c == ']' || c == '}':
			d--
		}
	}
	return d
}

// cutUnquoted is strings.Cut on the first sep outside quotes.
func cutUnquoted(s string, sep byte) (before, after string, found bool) {
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' && quote == '"' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == sep:
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// splitKey splits a TOML key such as `a."b.c".d` into its unquoted parts.
func splitKey(k string) []string {
	var keys []string
	for {
		part, rest, more := cutUnquoted(k, '.')
		part = strings.TrimSpace(part)
		if u, err := strconv.Unquote(part); err == nil && strings.HasPrefix(part, `"`) {
			part = u
		} else if len(part) >= 2 && part[0] == '\'' && part[len(part)-1] == '\'' {
			part = part[1 : len(part)-1]
		}
		keys = append(keys, part)
		if !more {
			return keys
		}
		k = rest
	}
}

// typeName names the JSON type of a value, for error messages.
func typeName(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case nil:
		return "null"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}
