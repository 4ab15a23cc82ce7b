package server

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/cairn-dev/cairn/tail"
)

// Live logs (cairn tail, wrangler tail): the Server owns one tail.Hub for
// all the Apps it serves in turn, so a tail stays connected across reloads.
// Its routes, on the admin API, are Cloudflare's:
//
//	POST   /accounts/{account}/workers/scripts/{script}/tails       → {id, url, expires_at}
//	DELETE /accounts/{account}/workers/scripts/{script}/tails/{id}
//	GET    /cairn/tails/{id}   the WebSocket (subprotocol trace-v1) url names
//
// The WebSocket route takes no token (wrangler sends none there): the tail
// id in its path is the credential, unguessable and only given to the
// caller who created the tail with a token.

// Tails returns the Server's tail hub, which every App it serves reports
// its events to.
func (s *Server) Tails() *tail.Hub {
	s.tailsOnce.Do(func() { s.tails = tail.NewHub(s.Log) })
	return s.tails
}

// maxTailFilterBody bounds the filter message of a new tail.
const maxTailFilterBody = 64 << 10

// registerTail adds the tail routes to api.
func (s *Server) registerTail(api *API) {
	api.Handle("POST /accounts/{account}/workers/scripts/{script}/tails", func(r *http.Request) (any, error) {
		script := r.PathValue("script")
		if err := s.checkScript(script); err != nil {
			return nil, err
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxTailFilterBody+1))
		if err != nil {
			return nil, fmt.Errorf("read tail filters: %w", err)
		}
		if len(body) > maxTailFilterBody {
			return nil, &APIError{Status: http.StatusRequestEntityTooLarge, Code: 10001, Message: "tail filters over 64 KiB"}
		}
		self, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			self = r.RemoteAddr
		}
		filters, err := tail.ParseFilters(body, self)
		if err != nil {
			return nil, &APIError{Status: http.StatusBadRequest, Code: 10001, Message: err.Error()}
		}
		sess, err := s.Tails().Create(script, filters)
		if errors.Is(err, tail.ErrTooManyTails) {
			return nil, &APIError{Status: http.StatusTooManyRequests, Code: 10057, Message: err.Error()}
		} else if err != nil {
			return nil, err
		}
		scheme := "ws"
		if r.TLS != nil {
			scheme = "wss"
		}
		return map[string]any{
			"id":         sess.ID,
			"url":        scheme + "://" + r.Host + "/client/v4/cairn/tails/" + sess.ID,
			"expires_at": sess.ExpiresAt.UTC().Format(time.RFC3339),
		}, nil
	})
	api.Handle("DELETE /accounts/{account}/workers/scripts/{script}/tails/{id}", func(r *http.Request) (any, error) {
		if err := s.Tails().Delete(r.PathValue("id")); err != nil {
			return nil, &APIError{Status: http.StatusNotFound, Code: 10000, Message: err.Error()}
		}
		return nil, nil
	})
	api.HandlePublic("GET /cairn/tails/{id}", func(w http.ResponseWriter, r *http.Request) {
		err := s.Tails().Serve(w, r, r.PathValue("id"))
		switch {
		case errors.Is(err, tail.ErrNoTail):
			WriteAPIError(w, &APIError{Status: http.StatusNotFound, Code: 10000, Message: "no such tail (it expired, was deleted or ended with its last connection)"})
		case errors.Is(err, tail.ErrTailInUse):
			WriteAPIError(w, &APIError{Status: http.StatusConflict, Code: 10000, Message: err.Error()})
		case err != nil && s.Log != nil:
			s.Log.Debug("tail connection failed", "error", err)
		}
	})
}

// checkScript answers 404, as Cloudflare does, unless script is the
// Worker being served.
func (s *Server) checkScript(script string) error {
	app := s.Current()
	if app == nil {
		return &APIError{Status: http.StatusServiceUnavailable, Code: 7500, Message: "no Worker loaded"}
	}
	if app.Config.Name != script {
		return &APIError{Status: http.StatusNotFound, Code: 10007,
			Message: fmt.Sprintf("This Worker does not exist on your account. (cairn serves %q, not %q)", app.Config.Name, script)}
	}
	return nil
}

// bundleVersion is the version id of code without a deployed version: a
// content hash of the bundle, in the form of a UUID (as Cloudflare's
// version ids are), so the same code always has the same id.
func bundleVersion(code string) string {
	h := sha256.Sum256([]byte(code))
	b := h[:16]
	b[6] = b[6]&0x0f | 0x80 // UUID version 8: made by the application
	b[8] = b[8]&0x3f | 0x80 // RFC 9562 variant
	x := hex.EncodeToString(b)
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}
