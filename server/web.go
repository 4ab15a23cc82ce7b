package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/cairn-dev/cairn/assets"
	"github.com/cairn-dev/cairn/bundle"
	"github.com/cairn-dev/cairn/config"
	"github.com/cairn-dev/cairn/crons"
)

// openAssets makes the handler of the config's assets, or nil without.
func openAssets(cfg *config.Config, log *slog.Logger) (*assets.Handler, error) {
	a := cfg.Assets
	if a == nil {
		return nil, nil
	}
	h, err := assets.New(assets.Options{
		Directory:           a.Directory,
		HTMLHandling:        a.HTMLHandling,
		NotFoundHandling:    a.NotFoundHandling,
		RunWorkerFirst:      a.RunWorkerFirst,
		RunWorkerFirstRules: a.RunWorkerFirstRules,
		HasWorker:           cfg.Main != "",
		// assets_navigation_prefers_asset_serving: default from 2025-04-01.
		NavigationPrefersAssets: cfg.CompatibilityDate >= "2025-04-01" && !cfg.HasFlag("assets_navigation_has_no_effect") ||
			cfg.HasFlag("assets_navigation_prefers_asset_serving"),
		Logger: log,
	})
	if errors.Is(err, assets.ErrNoDirectory) {
		return nil, fmt.Errorf("%s: assets.directory %s does not exist (is the build step missing?)", cfg.File, a.Directory)
	} else if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.File, err)
	}
	log.Info("serving static assets", "directory", relName(cfg.Dir, a.Directory), "files", h.Len())
	return h, nil
}

// DefaultCF returns the request.cf a Worker sees unless Options.CF changes
// it: plausible values for a request that reached a Cloudflare data center,
// since apps read request.cf.country and the like.
func DefaultCF() map[string]any {
	return map[string]any{
		"asn":                        float64(13335),
		"asOrganization":             "Cloudflare",
		"colo":                       "LHR",
		"country":                    "GB",
		"isEUCountry":                false,
		"city":                       "London",
		"continent":                  "EU",
		"region":                     "England",
		"regionCode":                 "ENG",
		"postalCode":                 "EC1A",
		"metroCode":                  "",
		"latitude":                   "51.50740",
		"longitude":                  "-0.12780",
		"timezone":                   "Europe/London",
		"httpProtocol":               "HTTP/1.1",
		"tlsVersion":                 "",
		"tlsCipher":                  "",
		"clientTcpRtt":               float64(0),
		"requestPriority":            "",
		"edgeRequestKeepAliveStatus": float64(1),
		"clientAcceptEncoding":       "gzip, deflate, br",
		"verifiedBotCategory":        "",
	}
}

// cfJSON returns the request.cf object: DefaultCF with overrides applied.
func cfJSON(overrides map[string]any) (string, error) {
	cf := DefaultCF()
	maps.Copy(cf, overrides)
	b, err := json.Marshal(cf)
	if err != nil {
		return "", fmt.Errorf("request.cf: %w", err)
	}
	return string(b), nil
}

// startCrons runs the config's cron triggers until the App closes.
func (a *App) startCrons(log *slog.Logger) error {
	if len(a.Config.Crons) == 0 {
		return nil
	}
	var schedules []*crons.Schedule
	for _, expr := range a.Config.Crons {
		s, err := crons.Parse(expr)
		if err != nil {
			return fmt.Errorf("%s: triggers.crons: %w", a.Config.File, err)
		}
		schedules = append(schedules, s)
	}
	if !a.Worker.HasScheduled() {
		log.Warn("triggers.crons is set but the Worker exports no scheduled() handler; the triggers do nothing")
	}
	ctx, cancel := context.WithCancel(context.Background())
	a.stopCrons = cancel
	go crons.Run(ctx, schedules, func(cron string, at time.Time) {
		a.mu.RLock()
		defer a.mu.RUnlock()
		if !a.closed {
			_ = a.runScheduled(ctx, cron, at, log)
		}
	}, log)
	return nil
}

// runScheduled runs the scheduled handler once and logs the outcome as
// wrangler does for a request. The caller holds a.mu shared.
func (a *App) runScheduled(ctx context.Context, cron string, at time.Time, log *slog.Logger) error {
	// Cloudflare gives a scheduled event up to 15 minutes of wall time.
	ctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	start := time.Now()
	err := a.Worker.Scheduled(ctx, cron, at)
	took := time.Since(start)
	if err != nil {
		log.Error(fmt.Sprintf("scheduled %q failed (%dms)", cron, took.Milliseconds()), "cron", cron, "error", err.Error())
		return err
	}
	log.Info(fmt.Sprintf("scheduled %q ok (%dms)", cron, took.Milliseconds()), "cron", cron)
	return nil
}

// serveTestScheduled answers /__scheduled and /cdn-cgi/handler/scheduled
// (cairn dev --test-scheduled): ?cron= names the trigger, ?time= the
// scheduled time in ms (default now). It reports whether r was one.
func (a *App) serveTestScheduled(rw http.ResponseWriter, r *http.Request, log *slog.Logger) bool {
	legacy := r.URL.Path == "/__scheduled"
	if !legacy && r.URL.Path != "/cdn-cgi/handler/scheduled" {
		return false
	}
	q := r.URL.Query()
	at := time.Now()
	if ms, err := strconv.ParseInt(q.Get("time"), 10, 64); err == nil {
		at = time.UnixMilli(ms)
	}
	err := a.runScheduled(r.Context(), q.Get("cron"), at, log)
	switch {
	case err != nil:
		http.Error(rw, "scheduled event failed: "+err.Error(), http.StatusInternalServerError)
	case legacy:
		rw.Header().Set("Content-Type", "text/plain;charset=UTF-8")
		_, _ = rw.Write([]byte("Ran scheduled event"))
	default:
		rw.WriteHeader(http.StatusOK)
	}
	return true
}

// statusWriter records the status a handler sends, for the request log.
// It passes Hijack and Flush through (WebSockets, streaming).
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("response does not support hijacking")
	}
	if w.status == 0 {
		w.status = http.StatusSwitchingProtocols
	}
	return h.Hijack()
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logRequest logs one line per request as wrangler dev does:
// "GET /path 200 OK (3ms)", with the request id console lines carry.
func (s *Server) logRequest(r *http.Request, id string, status int, took time.Duration) {
	if s.Log == nil || s.NoRequestLog {
		return
	}
	if status == 0 {
		status = 499 // the client went away before an answer
	}
	msg := fmt.Sprintf("%s %s %d %s (%dms)", r.Method, r.URL.RequestURI(), status, http.StatusText(status), took.Milliseconds())
	s.Log.LogAttrs(r.Context(), slog.LevelInfo, msg,
		slog.String("request", id), slog.String("method", r.Method), slog.String("path", r.URL.RequestURI()),
		slog.Int("status", status), slog.Float64("ms", float64(took.Microseconds())/1000))
}

// moduleRules converts the config's module rules for the bundler.
func moduleRules(rules []config.ModuleRule) []bundle.Rule {
	out := make([]bundle.Rule, len(rules))
	for i, r := range rules {
		out[i] = bundle.Rule{Type: r.Type, Globs: r.Globs, Fallthrough: r.Fallthrough}
	}
	return out
}
