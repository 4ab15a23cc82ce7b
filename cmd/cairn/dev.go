package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/cairn-dev/cairn/jsrt"
	"github.com/cairn-dev/cairn/metrics"
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
		testSched bool
		logFormat string
		cfFile    string
		noReqLog  bool
		pidFile   string
		maxMemory string
		runtimes  int
		bodyMax   int64
		bodiesMax int64
		history   bool
		retention time.Duration
	)
	cmd := &cobra.Command{
		Use:   "dev [dir-or-config]",
		Short: "Run a Worker project locally, reloading on source changes",
		Long: `Run a Worker project (wrangler.jsonc, wrangler.json or wrangler.toml and its entry
module) like "wrangler dev", with the state of its Durable Objects, D1 databases and KV
namespaces kept on disk under --persist-to. --api-port also serves the admin REST API, the
data studio (/studio/) and the API's OpenAPI document (/openapi.json).`,
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
			var handler slog.Handler
			switch logFormat {
			case "text":
				handler = slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo})
			case "json":
				handler = slog.NewJSONHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo})
			default:
				return fmt.Errorf("--log-format %q: want text or json", logFormat)
			}
			log := slog.New(handler)
			cf, err := readCF(cfFile)
			if err != nil {
				return err
			}
			if wsMax <= 0 {
				return fmt.Errorf("--websocket-max-message must be positive, got %d", wsMax)
			}
			if bodyMax <= 0 {
				return fmt.Errorf("--max-body-size must be positive, got %d", bodyMax)
			}
			if bodiesMax <= 0 {
				return fmt.Errorf("--max-bodies-in-flight must be positive, got %d", bodiesMax)
			}
			ceiling, err := parseSize(maxMemory)
			if err != nil {
				return fmt.Errorf("--max-memory: %w", err)
			}
			if ceiling > 0 {
				// Go's soft limit makes the collector work harder near the
				// ceiling; the Worker's memory watch sheds load before it.
				debug.SetMemoryLimit(ceiling)
			}
			opts := server.Options{Config: path, PersistTo: persistTo, Vars: overrides, Logger: log, ObjectIdle: idle, AlarmRetry: retry, HibernateIdle: hibernate,
				MaxWebSocketMessage: wsMax, CF: cf, MaxMemory: ceiling, MaxBodySize: bodyMax, MaxBodiesInFlight: bodiesMax, AllowPrivateFetch: private, AdminAPIPort: apiPort,
				NoHistory: !history, HistoryRetention: retention, Runtimes: runtimes}
			if runtimes < 0 {
				return fmt.Errorf("--runtimes must not be negative, got %d", runtimes)
			}
			if retention < 0 {
				return fmt.Errorf("--history-retention must not be negative, got %s", retention)
			}
			l := listeners{worker: net.JoinHostPort(ip, strconv.Itoa(port)), apiToken: apiToken, testScheduled: testSched, noRequestLog: noReqLog, pidFile: pidFile}
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
	f.StringVar(&maxMemory, "max-memory", "", "memory ceiling of the process, e.g. 2GiB or 512MiB: Go's soft memory limit, and near it new requests get 503 and the longest-running task fails (default: none)")
	f.IntVar(&runtimes, "runtimes", 0, "JS runtimes (threads) serving the Worker; each Durable Object lives on one (default: twice the cores, at least 4)")
	f.Int64Var(&bodyMax, "max-body-size", jsrt.MaxBodySize, "largest request body accepted, in bytes (a larger one gets 413)")
	f.Int64Var(&bodiesMax, "max-bodies-in-flight", jsrt.DefaultMaxBodiesInFlight, "most bytes of request bodies read whole (text(), json(), arrayBuffer()) held by requests in flight together; past it such a read fails and its request gets 503 with Retry-After (streamed bodies are not counted)")
	f.StringVar(&apiToken, "api-token", "", "bearer token the admin API requires (default $CAIRN_API_TOKEN; needed off loopback)")
	f.BoolVar(&testSched, "test-scheduled", false, "serve /__scheduled and /cdn-cgi/handler/scheduled?cron=…, which run the scheduled handler")
	f.StringVar(&logFormat, "log-format", "text", "log format: text or json")
	f.StringVar(&cfFile, "cf", "", "JSON file of request.cf values to use instead of the defaults (country, colo, asn, timezone, …)")
	f.BoolVar(&noReqLog, "no-request-log", false, "do not log a line per request")
	f.StringVar(&pidFile, "pid-file", "", "write the pid of the serving process here (it changes on a SIGUSR2 upgrade; for systemd's PIDFile=)")
	f.BoolVar(&history, "history", true, "keep the history of every commit (D1 Time Travel, Durable Object bookmarks) under the state directory's history/")
	f.DurationVar(&retention, "history-retention", server.DefaultHistoryRetention, "how long the history is kept (e.g. 720h)")
	return cmd
}

// parseSize reads a byte size: a whole number with an optional unit (KiB,
// MiB, GiB, or K, M, G, also powers of 1024); "" is 0.
func parseSize(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	num, mult := strings.TrimSpace(s), int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}} {
		if strings.HasSuffix(num, u.suffix) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(num, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("want a positive size such as 2GiB or 512MiB, got %q", s)
	}
	return n * mult, nil
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
	worker        string
	api           string
	apiToken      string
	testScheduled bool
	noRequestLog  bool
	pidFile       string // written with the pid of the serving process (SIGUSR2 upgrades)
}

// readCF reads a --cf file: a JSON object of request.cf values.
func readCF(file string) (map[string]any, error) {
	if file == "" {
		return nil, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("--cf: %w", err)
	}
	var cf map[string]any
	if err := json.Unmarshal(b, &cf); err != nil {
		return nil, fmt.Errorf("--cf %s: want a JSON object: %w", file, err)
	}
	return cf, nil
}

func runDev(ctx context.Context, opts server.Options, addrs listeners, watch bool, cmd *cobra.Command) error {
	log := opts.Logger
	start := time.Now()
	if _, err := runBuild(ctx, opts.Config, cmd.ErrOrStderr()); err != nil {
		return err
	}
	// Zero-downtime upgrades on SIGUSR2 (server/upgrade.go): listeners and
	// hibernatable WebSockets pass to a new process of this binary.
	up, err := server.NewUpgrader(server.UpgradeOptions{PIDFile: addrs.pidFile, Logger: log})
	if err != nil {
		log.Info("SIGUSR2 upgrades are off", "error", err)
		up = nil
	} else {
		defer up.Stop()
	}
	upgraded := up != nil && up.HasParent()
	if upgraded {
		// The previous process serves until this one says it is ready:
		// a project that does not build fails here, and it goes on.
		if err := server.Check(opts); err != nil {
			return err
		}
	}
	listen := func(addr string) (net.Listener, error) {
		if up != nil {
			return up.Listen(addr)
		}
		return net.Listen("tcp", addr)
	}
	ln, err := listen(addrs.worker)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer ln.Close()
	var aln net.Listener
	if addrs.api != "" {
		if aln, err = listen(addrs.api); err != nil {
			return fmt.Errorf("listen (admin API): %w", err)
		}
		defer aln.Close()
	}
	var inherited *server.Handed
	if upgraded {
		// The previous process stops serving, closes its App and hands
		// over its hibernatable WebSockets and the state directory.
		if inherited, err = up.Ready(ctx); err != nil {
			return err
		}
	}
	// The state directory stays locked across reloads, until cairn exits.
	opts.Locks = &server.StateLocks{}
	defer opts.Locks.Close()
	srv := &server.Server{Log: log, TestScheduled: addrs.testScheduled, NoRequestLog: addrs.noRequestLog}
	// Metrics, served on the admin address: one registry for the process.
	reg := prometheus.NewRegistry()
	if addrs.api != "" {
		m, err := metrics.New(reg, srv.Apps, log)
		if err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
		opts.Observer, srv.Observer = m, m
	}
	app, err := server.Load(opts)
	if err != nil {
		inherited.Close()
		return err
	}
	srv.Swap(app)
	defer srv.Swap(nil)
	if addrs.api != "" {
		// cairn deploy to this admin API: a deployed version serves until
		// the project's files change.
		if err := srv.EnableDeploys(opts); err != nil {
			return err
		}
	}
	srv.Adopt(inherited.Take(app.Config.Name))
	inherited.Close() // a renamed Worker has another state directory: its sockets close

	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 2)
	go func() { errc <- hs.Serve(ln) }()
	var as *http.Server
	if aln != nil {
		// Prometheus metrics beside the admin API, under its rule for callers.
		admin := http.NewServeMux()
		admin.Handle("GET /metrics", srv.AdminAPI(addrs.apiToken).Guard(metrics.Handler(reg, log)))
		admin.Handle("/", srv.AdminHandler(addrs.apiToken))
		as = &http.Server{Handler: admin, ReadHeaderTimeout: 10 * time.Second}
		defer as.Close()
		go func() { errc <- as.Serve(aln) }()
		fmt.Fprintf(cmd.OutOrStdout(), "Admin API on http://%s/client/v4\n", aln.Addr())
		fmt.Fprintf(cmd.OutOrStdout(), "Data studio on http://%s/studio/\n", aln.Addr())
	}
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	watchDone := make(chan struct{})
	if watch {
		// Watching starts before "Ready": a change made once the server
		// is ready is seen.
		watching := make(chan struct{})
		go func() {
			defer close(watchDone)
			watchAndReload(watchCtx, srv, opts, cmd.ErrOrStderr(), watching)
		}()
		<-watching
	} else {
		close(watchDone)
	}
	var upgrade <-chan struct{}
	if up != nil {
		if !upgraded {
			if _, err := up.Ready(ctx); err != nil { // writes the pid file
				return err
			}
		}
		up.ListenForUpgrades(ctx)
		upgrade = up.Exit()
	}
	fmt.Fprintf(cmd.OutOrStdout(), "Ready on http://%s (%s, started in %s, pid %d)\n", ln.Addr(), app.Config.Name, time.Since(start).Round(time.Millisecond), os.Getpid())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	case <-upgrade:
		// A new process is ready: it serves from now on.
		stopWatch()
		<-watchDone // no reload may load the project again
		return handOff(srv, up, opts.Locks, log, hs, as)
	}
	log.Info("shutting down")
	// Responses still streaming (an event stream may never end) end now,
	// truncated, rather than hold the shutdown for its timeout.
	srv.EndStreams()
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdown); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// handOff ends this process's part in an upgrade: it stops accepting,
// finishes the requests in flight, and hands the state directory and the
// hibernatable WebSockets to the new process.
func handOff(srv *server.Server, up *server.Upgrader, locks *server.StateLocks, log *slog.Logger, servers ...*http.Server) error {
	log.Info("upgrade: the new process is ready; handing over")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if app := srv.Current(); app != nil {
		app.Worker.EndStreams()
	}
	for _, hs := range servers {
		if hs != nil {
			if err := hs.Shutdown(ctx); err != nil {
				log.Warn("upgrade: requests still in flight", "error", err)
			}
		}
	}
	n, err := up.HandOff(ctx, srv, locks)
	if err != nil {
		log.Error("upgrade: hand-off", "error", err)
	}
	log.Info("upgrade: handed over", "websockets", n)
	return nil
}

// watchAndReload reloads the App when one of its inputs changes, runs
// build.command first when a file under build.watch_dir changes, and
// rescans the static assets when they change. A project that fails to
// build keeps the previous version running and logs why. It closes
// watching once the watches are in place.
func watchAndReload(ctx context.Context, srv *server.Server, opts server.Options, out io.Writer, watching chan<- struct{}) {
	log := opts.Logger
	w, err := fsnotify.NewWatcher()
	if err != nil {
		close(watching)
		log.Error("watch sources", "error", err)
		return
	}
	defer w.Close()
	var buildDirs, assetDirs []string
	var loaded *server.App // the App last loaded from the files (a deploy may serve another)
	watchInputs := func(app *server.App) {
		if app == nil { // shut down already
			return
		}
		loaded = app
		for _, dir := range dirsOf(app.Inputs) {
			_ = w.Add(dir)
		}
		buildDirs, assetDirs = nil, nil
		if b := app.Config.Build; b != nil {
			buildDirs = b.WatchDirs
			for _, d := range buildDirs {
				watchTree(w, d)
			}
		}
		if app.Assets != nil {
			assetDirs = []string{app.Assets.Dir()}
			watchTree(w, app.Assets.Dir())
		}
	}
	watchInputs(srv.Current())
	close(watching)
	var debounce <-chan time.Time
	var needBuild, needReload, needAssets bool
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if ev.Op&(fsnotify.Write|fsnotify.Create|fsnotify.Rename|fsnotify.Remove) == 0 {
				continue
			}
			switch {
			case under(buildDirs, ev.Name):
				needBuild = true
			case isInput(loaded, ev.Name):
				needReload = true
			case under(assetDirs, ev.Name):
				needAssets = true
				if ev.Op&fsnotify.Create != 0 {
					watchTree(w, ev.Name) // a new directory
				}
			default:
				continue
			}
			debounce = time.After(100 * time.Millisecond)
		case err := <-w.Errors:
			log.Warn("watch sources", "error", err)
		case <-debounce:
			debounce = nil
			if needBuild {
				if _, err := runBuild(ctx, opts.Config, out); err != nil {
					log.Error("build failed; still serving the previous version", "error", err)
					needBuild, needReload, needAssets = false, false, false
					continue
				}
				drainEvents(w, 50*time.Millisecond) // the build's own writes
				needReload = true
			}
			if needReload {
				start := time.Now()
				app, err := server.Load(opts)
				if err != nil {
					log.Error("reload failed; still serving the previous version", "error", err)
				} else {
					srv.Swap(app)
					watchInputs(app)
					log.Info("reloaded", "took", time.Since(start).Round(time.Millisecond))
				}
			} else if needAssets {
				if app := srv.Current(); app != nil && app.Assets != nil {
					if err := app.Assets.Reload(); err != nil {
						log.Error("reload assets", "error", err)
					} else {
						log.Info("reloaded static assets", "files", app.Assets.Len())
					}
				}
			}
			needBuild, needReload, needAssets = false, false, false
		}
	}
}

// drainEvents discards the watcher's events until none has come for quiet:
// after a build, its own writes under build.watch_dir must not start
// another (the reload that follows picks up its output anyway).
func drainEvents(w *fsnotify.Watcher, quiet time.Duration) {
	for {
		select {
		case <-w.Events:
		case <-time.After(quiet):
			return
		}
	}
}

// watchTree watches dir and the directories under it, outside
// node_modules and .git.
func watchTree(w *fsnotify.Watcher, dir string) {
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if name := d.Name(); p != dir && (name == "node_modules" || name == ".git") {
			return filepath.SkipDir
		}
		_ = w.Add(p)
		return nil
	})
}

// under reports whether name is inside one of dirs.
func under(dirs []string, name string) bool {
	abs, _ := filepath.Abs(name)
	for _, d := range dirs {
		if abs == d || strings.HasPrefix(abs, d+string(os.PathSeparator)) {
			return true
		}
	}
	return false
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
