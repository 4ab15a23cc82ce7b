package webapi

import "strings"

// urlRecord is a parsed URL's fields as the JS URL class reads them.
type urlRecord struct {
	href, origin, protocol, username, password, host, hostname, port, pathname, search, hash string
}

// parseSimpleURL parses input without the full WHATWG parser when input
// already is the serialization of an http(s) or ws(s) URL that needs no
// normalizing: printable ASCII, a lower-case scheme and host name (not an
// IP address, no punycode), no credentials, a non-default port without
// leading zeros, no dot segments, and nothing the parser would
// percent-encode. Request URLs almost always are; their fields are then
// slices of input, with no allocation. ok is false for anything else,
// which the full parser handles.
func parseSimpleURL(input string) (r urlRecord, ok bool) {
	var defaultPort string
	switch {
	case strings.HasPrefix(input, "https://"):
		r.protocol, defaultPort = "https:", "443"
	case strings.HasPrefix(input, "http://"):
		r.protocol, defaultPort = "http:", "80"
	case strings.HasPrefix(input, "wss://"):
		r.protocol, defaultPort = "wss:", "443"
	case strings.HasPrefix(input, "ws://"):
		r.protocol, defaultPort = "ws:", "80"
	default:
		return r, false
	}
	for i := 0; i < len(input); i++ {
		if c := input[i]; c <= ' ' || c >= 0x7f || c == '\\' || c == '@' {
			return r, false
		}
	}
	start := len(r.protocol) + 2
	end := start
	for end < len(input) && input[end] != '/' && input[end] != '?' && input[end] != '#' {
		end++
	}
	r.host = input[start:end]
	r.hostname = r.host
	if i := strings.IndexByte(r.host, ':'); i >= 0 {
		r.hostname, r.port = r.host[:i], r.host[i+1:]
		if !simplePort(r.port) || r.port == defaultPort {
			return r, false
		}
	}
	if !simpleHostname(r.hostname) {
		return r, false
	}
	r.origin = input[:end]
	rest := input[end:]
	path := rest
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		path = rest[:i]
	}
	if path == "" {
		// An empty path serializes as "/".
		r.pathname = "/"
		r.href = input[:end] + "/" + rest
	} else {
		if !simplePath(path) {
			return r, false
		}
		r.pathname = path
		r.href = input
	}
	rest = rest[len(path):]
	if q, ok := strings.CutPrefix(rest, "?"); ok {
		query := q
		if i := strings.IndexByte(q, '#'); i >= 0 {
			query = q[:i]
		}
		if strings.ContainsAny(query, "\"<>'") {
			return r, false
		}
		if query != "" {
			r.search = rest[:1+len(query)]
		}
		rest = rest[1+len(query):]
	}
	if f, ok := strings.CutPrefix(rest, "#"); ok {
		if strings.ContainsAny(f, "\"<>`") {
			return r, false
		}
		if f != "" {
			r.hash = rest
		}
	}
	return r, true
}

func simplePort(p string) bool {
	if p == "" || len(p) > 5 || p[0] == '0' {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
		n = n*10 + int(p[i]-'0')
	}
	return n <= 65535
}

// simpleHostname says whether h is a lower-case ASCII domain whose
// labels are non-empty, not punycode, and whose last label starts with a
// letter (so it is not an IPv4 address in any of its notations).
func simpleHostname(h string) bool {
	if h == "" {
		return false
	}
	label := 0 // start of the current label
	for i := 0; i <= len(h); i++ {
		if i < len(h) && h[i] != '.' {
			c := h[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
			continue
		}
		if i == label || strings.HasPrefix(h[label:i], "xn--") {
			return false
		}
		label = i + 1
	}
	last := h[strings.LastIndexByte(h, '.')+1:]
	return 'a' <= last[0] && last[0] <= 'z'
}

// simplePath says whether p, which starts with "/", has no dot segment
// (".", "..", or either spelled with %2e) and no byte the path
// percent-encode set holds.
func simplePath(p string) bool {
	if p[0] != '/' {
		return false
	}
	seg := 1
	for i := 1; i <= len(p); i++ {
		if i < len(p) && p[i] != '/' {
			switch p[i] {
			case '"', '<', '>', '`', '{', '}', '^', '|':
				// '^' (which newer editions of the standard encode)
				// and '|' are left to the full parser.
				return false
			}
			continue
		}
		if s := p[seg:i]; len(s) > 0 && len(s) <= 6 && (s[0] == '.' || s[0] == '%') {
			switch strings.ToLower(s) {
			case ".", "..", "%2e", ".%2e", "%2e.", "%2e%2e":
				return false
			}
		}
		seg = i + 1
	}
	return true
}
