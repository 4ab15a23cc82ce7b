package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestAPIEnvelopeAndToken(t *testing.T) {
	api := NewAPI("s3cret")
	api.Handle("GET /things/{id}", func(r *http.Request) (any, error) {
		if r.PathValue("id") == "bad" {
			return nil, &APIError{Status: http.StatusNotFound, Code: 7404, Message: "no such thing"}
		}
		if r.PathValue("id") == "boom" {
			return nil, errors.New("disk on fire")
		}
		return map[string]string{"id": r.PathValue("id")}, nil
	})
	tests := []struct {
		name, path, auth string
		status           int
		success          bool
		code             int
	}{
		{"ok", "/client/v4/things/a", "Bearer s3cret", 200, true, 0},
		{"no token", "/client/v4/things/a", "", 401, false, 10000},
		{"wrong token", "/client/v4/things/a", "Bearer nope", 401, false, 10000},
		{"api error", "/client/v4/things/bad", "Bearer s3cret", 404, false, 7404},
		{"plain error", "/client/v4/things/boom", "Bearer s3cret", 500, false, 7500},
		{"unknown route", "/client/v4/nothing", "Bearer s3cret", 404, false, 7003},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", tt.path, nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			rec := httptest.NewRecorder()
			api.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			var env struct {
				Success bool
				Errors  []APIError
				Result  map[string]string
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
				t.Fatal(err)
			}
			if env.Success != tt.success {
				t.Fatalf("success %v: %s", env.Success, rec.Body)
			}
			if tt.success && env.Result["id"] != "a" {
				t.Fatalf("result %v", env.Result)
			}
			if !tt.success && (len(env.Errors) != 1 || env.Errors[0].Code != tt.code) {
				t.Fatalf("errors %+v, want code %d", env.Errors, tt.code)
			}
		})
	}
}

func TestCheckAPIAddr(t *testing.T) {
	tests := []struct {
		addr, token string
		ok          bool
	}{
		{"127.0.0.1:8788", "", true},
		{"[::1]:8788", "", true},
		{"localhost:8788", "", true},
		{"0.0.0.0:8788", "", false},
		{"0.0.0.0:8788", "t", true},
		{"10.1.2.3:8788", "", false},
	}
	for _, tt := range tests {
		err := CheckAPIAddr(tt.addr, tt.token)
		if (err == nil) != tt.ok {
			t.Errorf("CheckAPIAddr(%q, %q) = %v", tt.addr, tt.token, err)
		}
	}
}

// The admin API without a token serves only local clients: not a web page
// (a "simple" cross-origin POST needs no preflight), not a DNS-rebinding
// page (its Host is the attacker's name), not a remote machine.
func TestAPIAuthorizeWithoutToken(t *testing.T) {
	tests := []struct {
		name, remote, host string
		header             map[string]string
		status             int
	}{
		{"local cli", "127.0.0.1:5000", "127.0.0.1:8788", nil, 200},
		{"localhost", "127.0.0.1:5000", "localhost:8788", nil, 200},
		{"ipv6", "[::1]:5000", "[::1]:8788", nil, 200},
		{"local origin", "127.0.0.1:5000", "localhost:8788", map[string]string{"Origin": "http://localhost:3000"}, 200},
		{"remote client", "10.0.0.7:5000", "127.0.0.1:8788", nil, 403},
		{"rebinding host", "127.0.0.1:5000", "evil.example:8788", nil, 403},
		{"no host", "127.0.0.1:5000", "", nil, 403},
		{"cross-site origin", "127.0.0.1:5000", "127.0.0.1:8788", map[string]string{"Origin": "https://evil.example"}, 403},
		{"null origin", "127.0.0.1:5000", "127.0.0.1:8788", map[string]string{"Origin": "null"}, 403},
		{"sec-fetch-site", "127.0.0.1:5000", "127.0.0.1:8788", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"same-origin fetch", "127.0.0.1:5000", "127.0.0.1:8788", map[string]string{"Sec-Fetch-Site": "same-origin"}, 200},
	}
	api := NewAPI("")
	api.Handle("GET /ping", func(r *http.Request) (any, error) { return "pong", nil })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/client/v4/ping", nil)
			req.RemoteAddr, req.Host = tt.remote, tt.host
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			api.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if tt.status == 403 && !strings.Contains(rec.Body.String(), "Forbidden") {
				t.Fatalf("body %s", rec.Body)
			}
		})
	}
	// With a token, the token decides, wherever the request comes from.
	tok := NewAPI("t")
	tok.Handle("GET /ping", func(r *http.Request) (any, error) { return "pong", nil })
	req := httptest.NewRequest("GET", "/client/v4/ping", nil) // from 192.0.2.1, Host example.com
	req.Header.Set("Authorization", "Bearer t")
	rec := httptest.NewRecorder()
	tok.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("with token: %d %s", rec.Code, rec.Body)
	}
}

// JSON bodies must say so: a browser can send text/plain or a form without
// a preflight, never application/json.
func TestAPIRequiresJSONContentType(t *testing.T) {
	api, _ := kvTestAPI(t)
	body := []byte(`["a","b"]`)
	for _, tt := range []struct {
		contentType string
		status      int
	}{
		{"application/json", 200},
		{"application/json; charset=utf-8", 200},
		{"text/plain", 415},
		{"application/x-www-form-urlencoded", 415},
		{"", 415},
	} {
		rec := do(t, api, "POST", kvBase+"/ns1/bulk/delete", tt.contentType, body)
		if rec.Code != tt.status {
			t.Errorf("Content-Type %q: %d, want %d: %s", tt.contentType, rec.Code, tt.status, rec.Body)
		}
	}
}
