package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/cairn-dev/cairn/config"
	"github.com/cairn-dev/cairn/metrics"
	"github.com/cairn-dev/cairn/server"
	"github.com/cairn-dev/cairn/versions"
)

// serveFlags are the settings of cairn serve that flags and CAIRN_*
// variables override in cairn.toml: a flag wins over the variable, the
// variable over the file.
type serveFlags struct {
	dataDir, http, https, tlsCert, tlsKey, admin, adminToken, logFormat string
	pidFile                                                             string
	shutdownTimeout                                                     time.Duration
}

func newServeCommand() *cobra.Command {
	var (
		file string
		fl   serveFlags
	)
	cmd := &cobra.Command{
		Use:   "serve [--config cairn.toml]",
		Short: "Run several Workers in production, routed by host and path",
		Long: `Run the Workers a cairn.toml lists, each from its wrangler config, routed by their routes
(wrangler's syntax), with their state under data_dir/<worker>/. SIGTERM or SIGINT stop it
cleanly: no new connections, requests in flight finish, WebSockets close with 1012, pending
commits become durable, exit 0. A second signal (half a second or more after the first), or shutdown_timeout passing, exits at once
with status 1 (acknowledged writes are durable already).

SIGUSR2 or SIGHUP restart it without downtime: a new process of the binary takes over the
listeners and every Worker's hibernated WebSockets, the old one finishes its requests and
exits 0 (for systemd: ExecReload=/bin/kill -USR2 $MAINPID, NotifyAccess=all).

Flags and environment variables override the file:
  --data-dir         CAIRN_DATA_DIR
  --http             CAIRN_HTTP             listen address for HTTP
  --https            CAIRN_HTTPS            listen address for HTTPS (with --tls-cert, --tls-key)
  --tls-cert         CAIRN_TLS_CERT
  --tls-key          CAIRN_TLS_KEY
  --admin            CAIRN_ADMIN            listen address of the admin API
  --admin-token      CAIRN_ADMIN_TOKEN      (or CAIRN_API_TOKEN)
  --shutdown-timeout CAIRN_SHUTDOWN_TIMEOUT
  --log-format       CAIRN_LOG_FORMAT       text or json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("config") {
				if env := os.Getenv("CAIRN_CONFIG"); env != "" {
					file = env
				}
			}
			sc, err := config.LoadServe(file)
			if err != nil {
				return err
			}
			if err := fl.apply(cmd, sc); err != nil {
				return err
			}
			return runServe(cmd.Context(), sc, fl.pidFile, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&file, "config", "c", "cairn.toml", "the cairn.toml to run (default $CAIRN_CONFIG, else cairn.toml)")
	f.StringVar(&fl.dataDir, "data-dir", "", "state directory of every Worker (data_dir)")
	f.StringVar(&fl.http, "http", "", "HTTP listen address, host:port ([http] listen)")
	f.StringVar(&fl.https, "https", "", "HTTPS listen address, host:port ([https] listen)")
	f.StringVar(&fl.tlsCert, "tls-cert", "", "HTTPS certificate chain, PEM ([https] cert_file)")
	f.StringVar(&fl.tlsKey, "tls-key", "", "HTTPS private key, PEM ([https] key_file)")
	f.StringVar(&fl.admin, "admin", "", "admin API listen address, host:port ([admin] listen)")
	f.StringVar(&fl.adminToken, "admin-token", "", "bearer token of the admin API ([admin] token; needed off loopback)")
	f.DurationVar(&fl.shutdownTimeout, "shutdown-timeout", 0, "time SIGTERM gives requests and commits to finish (shutdown_timeout, default 30s)")
	f.StringVar(&fl.logFormat, "log-format", "", "log format: text or json (log_format)")
	f.StringVar(&fl.pidFile, "pid-file", "", "write the pid of the serving process here (it changes on an upgrade)")
	return cmd
}

// apply puts the flags, and the CAIRN_* variables of those not given, over
// the file's settings, and checks the result.
func (fl *serveFlags) apply(cmd *cobra.Command, sc *config.Serve) error {
	str := func(flag, env string, v string, to *string) {
		if cmd.Flags().Changed(flag) {
			*to = v
		} else if e, ok := os.LookupEnv(env); ok && e != "" {
			*to = e
		}
	}
	str("data-dir", "CAIRN_DATA_DIR", fl.dataDir, &sc.DataDir)
	str("http", "CAIRN_HTTP", fl.http, &sc.HTTP)
	str("https", "CAIRN_HTTPS", fl.https, &sc.HTTPS)
	str("tls-cert", "CAIRN_TLS_CERT", fl.tlsCert, &sc.CertFile)
	str("tls-key", "CAIRN_TLS_KEY", fl.tlsKey, &sc.KeyFile)
	str("admin", "CAIRN_ADMIN", fl.admin, &sc.Admin)
	str("admin-token", "CAIRN_API_TOKEN", fl.adminToken, &sc.AdminToken)
	str("admin-token", "CAIRN_ADMIN_TOKEN", fl.adminToken, &sc.AdminToken)
	str("log-format", "CAIRN_LOG_FORMAT", fl.logFormat, &sc.LogFormat)
	if cmd.Flags().Changed("shutdown-timeout") {
		sc.ShutdownTimeout = fl.shutdownTimeout
	} else if e := os.Getenv("CAIRN_SHUTDOWN_TIMEOUT"); e != "" {
		d, err := time.ParseDuration(e)
		if err != nil {
			return fmt.Errorf("CAIRN_SHUTDOWN_TIMEOUT=%q: want a duration such as 30s", e)
		}
		sc.ShutdownTimeout = d
	}
	if sc.DataDir == "" {
		return fmt.Errorf("%s: no data_dir: set it in the file, or give --data-dir or CAIRN_DATA_DIR", sc.File)
	}
	abs, err := filepath.Abs(sc.DataDir)
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	sc.DataDir = abs
	if sc.ShutdownTimeout <= 0 {
		return fmt.Errorf("shutdown timeout must be positive, got %s", sc.ShutdownTimeout)
	}
	if sc.LogFormat != "text" && sc.LogFormat != "json" {
		return fmt.Errorf("log format %q: want text or json", sc.LogFormat)
	}
	for _, a := range []string{sc.HTTP, sc.HTTPS, sc.Admin} {
		if a != "" {
			if err := config.CheckListenAddr(a); err != nil {
				return err
			}
		}
	}
	if sc.HTTPS != "" {
		if sc.CertFile == "" || sc.KeyFile == "" {
			return errors.New("HTTPS needs a certificate and a key ([https] cert_file and key_file, or --tls-cert and --tls-key)")
		}
		if _, err := tls.LoadX509KeyPair(sc.CertFile, sc.KeyFile); err != nil {
			return fmt.Errorf("HTTPS certificate %s / key %s: %w", sc.CertFile, sc.KeyFile, err)
		}
	}
	if sc.Admin != "" {
		if err := server.CheckAPIAddr(sc.Admin, sc.AdminToken); err != nil {
			return fmt.Errorf("admin API on %s: %w", sc.Admin, err)
		}
	}
	return nil
}

// sameSignal is how soon after the first a signal counts as the same one:
// a signal sent to a process group (timeout(1), a shell wrapper) can
// arrive twice.
const sameSignal = 500 * time.Millisecond

// exit ends the process when shutdown cannot finish cleanly.
var exit = os.Exit

func runServe(ctx context.Context, sc *config.Serve, pidFile string, stdout, stderr io.Writer) error {
	start := time.Now()
	var handler slog.Handler = slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo})
	if sc.LogFormat == "json" {
		handler = slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo})
	}
	log := slog.New(serveOnlyFilter{handler})
	// Hibernated WebSockets a previous process of the service left in
	// systemd's descriptor store (FileDescriptorStoreMax=), before any
	// descriptor is opened or closed.
	stored, releaseStored, err := server.TakeFDStore(log)
	if err != nil {
		log.Error("hibernated WebSockets from the descriptor store are lost", "error", err)
	}
	defer stored.Close() // those of a Worker that failed to load

	// A second SIGINT or SIGTERM ends the process at once. (main's
	// context sees the first.)
	sigc := make(chan os.Signal, 2)
	signal.Notify(sigc, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigc)
	go func() {
		var first time.Time
		for range sigc {
			switch {
			case first.IsZero():
				first = time.Now()
			case time.Since(first) >= sameSignal:
				log.Error("second signal: exiting without waiting (acknowledged writes are durable)")
				exit(1)
			}
		}
	}()

	type worker struct {
		name string
		file string
		vars map[string]string
	}
	var (
		workers []worker
		targets []server.RouteTarget
	)
	for i, w := range sc.Workers {
		at := fmt.Sprintf("%s:%d: workers[%d]", sc.File, w.Line, i)
		file, err := config.Find(w.Config)
		if err != nil {
			return fmt.Errorf("%s: %w", at, err)
		}
		cfg, err := config.Load(file, nil)
		if err != nil {
			return err
		}
		routes := w.Routes
		if !w.HasRoutes {
			if routes, err = config.LoadRoutes(file); err != nil {
				return err
			}
		}
		workers = append(workers, worker{name: cfg.Name, file: file, vars: w.Vars})
		targets = append(targets, server.RouteTarget{Worker: cfg.Name, Routes: routes})
	}
	router, err := server.NewRouter(targets)
	if err != nil {
		return err
	}

	// Zero-downtime upgrades on SIGUSR2 or SIGHUP (server/upgrade.go): the
	// listeners and every Worker's hibernatable WebSockets pass to a new
	// process of this binary.
	up, err := server.NewUpgrader(server.UpgradeOptions{PIDFile: pidFile, Logger: log, Notify: sdNotify})
	if err != nil {
		log.Info("upgrades (SIGUSR2, SIGHUP) are off", "error", err)
		up = nil
	} else {
		defer up.Stop()
	}
	upgraded := up != nil && up.HasParent()
	if upgraded {
		// The previous process serves until this one says it is ready: a
		// Worker that does not build fails here, and it goes on.
		for _, w := range workers {
			if _, err := runBuild(ctx, w.file, stderr); err != nil {
				return fmt.Errorf("worker %s: %w", w.name, err)
			}
			if err := server.Check(server.Options{Config: w.file}); err != nil {
				return fmt.Errorf("worker %s: %w", w.name, err)
			}
		}
	}
	// The data directory, then each Worker's, stay locked until cairn
	// exits: before listening, so that a second cairn on it says so; in
	// an upgrade once the previous process handed over.
	locks := &server.StateLocks{}
	defer locks.Close()
	if !upgraded {
		if err := locks.LockDir(sc.DataDir); err != nil {
			return fmt.Errorf("data_dir: %w", err)
		}
	}
	listen := func(addr string) (net.Listener, error) {
		var ln net.Listener
		var err error
		if up != nil {
			ln, err = up.Listen(addr)
		} else {
			ln, err = net.Listen("tcp", addr)
		}
		if err != nil {
			return nil, fmt.Errorf("listen on %s: %w", addr, err)
		}
		return ln, nil
	}
	// The listeners first: during an upgrade the previous process's, on
	// which connections wait in the backlog until this one serves.
	httpLn, err := listen(sc.HTTP)
	if err != nil {
		return err
	}
	defer httpLn.Close()
	var httpsLn, adminLn net.Listener
	if sc.HTTPS != "" {
		if httpsLn, err = listen(sc.HTTPS); err != nil {
			return err
		}
		defer httpsLn.Close()
	}
	if sc.Admin != "" {
		if adminLn, err = listen(sc.Admin); err != nil {
			return err
		}
		defer adminLn.Close()
	}
	var inherited *server.Handed
	if upgraded {
		// The previous process stops serving, closes its Workers and
		// hands over their hibernatable WebSockets and the data directory.
		if inherited, err = up.Ready(ctx); err != nil {
			return err
		}
		defer inherited.Close() // those of a Worker that failed to load
	}

	if upgraded { // the previous process released it
		if err := locks.LockDir(sc.DataDir); err != nil {
			return fmt.Errorf("data_dir: %w", err)
		}
	}
	names := make([]string, len(workers))
	for i, w := range workers {
		names[i] = w.name
	}
	fleet, err := server.NewFleet(names, router, log)
	if err != nil {
		return fmt.Errorf("%s: %w", sc.File, err)
	}
	defer fleet.Close()
	account, err := server.OpenAccount(sc.DataDir, locks, log)
	if err != nil {
		return err
	}
	fleet.UseAccount(account)
	adminPort := 0
	if sc.Admin != "" {
		_, p, _ := net.SplitHostPort(sc.Admin)
		adminPort, _ = strconv.Atoi(p)
	}
	// Metrics, served on the admin address: one registry for the process.
	reg := prometheus.NewRegistry()
	var observer *metrics.Metrics
	if sc.Admin != "" {
		apps := func() []*server.App {
			var out []*server.App
			for _, name := range fleet.Names() {
				if a := fleet.Server(name).Current(); a != nil {
					out = append(out, a)
				}
			}
			return out
		}
		if observer, err = metrics.New(reg, apps, log); err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
	}
	for _, w := range workers {
		wlog := log.With("worker", w.name)
		if len(router.Patterns(w.name)) == 0 {
			wlog.Warn("the Worker has no routes: it gets no HTTP requests (service bindings still reach it)")
		}
		if !upgraded { // built and checked above
			if _, err := runBuild(ctx, w.file, stderr); err != nil {
				return fmt.Errorf("worker %s: %w", w.name, err)
			}
		}
		opts := server.Options{
			Config:       w.file,
			PersistTo:    sc.DataDir,
			Vars:         w.vars,
			Logger:       wlog,
			Locks:        locks,
			AdminAPIPort: adminPort,
			Workers:      fleet.Handler,
			ObjectHosts:  fleet.ObjectHost,
			WorkerCode:   fleet.WorkerCode,
			Capabilities: fleet.Capabilities(),
			Account:      account,
		}
		if observer != nil {
			opts.Observer = observer
			fleet.Server(w.name).Observer = observer
		}
		// The version deployed last (cairn deploy) if any, else the
		// Worker's project as its config names it.
		app, err := server.LoadActive(opts, w.name)
		if errors.Is(err, versions.ErrNoDeployment) {
			app, err = server.Load(opts)
		}
		if err != nil {
			return fmt.Errorf("worker %s: %w", w.name, err)
		}
		srv := fleet.Server(w.name)
		srv.Swap(app)
		if err := srv.EnableDeploys(opts); err != nil {
			return fmt.Errorf("worker %s: %w", w.name, err)
		}
	}

	if upgraded {
		fleet.Adopt(inherited)
	} else {
		fleet.Adopt(stored)
	}
	releaseStored() // the sockets are this process's: the store lets go of them

	// Serving.
	var front []*http.Server
	errc := make(chan error, 3)
	serveOn := func(ln net.Listener, h http.Handler, tlsFiles ...string) (net.Addr, *http.Server, error) {
		hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(handler, slog.LevelWarn)}
		go func() {
			var err error
			if len(tlsFiles) == 2 {
				err = hs.ServeTLS(ln, tlsFiles[0], tlsFiles[1])
			} else {
				err = hs.Serve(ln)
			}
			if !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
		return ln.Addr(), hs, nil
	}
	closeAll := func(servers []*http.Server) {
		for _, hs := range servers {
			hs.Close()
		}
	}
	addr, hs, err := serveOn(httpLn, fleet)
	if err != nil {
		return err
	}
	front = append(front, hs)
	defer closeAll(front)
	ready := []string{"http://" + addr.String()}
	if sc.HTTPS != "" {
		addr, hs, err := serveOn(httpsLn, fleet, sc.CertFile, sc.KeyFile)
		if err != nil {
			return err
		}
		front = append(front, hs)
		ready = append(ready, "https://"+addr.String())
	}
	var admin *http.Server
	if sc.Admin != "" {
		// Prometheus metrics beside the admin API, under its rule for callers.
		adminMux := http.NewServeMux()
		adminMux.Handle("GET /metrics", server.NewAPI(sc.AdminToken).Guard(metrics.Handler(reg, log)))
		adminMux.Handle("/", fleet.AdminAPI(sc.AdminToken))
		addr, hs, err := serveOn(adminLn, adminMux)
		if err != nil {
			return err
		}
		admin = hs
		defer admin.Close()
		fmt.Fprintf(stdout, "Admin API on http://%s/client/v4 (health: /cairn/healthz)\n", addr)
	}
	var upgrade <-chan struct{}
	if up != nil {
		if !upgraded {
			if _, err := up.Ready(ctx); err != nil { // writes the pid file
				return err
			}
		}
		up.ListenForUpgrades(ctx, syscall.SIGHUP)
		upgrade = up.Exit()
	}
	fmt.Fprintf(stdout, "Ready on %s (%s; started in %s, pid %d)\n", strings.Join(ready, ", "), strings.Join(names, ", "), time.Since(start).Round(time.Millisecond), os.Getpid())
	sdNotify("READY=1")

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	case <-upgrade:
		// A new process is ready: it serves from now on.
		return handOffFleet(log, sc.ShutdownTimeout, up, fleet, locks, append(front, admin))
	}
	return shutdown(log, sc.ShutdownTimeout, fleet, locks, front, admin)
}

// handOffFleet ends this process's part in an upgrade of cairn serve
// within timeout: the listeners stop accepting (connections wait in their
// backlog for the new process), requests in flight finish (responses
// still streaming at half the timeout are ended), then every Worker closes
// and its hibernatable WebSockets, the locks and the account's databases
// pass to the new process. WebSockets accepted with ws.accept() close with
// 1012: a connection read by JavaScript cannot move.
func handOffFleet(log *slog.Logger, timeout time.Duration, up *server.Upgrader, fleet *server.Fleet, locks *server.StateLocks, servers []*http.Server) error {
	begun := time.Now()
	log.Info("upgrade: the new process is ready; handing over", "timeout", timeout.String())
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-done:
		case <-time.After(timeout + handoffGrace):
			log.Error("upgrade: hand-off deadline passed: exiting (acknowledged writes are durable)", "timeout", timeout.String())
			exit(1)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	streams := time.AfterFunc(timeout/2, fleet.EndStreams)
	defer streams.Stop()
	var wg sync.WaitGroup
	for _, hs := range servers {
		if hs == nil {
			continue
		}
		wg.Go(func() {
			if err := hs.Shutdown(ctx); err != nil {
				log.Warn("upgrade: requests still in flight", "error", err)
			}
		})
	}
	wg.Wait()
	n, err := up.HandOffFleet(ctx, fleet, locks)
	if err != nil {
		log.Error("upgrade: hand-off", "error", err)
	}
	log.Info("upgrade: handed over", "websockets", n, "took", time.Since(begun).Round(time.Millisecond).String())
	return nil
}

// handoffGrace is how long past the shutdown timeout a hand-off may take
// to close the Workers and send their sockets before the process gives up.
const handoffGrace = 15 * time.Second

// shutdown stops cairn serve within timeout: the health check fails, the
// listeners close and requests in flight finish (responses still streaming
// at half the timeout are ended), then every Worker closes (WebSockets with
// 1012, pending commits made durable). Under systemd with a descriptor store
// (FileDescriptorStoreMax=) hibernated WebSockets are left in the store for
// the next process of the service instead (server.StashFleet). Past the
// timeout the process exits with status 1.
func shutdown(log *slog.Logger, timeout time.Duration, fleet *server.Fleet, locks *server.StateLocks, front []*http.Server, admin *http.Server) error {
	begun := time.Now()
	sdNotify("STOPPING=1")
	log.Info("shutting down", "timeout", timeout.String())
	fleet.Drain()
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-done:
		case <-time.After(timeout):
			log.Error("shutdown deadline passed: exiting without waiting (acknowledged writes are durable)", "timeout", timeout.String())
			exit(1)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	streams := time.AfterFunc(timeout/2, fleet.EndStreams)
	defer streams.Stop()
	var wg sync.WaitGroup
	for _, hs := range front {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = hs.Shutdown(ctx)
		}()
	}
	wg.Wait()
	var err error
	if server.FDStoreEnabled() {
		// systemd keeps the hibernated WebSockets for the next process
		// of the service (a restart); the rest closes as usual.
		if _, serr := server.StashFleet(ctx, fleet, locks, log); serr != nil {
			log.Error("descriptor store", "error", serr)
		}
	}
	err = fleet.Close()
	if admin != nil {
		_ = admin.Shutdown(ctx)
	}
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped", "took", time.Since(begun).Round(time.Millisecond).String())
	return nil
}

// sdNotify tells systemd (Type=notify) about the service's state; without
// $NOTIFY_SOCKET it does nothing.
func sdNotify(state string) {
	sock := os.Getenv("NOTIFY_SOCKET")
	if sock == "" {
		return
	}
	if sock[0] == '@' {
		sock = "\x00" + sock[1:] // an abstract socket
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		return
	}
	defer c.Close()
	_, _ = c.Write([]byte(state))
}

// serveOnlyFilter drops the warnings about the keys only cairn serve reads
// (config.ServeOnly: routes), which would say they are ignored.
type serveOnlyFilter struct{ slog.Handler }

func (f serveOnlyFilter) Handle(ctx context.Context, r slog.Record) error {
	if r.Level == slog.LevelWarn && strings.Contains(r.Message, config.ServeOnly) {
		return nil
	}
	return f.Handler.Handle(ctx, r)
}

func (f serveOnlyFilter) WithAttrs(attrs []slog.Attr) slog.Handler {
	return serveOnlyFilter{f.Handler.WithAttrs(attrs)}
}

func (f serveOnlyFilter) WithGroup(name string) slog.Handler {
	return serveOnlyFilter{f.Handler.WithGroup(name)}
}
