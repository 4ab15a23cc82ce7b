package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
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
