package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/cairn-dev/cairn/tail"
)

// The command line's filters become the filter message wrangler sends.
func TestTailFilterMessage(t *testing.T) {
	tests := []struct {
		name    string
		flags   tailFlags
		want    string
		wantErr string
	}{
		{"none", tailFlags{}, `{"filters":[]}`, ""},
		{"status", tailFlags{status: []string{"ok", "error"}},
			`{"filters":[{"outcome":["ok","exception","exceededCpu","exceededMemory","unknown"]}]}`, ""},
		{"method and search", tailFlags{method: []string{"POST"}, search: "boom"},
			`{"filters":[{"method":["POST"]},{"query":"boom"}]}`, ""},
		{"header", tailFlags{header: "X-Tenant: acme"}, `{"filters":[{"header":{"key":"X-Tenant","query":"acme"}}]}`, ""},
		{"sampling, ip, version", tailFlags{samplingRate: 0.5, ip: []string{"self"}, versionID: "v1"},
			`{"filters":[{"sampling_rate":0.5},{"client_ip":["self"]},{"scriptVersion":"v1"}]}`, ""},
		{"bad status", tailFlags{status: []string{"maybe"}}, "", `--status "maybe"`},
		{"bad rate", tailFlags{samplingRate: 1.5}, "", "--sampling-rate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := tt.flags.filterMessage()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(m)
			if string(b) != tt.want {
				t.Errorf("got  %s\nwant %s", b, tt.want)
			}
			// The server reads what the client sends.
			if _, err := tail.ParseFilters(b, "127.0.0.1"); err != nil {
				t.Errorf("server refuses it: %v", err)
			}
		})
	}
}

func TestPrintItem(t *testing.T) {
	tests := []struct {
		name string
		item tail.Item
		want []string
	}{
		{"request", tail.Item{Outcome: "ok", Event: &tail.Event{Request: &tail.Request{Method: "GET", URL: "http://x/a"}, Response: &tail.Response{Status: 200}},
			Logs: []tail.Log{{Message: []any{"hello"}, Level: "log"}}},
			[]string{"GET http://x/a - Ok 200 @ ", "  (log) hello"}},
		{"exception", tail.Item{Outcome: "exception", Event: &tail.Event{Request: &tail.Request{Method: "POST", URL: "http://x/b"}},
			Exceptions: []tail.Exception{{Name: "TypeError", Message: "bad", Stack: "TypeError: bad\n    at f (src/index.ts:3:9)"}}},
			[]string{"POST http://x/b - Exception Thrown @ ", "  TypeError: bad", "      at f (src/index.ts:3:9)"}},
		{"object rpc", tail.Item{Outcome: "ok", Entrypoint: "Counter", DurableObjectID: strings.Repeat("ab", 32), DurableObjectName: "alice",
			Event: &tail.Event{RPCMethod: "increment"}},
			[]string{`Counter.increment [Counter abababababab… "alice"] - Ok @ `}},
		{"alarm", tail.Item{Outcome: "exceededCpu", Entrypoint: "C", DurableObjectID: "12", Event: &tail.Event{ScheduledTime: "2026-12-01T12:00:00Z"}},
			[]string{"Alarm [C 12] @ 2026-12-01T12:00:00Z - Exceeded CPU Limit"}},
		{"websocket", tail.Item{Outcome: "ok", Entrypoint: "C", DurableObjectID: "12", Event: &tail.Event{WebSocket: &tail.WebSocketEvent{Type: "close"}}},
			[]string{"WebSocket close [C 12] - Ok @ "}},
		{"overload", tail.Item{Event: &tail.Event{Type: "overload", Message: "3 events were dropped"}}, []string{"3 events were dropped"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sb strings.Builder
			printItem(&sb, &tt.item)
			lines := strings.Split(strings.TrimSuffix(sb.String(), "\n"), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("got %q, want %d lines", lines, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(lines[i], w) {
					t.Errorf("line %d: %q, want prefix %q", i, lines[i], w)
				}
			}
		})
	}
}
