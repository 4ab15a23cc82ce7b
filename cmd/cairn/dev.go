package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/spf13/cobra"

	"github.com/cairn-dev/cairn/jsrt"
	"github.com/cairn-dev/cairn/server"
)

func newDevCommand() *cobra.Command {
	var (
		port      int
		ip        string
		persistTo string
		vars      []string
		noWatch   bool
		apiPort   int
		apiToken  string
		idle      time.Duration
		retry     time.Duration
		hibernate time.Duration
		wsMax     int64
		private   bool
	)
	cmd := &cobra.Command{
		Use:   "dev [dir-or-config]",
		Short: "Run a Worker project locally, reloading on source changes",
		Long: `Run a Worker project (wrangler.jsonc, wrangler.json or wrangler.toml and its entry
module) like "wrangler dev", with the state of its Durable Objects, D1 databases and KV
namespaces kept on disk under --persist-to. --api-port also serves the admin REST API.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := "."
			if len(args) == 1 {
				path = args[0]
			}
			overrides, err := parseVars(vars)
			if err != nil {
				return err
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))
			if wsMax <= 0 {
				return fmt.Errorf("--websocket-max-message must be positive, got %d", wsMax)
			}
			opts := server.Options{Config: path, PersistTo: persistTo, Vars: overrides, Logger: log, ObjectIdle: idle, AlarmRetry: retry, HibernateIdle: hibernate,
				MaxWebSocketMessage: wsMax, AllowPrivateFetch: private, AdminAPIPort: apiPort}
			l := listeners{worker: net.JoinHostPort(ip, strconv.Itoa(port)), apiToken: apiToken}
			if apiToken == "" {
				l.apiToken = os.Getenv("CAIRN_API_TOKEN")
			}
			if apiPort != 0 {
				l.api = net.JoinHostPort(ip, strconv.Itoa(apiPort))
				if err := server.CheckAPIAddr(l.api, l.apiToken); err != nil {
					return err
				}
			}
			return runDev(cmd.Context(), opts, l, !noWatch, cmd)
		},
	}
	f := cmd.Flags()
	f.IntVar(&port, "port", 8787, "port to listen on")
	f.StringVar(&ip, "ip", "127.0.0.1", "IP address to listen on")
	f.StringVar(&persistTo, "persist-to", "", "state directory: Durable Objects, D1, KV and alarms (default .cairn/state in the project)")
	f.StringArrayVar(&vars, "var", nil, "set a var, KEY:VALUE (repeatable; overrides the config)")
	f.BoolVar(&noWatch, "no-watch", false, "do not reload when sources change")
	f.DurationVar(&idle, "object-idle", 70*time.Second, "evict a Durable Object from memory after this long without events (1×–2×; negative: never)")
	f.DurationVar(&hibernate, "hibernate-idle", 10*time.Second, "evict an object that only holds hibernatable WebSockets after this long without events (its sockets stay open)")
	f.DurationVar(&retry, "alarm-retry", 2*time.Second, "delay before the first retry of a failed alarm (doubling, at most 6 retries)")
	f.IntVar(&apiPort, "api-port", 0, "serve the admin REST API (/client/v4/…) on this port (0: off)")
	f.Int64Var(&wsMax, "websocket-max-message", jsrt.DefaultMaxWebSocketMessage, "largest WebSocket message accepted, in bytes (a larger one closes the socket with 1009)")
	f.BoolVar(&private, "private-fetch", true, "let the Worker's fetch reach loopback and private addresses, as wrangler dev does (never the admin API)")
	f.StringVar(&apiToken, "api-token", "", "bearer token the admin API requires (default $CAIRN_API_TOKEN; needed off loopback)")
	return cmd
}

// parseVars turns KEY:VALUE flags into a map.
func parseVars(flags []string) (map[string]string, error) {
	vars := make(map[string]string, len(flags))
	for _, kv := range flags {
		k, v, ok := strings.Cut(kv, ":")
		if !ok || k == "" {
			return nil, fmt.Errorf("--var %q: want KEY:VALUE", kv)
		}
		vars[k] = v
	}
	return vars, nil
}

// listeners says where cairn dev serves: the Worker, and the admin API if
// api is not empty.
type listeners struct {
	worker   string
	api      string
	apiToken string
}

func runDev(ctx context.Context, opts server.Options, addrs listeners, watch bool, cmd *cobra.Command) error {
	log := opts.Logger
	start := time.Now()
	// The state directory stays locked across reloads, until cairn exits.
	opts.Locks = &server.StateLocks{}
	defer opts.Locks.Close()
	app, err := server.Load(opts)
	if err != nil {
		return err
	}
	srv := &server.Server{Log: log}
	srv.Swap(app)
	defer srv.Swap(nil)

	ln, err := net.Listen("tcp", addrs.worker)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 2)
	go func() { errc <- hs.Serve(ln) }()
	if addrs.api != "" {
		aln, err := net.Listen("tcp", addrs.api)
		if err != nil {
			hs.Close()
			return fmt.Errorf("listen (admin API): %w", err)
		}
		as := &http.Server{Handler: srv.AdminAPI(addrs.apiToken), ReadHeaderTimeout: 10 * time.Second}
		defer as.Close()
		go func() { errc <- as.Serve(aln) }()
		fmt.Fprintf(cmd.OutOrStdout(), "Admin API on http://%s/client/v4\n", aln.Addr())
	}
	fmt.Fprintf(cmd.OutOrStdout(), "Ready on http://%s (%s, started in %s)\n", ln.Addr(), app.Config.Name, time.Since(start).Round(time.Millisecond))

	if watch {
		go watchAndReload(ctx, srv, opts)
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdown); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// watchAndReload reloads the App when one of its inputs changes. A project
// that fails to build keeps the previous version running and logs why.
func watchAndReload(ctx context.Context, srv *server.Server, opts server.Options) {
	log := opts.Logger
	w, err := fsnotify.NewWatcher()
	if err != nil {
		log.Error("watch sources", "error", err)
		return
	}
	defer w.Close()
	watchInputs := func(app *server.App) {
		for _, dir := range dirsOf(app.Inputs) {
			_ = w.Add(dir)
		}
	}
	watchInputs(srv.Current())
	var debounce <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if ev.Op&(fsnotify.Write|fsnotify.Create|fsnotify.Rename|fsnotify.Remove) == 0 || !isInput(srv.Current(), ev.Name) {
				continue
			}
			debounce = time.After(100 * time.Millisecond)
		case err := <-w.Errors:
			log.Warn("watch sources", "error", err)
		case <-debounce:
			debounce = nil
			start := time.Now()
			app, err := server.Load(opts)
			if err != nil {
				log.Error("reload failed; still serving the previous version", "error", err)
				continue
			}
			srv.Swap(app)
			watchInputs(app)
			log.Info("reloaded", "took", time.Since(start).Round(time.Millisecond))
		}
	}
}

func isInput(app *server.App, name string) bool {
	if app == nil {
		return true
	}
	abs, _ := filepath.Abs(name)
	for _, in := range app.Inputs {
		if in == abs {
			return true
		}
	}
	return false
}

// dirsOf returns the directories holding files, outside node_modules.
func dirsOf(files []string) []string {
	seen := make(map[string]bool)
	var dirs []string
	for _, f := range files {
		d := filepath.Dir(f)
		if seen[d] || strings.Contains(d, string(os.PathSeparator)+"node_modules") {
			continue
		}
		seen[d] = true
		dirs = append(dirs, d)
	}
	return dirs
}
