package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"

	"github.com/cairn-dev/cairn/bundle"
	"github.com/cairn-dev/cairn/config"
	"github.com/cairn-dev/cairn/versions"
)

// Files of a deployed version in the version store.
const (
	VersionScript = "worker.js"   // the bundle, with its inline source map
	VersionConfig = "config.json" // the resolved config (config.Config as JSON)
)

// BundleProject bundles cfg's entry module as Load does (the config's module
// rules, source paths relative to the project), for cairn deploy.
func BundleProject(cfg *config.Config) (*bundle.Result, error) {
	if cfg.Main == "" {
		return nil, fmt.Errorf("%s: no main module to deploy", cfg.File)
	}
	return bundle.Build(bundle.Options{Entry: cfg.Main, Dir: cfg.Dir, Rules: moduleRules(cfg.Rules)})
}

// LoadBundle starts the App of a Worker already bundled (a deployed
// version): cfg as resolved from its wrangler config, code as
// BundleProject made it. Unlike Load it does not read the project's files.
// The config's Durable Object migrations are checked and staged, not
// saved, and the App runs no object, until Server.Deploy takes it.
// opts.PersistTo must be set.
func LoadBundle(opts Options, cfg *config.Config, code string) (*App, error) {
	if opts.PersistTo == "" {
		return nil, errors.New("load bundle: no state directory (Options.PersistTo)")
	}
	if code == "" && cfg.Main != "" {
		return nil, errors.New("load bundle: the version has no script")
	}
	return load(opts, cfg, code, true)
}

// versionConfig decodes a stored version's config and points its paths at
// the version's directory dir (the paths it had were on the machine that
// deployed it).
func versionConfig(raw []byte, dir string) (*config.Config, error) {
	var cfg config.Config
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, fmt.Errorf("version config: %w", err)
	}
	// The names below name files under the state directory.
	names := []string{cfg.Name}
	for _, b := range cfg.D1Databases {
		names = append(names, D1ID(b))
	}
	for _, b := range cfg.KVNamespaces {
		names = append(names, KVNamespaceID(b))
	}
	for _, b := range cfg.R2Buckets {
		names = append(names, R2BucketName(b))
	}
	for _, n := range names {
		if !config.ValidName(n) {
			return nil, fmt.Errorf("version config: %q may not name a Worker, database, namespace or bucket (1-128 letters, digits, '.', '_' or '-')", n)
		}
	}
	cfg.File = filepath.Join(dir, VersionConfig)
	cfg.Dir = dir
	if cfg.Main != "" {
		cfg.Main = filepath.Join(dir, VersionScript)
	}
	if cfg.Assets != nil {
		cfg.Assets.Directory = filepath.Join(dir, "assets")
	}
	cfg.Build = nil
	for i := range cfg.D1Databases {
		cfg.D1Databases[i].MigrationsDir = ""
	}
	return &cfg, nil
}

// holdObjects makes the App's Host hold back object activations until the
// returned function is called (Swap calls it once the previous App closed).
func (a *App) holdObjects() (release func()) {
	if a.held == nil {
		a.held = make(chan struct{})
		a.Host.WaitFor(a.held)
	}
	return a.release
}

// release lets the App's Host activate objects, if holdObjects held them.
func (a *App) release() {
	if a.held != nil {
		a.releaseOnce.Do(func() { close(a.held) })
	}
}

func releaseHeld(held chan struct{}) {
	if held != nil {
		close(held)
	}
}

// deployer serves a Server's versions and deployments (EnableDeploys).
type deployer struct {
	name      string // the Worker's name: the API's {script_name}
	opts      Options
	store     *versions.Store
	maxUpload int64
	mu        sync.Mutex // one deploy at a time
}

// DefaultMaxUpload bounds a version upload (413 above it): Cloudflare's
// limit on a Worker's size, uncompressed, is 64 MiB.
const DefaultMaxUpload = 64 << 20

// VersionsDir returns the directory of a Worker's versions under the
// state directory persist.
func VersionsDir(persist, worker string) string {
	return filepath.Join(persist, worker, "versions")
}

// EnableDeploys lets s take new versions of its Worker through the admin
// API (AdminAPI registers the routes): versions are kept under
// <state>/<worker>/versions and loaded with opts (its PersistTo and Locks
// must be those of the App s serves; PersistTo defaults to the current
// App's project's .cairn/state). s must serve an App already: its Worker's
// name is the API's script name.
func (s *Server) EnableDeploys(opts Options) error {
	app := s.Current()
	if app == nil {
		return errors.New("enable deploys: no Worker loaded")
	}
	if opts.PersistTo == "" {
		opts.PersistTo = filepath.Join(app.Config.Dir, ".cairn", "state")
	}
	store, err := versions.Open(VersionsDir(opts.PersistTo, app.Config.Name))
	if err != nil {
		return fmt.Errorf("enable deploys: %w", err)
	}
	s.deploys = &deployer{name: app.Config.Name, opts: opts, store: store, maxUpload: DefaultMaxUpload}
	return nil
}

// LoadActive loads the version deployed last in the version store under
// opts.PersistTo for the Worker name, or returns versions.ErrNoDeployment.
// A server calls it at start to serve what was deployed.
func LoadActive(opts Options, name string) (*App, error) {
	if opts.PersistTo == "" {
		return nil, errors.New("load active version: no state directory (Options.PersistTo)")
	}
	store, err := versions.Open(VersionsDir(opts.PersistTo, name))
	if err != nil {
		return nil, err
	}
	d, err := store.Active()
	if err != nil {
		return nil, err
	}
	app, err := loadVersion(opts, store, d.Versions[0].VersionID)
	if err != nil {
		return nil, err
	}
	if err := app.commitMigrations(); err != nil {
		app.Close()
		return nil, err
	}
	return app, nil
}

// loadVersion loads version id of store, its migrations staged.
func loadVersion(opts Options, store *versions.Store, id string) (*App, error) {
	raw, err := store.ReadFile(id, VersionConfig)
	if err != nil {
		return nil, err
	}
	code, err := store.ReadFile(id, VersionScript)
	if err != nil {
		return nil, err
	}
	cfg, err := versionConfig(raw, store.VersionDir(id))
	if err != nil {
		return nil, err
	}
	app, err := LoadBundle(opts, cfg, string(code))
	if err != nil {
		return nil, err
	}
	app.Version = id
	return app, nil
}

// commitMigrations saves the migrations LoadBundle staged.
func (a *App) commitMigrations() error {
	if a.migrations == nil {
		return nil
	}
	if err := a.migrations.Commit(); err != nil {
		return fmt.Errorf("apply migrations: %w", err)
	}
	return nil
}

// removeDeleted deletes the storage of the classes the App's committed
// migrations deleted, once the previous App (whose objects used it) closed.
func (a *App) removeDeleted() error {
	if a.migrations == nil {
		return nil
	}
	err := a.migrations.RemoveDeleted()
	a.migrations = nil
	return err
}

// EndStreams ends the responses still streaming from the App served and
// from a previous one still draining after a deploy, so that a shutdown
// need not wait for them.
func (s *Server) EndStreams() {
	if app := s.Current(); app != nil {
		app.Worker.EndStreams()
	}
	if d := s.draining.Load(); d != nil {
		d.Worker.EndStreams()
	}
}
