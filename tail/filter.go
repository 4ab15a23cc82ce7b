package tail

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// ErrBadFilter is returned (wrapped) for a filter message that cannot be
// read or a filter with an impossible value.
var ErrBadFilter = errors.New("bad tail filter")

// Filter is one of the filters of a tail, in the shape wrangler sends
// (`{"filters": [{"outcome": ["ok"]}, {"method": ["GET"]}, …]}`): each
// object sets one field. An item passes a tail when it passes all of its
// filters.
type Filter struct {
	SamplingRate  *float64      `json:"sampling_rate,omitempty"`
	Outcome       []string      `json:"outcome,omitempty"`
	Method        []string      `json:"method,omitempty"`
	Header        *HeaderFilter `json:"header,omitempty"`
	ClientIP      []string      `json:"client_ip,omitempty"`
	Query         *string       `json:"query,omitempty"`
	ScriptVersion *string       `json:"scriptVersion,omitempty"`
}

// HeaderFilter passes requests that carry header Key, with a value
// containing Query if it is set.
type HeaderFilter struct {
	Key   string `json:"key"`
	Query string `json:"query,omitempty"`
}

// FilterMessage is the body of a tail's creation, and a message a client
// may send on the tail's WebSocket to replace its filters.
type FilterMessage struct {
	Filters []Filter `json:"filters"`
	Debug   bool     `json:"debug,omitempty"`
}

// ParseFilters reads a filter message. An empty body means no filters.
// self is the tail client's address, which a client_ip filter of "self"
// stands for.
func ParseFilters(body []byte, self string) ([]Filter, error) {
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil, nil
	}
	var m FilterMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadFilter, err)
	}
	for i := range m.Filters {
		f := &m.Filters[i]
		if f.SamplingRate != nil && (*f.SamplingRate <= 0 || *f.SamplingRate > 1) {
			return nil, fmt.Errorf("%w: sampling_rate %v: want a number in (0, 1]", ErrBadFilter, *f.SamplingRate)
		}
		if f.Header != nil && f.Header.Key == "" {
			return nil, fmt.Errorf("%w: header filter without a key", ErrBadFilter)
		}
		for j, ip := range f.ClientIP {
			if ip == "self" {
				f.ClientIP[j] = self
			}
		}
	}
	return m.Filters, nil
}

// Match reports whether it passes every filter of fs. A sampling rate
// passes that share of items at random.
func Match(fs []Filter, it *Item) bool {
	for i := range fs {
		if !fs[i].match(it) {
			return false
		}
	}
	return true
}

func (f *Filter) match(it *Item) bool {
	var req *Request
	if it.Event != nil {
		req = it.Event.Request
	}
	switch {
	case f.SamplingRate != nil:
		return *f.SamplingRate >= 1 || rand.Float64() < *f.SamplingRate
	case f.Outcome != nil:
		return slices.Contains(f.Outcome, it.Outcome)
	case f.Method != nil:
		return req != nil && slices.ContainsFunc(f.Method, func(m string) bool { return strings.EqualFold(m, req.Method) })
	case f.Header != nil:
		if req == nil {
			return false
		}
		v, ok := req.Headers[strings.ToLower(f.Header.Key)]
		return ok && strings.Contains(v, f.Header.Query)
	case f.ClientIP != nil:
		return slices.Contains(f.ClientIP, it.clientIP)
	case f.Query != nil:
		return it.contains(*f.Query)
	case f.ScriptVersion != nil:
		return it.ScriptVersion != nil && it.ScriptVersion.ID == *f.ScriptVersion
	}
	return true // a filter of a kind cairn does not know passes everything
}

// contains reports whether text occurs in a console line or an exception
// of the item (wrangler tail --search).
func (it *Item) contains(text string) bool {
	for _, l := range it.Logs {
		for _, m := range l.Message {
			if s, ok := m.(string); ok && strings.Contains(s, text) {
				return true
			}
		}
	}
	for _, e := range it.Exceptions {
		if strings.Contains(e.Name, text) || strings.Contains(e.Message, text) || strings.Contains(e.Stack, text) {
			return true
		}
	}
	return false
}
