package tail

import "testing"

// A filter message is read from the network (a tail's creation, a message
// on its socket): whatever it holds, parsing and matching never panic.
func FuzzParseFilters(f *testing.F) {
	for _, s := range []string{``, `{"filters":[]}`, `{"filters":[{"outcome":["ok"]},{"method":["GET"]}]}`,
		`{"filters":[{"header":{"key":"x","query":"y"}},{"client_ip":["self"]},{"query":"q"},{"scriptVersion":"v"},{"sampling_rate":0.5}]}`,
		`{"filters":[{"header":null,"sampling_rate":null}]}`, `{"filters":[{}]}`} {
		f.Add([]byte(s))
	}
	items := []*Item{requestItem("GET", OutcomeOK, "line"), {Outcome: OutcomeOK}, {Event: &Event{RPCMethod: "m"}}}
	f.Fuzz(func(t *testing.T, body []byte) {
		fs, err := ParseFilters(body, "127.0.0.1")
		if err != nil {
			return
		}
		for _, it := range items {
			Match(fs, it)
		}
	})
}
