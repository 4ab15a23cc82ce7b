package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/cairn-dev/cairn/server"
)

// callV4 sends a request to a cairn admin API (Cloudflare's v4 shape) and
// decodes the envelope's result into out (nil: ignored). what names the API
// in errors; an unsuccessful envelope becomes an error with its messages,
// codes and the HTTP status.
func callV4(ctx context.Context, client *http.Client, what, method, url, token, contentType string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer resp.Body.Close()
	var env struct {
		Success bool              `json:"success"`
		Errors  []server.APIError `json:"errors"`
		Result  json.RawMessage   `json:"result"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return fmt.Errorf("%s: %s %s: status %d, not a v4 envelope", what, method, url, resp.StatusCode)
	}
	if !env.Success {
		msgs := make([]string, len(env.Errors))
		for i, e := range env.Errors {
			msgs[i] = fmt.Sprintf("%s [code %d]", e.Message, e.Code)
		}
		return fmt.Errorf("%s (%d): %s", what, resp.StatusCode, strings.Join(msgs, "; "))
	}
	if out != nil {
		return json.Unmarshal(env.Result, out)
	}
	return nil
}
