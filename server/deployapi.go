package server

import (
	"archive/tar"
	"cmp"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/cairn-dev/cairn/config"
	"github.com/cairn-dev/cairn/objects"
	"github.com/cairn-dev/cairn/versions"
)

// The admin API's Workers Versions and Deployments routes, in the shape of
// Cloudflare's (under /client/v4/accounts/{account}/workers/scripts/{script}):
//
//	PUT  …/{script}                          upload a version and deploy it (wrangler deploy, cairn deploy)
//	POST …/{script}/versions                 upload a version (wrangler versions upload)
//	GET  …/{script}/versions                 list versions, newest first: {"items": […]}
//	GET  …/{script}/versions/{version}       one version
//	GET  …/{script}/deployments              list deployments, newest first: {"deployments": […]}
//	POST …/{script}/deployments              deploy a version at 100% (wrangler versions deploy, rollback)
//
// Uploads are multipart forms as wrangler sends them: a "metadata" JSON part
// (main_module, annotations {"workers/message", "workers/tag"}) and a part
// per module. cairn runs its own bundle (one CommonJS script with its
// source map inline, see BundleProject), so the metadata must also carry
// cairn's resolved config: {"cairn": {"config": {…}, "source", "author"}}.

// uploadMetadata is the "metadata" part of a version upload.
type uploadMetadata struct {
	MainModule  string            `json:"main_module"`
	BodyPart    string            `json:"body_part"` // service-worker format
	Annotations map[string]string `json:"annotations"`
	Cairn       *struct {
		Config json.RawMessage `json:"config"`
		Source string          `json:"source"`
		Author string          `json:"author"`
	} `json:"cairn"`
}

// upload is a parsed version upload.
type upload struct {
	meta   uploadMetadata
	config []byte
	script []byte
	assets map[string][]byte // "assets/<path>" → contents; nil without
}

// AssetsPart is the multipart part of a version upload holding its static
// assets (a cairn extension): a gzipped tar of the assets directory.
const AssetsPart = "cairn-assets"

// Bounds on the static assets of a version, as Cloudflare's: files, and
// bytes of one file. Their total is bounded by the upload limit.
const (
	maxAssetFiles = 20000
	maxAssetSize  = 25 << 20
)

// Annotations of a version and a deployment, as Cloudflare names them.
const (
	annotationMessage = "workers/message"
	annotationTag     = "workers/tag"
)

func (s *Server) registerDeploys(api *API) {
	if s.deploys == nil {
		return
	}
	const base = "/accounts/{account}/workers/scripts/{script}"
	api.HandleRaw("PUT "+base, s.handleUpload(true))
	api.HandleRaw("POST "+base+"/versions", s.handleUpload(false))
	api.Handle("GET "+base+"/versions", s.listVersions)
	api.Handle("GET "+base+"/versions/{version}", s.getVersion)
	api.Handle("GET "+base+"/deployments", s.listDeployments)
	api.Handle("POST "+base+"/deployments", s.createDeployment)
}

// checkScript answers 404 unless the path names the Worker s serves.
func (d *deployer) checkScript(r *http.Request) error {
	if name := r.PathValue("script"); name != d.name {
		return &APIError{Status: http.StatusNotFound, Code: 10007,
			Message: fmt.Sprintf("This Worker does not exist on your account: %q (this server serves %q)", name, d.name)}
	}
	return nil
}

// handleUpload takes a version upload, and deploys it if deploy is set.
// The version is loaded (compiled, its bindings checked, its migrations
// checked) before anything is stored: one that fails changes nothing.
func (s *Server) handleUpload(deploy bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		result, err := s.upload(w, r, deploy)
		if err != nil {
			WriteAPIError(w, err)
			return
		}
		writeEnvelope(w, http.StatusOK, envelope{Success: true, Errors: []APIError{}, Messages: []APIError{}, Result: result})
	}
}

func (s *Server) upload(w http.ResponseWriter, r *http.Request, deploy bool) (any, error) {
	d := s.deploys
	if err := d.checkScript(r); err != nil {
		return nil, err
	}
	tooLarge := &APIError{Status: http.StatusRequestEntityTooLarge, Code: 10027,
		Message: fmt.Sprintf("Your Worker exceeded the size limit of %d bytes", d.maxUpload)}
	if r.ContentLength > d.maxUpload {
		return nil, tooLarge
	}
	r.Body = http.MaxBytesReader(w, r.Body, d.maxUpload)
	up, err := readUpload(r, d.maxUpload)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, tooLarge
	}
	if err != nil {
		return nil, err
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	id := versions.NewID()
	cfg, err := versionConfig(up.config, d.store.VersionDir(id))
	if err != nil {
		return nil, &APIError{Status: http.StatusBadRequest, Code: 10021, Message: err.Error()}
	}
	if cfg.Name != d.name {
		return nil, &APIError{Status: http.StatusBadRequest, Code: 10021,
			Message: fmt.Sprintf("the uploaded config is for Worker %q; this is %q", cfg.Name, d.name)}
	}
	meta := versions.Version{ID: id, Message: up.meta.Annotations[annotationMessage], Tag: up.meta.Annotations[annotationTag], Source: "api"}
	if c := up.meta.Cairn; c != nil {
		meta.Source = cmp.Or(c.Source, meta.Source)
		meta.Author = c.Author
	}
	files := up.assets
	if files == nil {
		files = map[string][]byte{}
	}
	files[VersionScript], files[VersionConfig] = up.script, up.config
	// Stored first (the version's assets are served from its directory),
	// removed again if it does not load.
	v, err := d.store.Add(meta, files)
	if err != nil {
		return nil, err
	}
	app, err := LoadBundle(d.opts, cfg, string(up.script))
	if err != nil {
		if rerr := d.store.Remove(v.ID); rerr != nil && s.Log != nil {
			s.Log.Error("deploy: remove a version that failed to load", "version", v.ID, "error", rerr)
		}
		return nil, &APIError{Status: http.StatusBadRequest, Code: 10021, Message: "the version does not load, nothing changed: " + err.Error()}
	}
	app.Version = id
	if !deploy {
		app.Close() // checked; POST …/deployments loads it again
		return versionJSON(v), nil
	}
	dep, err := s.activate(app, versions.Deployment{Source: meta.Source, Message: meta.Message, Author: meta.Author,
		Versions: []versions.Split{{VersionID: v.ID, Percentage: 100}}})
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"id":            d.name,
		"etag":          v.ID,
		"version_id":    v.ID,
		"number":        v.Number,
		"deployment_id": dep.ID,
		"created_on":    v.Created.Format(time.RFC3339Nano),
		"modified_on":   v.Created.Format(time.RFC3339Nano),
	}, nil
}

// DeployDrain is how long a deploy lets the previous version's responses
// still streaming run before it ends them (its other requests in flight
// always finish). It closes in the background meanwhile; the next deploy or
// reload, or shutdown, ends them at once. It is short because the new
// version's Durable Objects wait for the previous version to close (an
// object never runs in both): an event stream (which clients reopen) is cut
// rather than every object held.
const DeployDrain = 5 * time.Second

// activate makes app (a version LoadBundle loaded) the one served: its
// migrations are saved, the deployment recorded durably, then it takes new
// requests (Swap) while the previous version finishes its own. On an error
// before the swap, app is closed and the previous version keeps serving.
// d.mu is held.
func (s *Server) activate(app *App, dep versions.Deployment) (versions.Deployment, error) {
	d := s.deploys
	if err := app.commitMigrations(); err != nil {
		app.Close()
		return versions.Deployment{}, &APIError{Status: http.StatusBadRequest, Code: 10021, Message: "nothing changed: " + err.Error()}
	}
	rec, err := d.store.Deploy(dep)
	if err != nil {
		// The catalog has the version's migrations (they only add, rename
		// or delete classes, so the previous code still finds its own
		// unless it used a renamed or deleted one).
		app.Close()
		return versions.Deployment{}, fmt.Errorf("record deployment: %w", err)
	}
	start := time.Now()
	closed := s.swap(app, DeployDrain)
	if s.Log != nil {
		s.Log.Info("deployed", "worker", d.name, "version", app.Version, "deployment", rec.ID, "swap", time.Since(start).Round(time.Millisecond))
	}
	go func() {
		<-closed
		if err := app.removeDeleted(); err != nil && s.Log != nil {
			s.Log.Error("deploy: remove the storage of deleted classes", "error", err)
		}
	}()
	return rec, nil
}

// readUpload parses a multipart version upload.
func readUpload(r *http.Request, maxBytes int64) (*upload, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return nil, &APIError{Status: http.StatusUnsupportedMediaType, Code: 10415,
			Message: fmt.Sprintf("Content-Type must be multipart/form-data (a metadata part and the modules), got %q", r.Header.Get("Content-Type"))}
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, &APIError{Status: http.StatusBadRequest, Code: 10021, Message: "read upload: " + err.Error()}
	}
	var (
		up      upload
		hasMeta bool
		parts   = map[string][]byte{}
	)
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, uploadError(err)
		}
		name := p.FormName()
		if name == AssetsPart {
			if up.assets, err = readAssets(p, maxBytes); err != nil {
				return nil, err
			}
			continue
		}
		b, err := io.ReadAll(p)
		if err != nil {
			return nil, uploadError(err)
		}
		if name == "metadata" {
			if err := json.Unmarshal(b, &up.meta); err != nil {
				return nil, &APIError{Status: http.StatusBadRequest, Code: 10021, Message: "metadata part: " + err.Error()}
			}
			hasMeta = true
			continue
		}
		parts[name] = b
	}
	if !hasMeta {
		return nil, &APIError{Status: http.StatusBadRequest, Code: 10021, Message: "the upload has no metadata part"}
	}
	main := cmp.Or(up.meta.MainModule, up.meta.BodyPart)
	script, ok := parts[main]
	if main != "" && !ok {
		return nil, &APIError{Status: http.StatusBadRequest, Code: 10021, Message: fmt.Sprintf("the upload has no part for its main module %q", main)}
	}
	if up.meta.Cairn == nil || len(up.meta.Cairn.Config) == 0 {
		return nil, &APIError{Status: http.StatusBadRequest, Code: 10021,
			Message: "cairn runs versions uploaded by cairn deploy (its bundle, with cairn's config in metadata.cairn.config); this upload has no cairn config"}
	}
	up.script, up.config = script, up.meta.Cairn.Config
	return &up, nil
}

func uploadError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return err
	}
	return &APIError{Status: http.StatusBadRequest, Code: 10021, Message: "read upload: " + err.Error()}
}

// versionJSON is a version in the shape of Cloudflare's version item.
func versionJSON(v versions.Version) map[string]any {
	created := v.Created.Format(time.RFC3339Nano)
	annotations := map[string]string{}
	if v.Message != "" {
		annotations[annotationMessage] = v.Message
	}
	if v.Tag != "" {
		annotations[annotationTag] = v.Tag
	}
	return map[string]any{
		"id":     v.ID,
		"number": v.Number,
		"metadata": map[string]any{
			"author_email": v.Author,
			"created_on":   created,
			"modified_on":  created,
			"source":       v.Source,
		},
		"annotations": annotations,
	}
}

// deploymentJSON is a deployment in the shape of Cloudflare's.
func deploymentJSON(d versions.Deployment) map[string]any {
	annotations := map[string]string{}
	if d.Message != "" {
		annotations[annotationMessage] = d.Message
	}
	vs := make([]map[string]any, len(d.Versions))
	for i, s := range d.Versions {
		vs[i] = map[string]any{"version_id": s.VersionID, "percentage": s.Percentage}
	}
	return map[string]any{
		"id":           d.ID,
		"created_on":   d.Created.Format(time.RFC3339Nano),
		"source":       d.Source,
		"strategy":     "percentage",
		"author_email": d.Author,
		"annotations":  annotations,
		"versions":     vs,
	}
}

func (s *Server) listVersions(r *http.Request) (any, error) {
	d := s.deploys
	if err := d.checkScript(r); err != nil {
		return nil, err
	}
	list, err := d.store.List()
	if err != nil {
		return nil, err
	}
	items := make([]map[string]any, len(list))
	for i, v := range list {
		items[i] = versionJSON(v)
	}
	return map[string]any{"items": items}, nil
}

func (s *Server) getVersion(r *http.Request) (any, error) {
	d := s.deploys
	if err := d.checkScript(r); err != nil {
		return nil, err
	}
	v, err := d.store.Get(r.PathValue("version"))
	if errors.Is(err, versions.ErrNotFound) {
		return nil, versionNotFound(r.PathValue("version"))
	}
	if err != nil {
		return nil, err
	}
	return versionJSON(v), nil
}

func versionNotFound(id string) error {
	return &APIError{Status: http.StatusNotFound, Code: 10230, Message: fmt.Sprintf("version %q not found", id)}
}

func (s *Server) listDeployments(r *http.Request) (any, error) {
	d := s.deploys
	if err := d.checkScript(r); err != nil {
		return nil, err
	}
	all, err := d.store.Deployments()
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, len(all))
	for i, dep := range all {
		out[i] = deploymentJSON(dep)
	}
	return map[string]any{"deployments": out}, nil
}

// createDeployment deploys one stored version at 100%:
// {"strategy": "percentage", "versions": [{"version_id", "percentage": 100}],
// "annotations": {"workers/message": …}}.
func (s *Server) createDeployment(r *http.Request) (any, error) {
	d := s.deploys
	if err := d.checkScript(r); err != nil {
		return nil, err
	}
	if err := requireJSON(r); err != nil {
		return nil, err
	}
	var body struct {
		Strategy    string            `json:"strategy"`
		Versions    []versions.Split  `json:"versions"`
		Annotations map[string]string `json:"annotations"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil {
		return nil, &APIError{Status: http.StatusBadRequest, Code: 10021, Message: "deployment: " + err.Error()}
	}
	if body.Strategy != "" && body.Strategy != "percentage" {
		return nil, &APIError{Status: http.StatusBadRequest, Code: 10021, Message: fmt.Sprintf("deployment strategy %q: only \"percentage\" is known", body.Strategy)}
	}
	if len(body.Versions) != 1 || body.Versions[0].Percentage != 100 {
		return nil, &APIError{Status: http.StatusBadRequest, Code: 10021,
			Message: "cairn deploys one version at 100%: splitting traffic between versions (gradual deployments) is not supported"}
	}
	id := body.Versions[0].VersionID
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.store.Get(id); errors.Is(err, versions.ErrNotFound) {
		return nil, versionNotFound(id)
	} else if err != nil {
		return nil, err
	}
	if err := d.checkMigrations(id); err != nil {
		return nil, err
	}
	app, err := loadVersion(d.opts, d.store, id)
	if err != nil {
		return nil, &APIError{Status: http.StatusBadRequest, Code: 10021, Message: "the version does not load, nothing changed: " + err.Error()}
	}
	dep, err := s.activate(app, versions.Deployment{Source: "api", Message: body.Annotations[annotationMessage],
		Versions: []versions.Split{{VersionID: id, Percentage: 100}}})
	if err != nil {
		return nil, err
	}
	return deploymentJSON(dep), nil
}

// checkMigrations refuses to deploy again a version that predates a
// migration applied since (as Cloudflare refuses such a rollback):
// migrations are not undone, so its code would find classes renamed or
// deleted under it, and new empty ones in their place.
func (d *deployer) checkMigrations(id string) error {
	raw, err := d.store.ReadFile(id, VersionConfig)
	if err != nil {
		return err
	}
	var cfg config.Config
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return fmt.Errorf("version %s: config: %w", id, err)
	}
	known := make(map[string]bool, len(cfg.Migrations))
	for _, m := range cfg.Migrations {
		known[m.Tag] = true
	}
	catalog, err := objects.OpenCatalog(filepath.Join(d.opts.PersistTo, d.name))
	if err != nil {
		return err
	}
	for _, tag := range catalog.Applied() {
		if !known[tag] {
			return &APIError{Status: http.StatusBadRequest, Code: 10021,
				Message: fmt.Sprintf("version %s predates the Durable Object migration %q applied since; migrations cannot be undone, so it cannot be deployed again (nothing changed)", id, tag)}
		}
	}
	return nil
}

// readAssets reads the assets part: a gzipped tar of regular files and
// directories, at most maxAssetFiles files of maxAssetSize bytes and
// maxTotal bytes in all, with relative paths inside the directory.
func readAssets(r io.Reader, maxTotal int64) (map[string][]byte, error) {
	bad := func(format string, args ...any) error {
		return &APIError{Status: http.StatusBadRequest, Code: 10021, Message: "static assets: " + fmt.Sprintf(format, args...)}
	}
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, uploadError(err)
	}
	tr := tar.NewReader(zr)
	out := map[string][]byte{}
	var total int64
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, uploadError(err)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			continue
		case tar.TypeReg:
		default:
			return nil, bad("%s: only regular files and directories may be uploaded", h.Name)
		}
		name := strings.TrimPrefix(h.Name, "./")
		if !fs.ValidPath(name) || strings.Contains(name, "\\") {
			return nil, bad("%q is not a path inside the assets directory", h.Name)
		}
		if len(out) >= maxAssetFiles {
			return nil, bad("more than %d files", maxAssetFiles)
		}
		if h.Size > maxAssetSize {
			return nil, bad("%s is larger than %d bytes", name, maxAssetSize)
		}
		if total += h.Size; total > maxTotal {
			return nil, &APIError{Status: http.StatusRequestEntityTooLarge, Code: 10027,
				Message: fmt.Sprintf("Your Worker's static assets exceed the size limit of %d bytes", maxTotal)}
		}
		b, err := io.ReadAll(io.LimitReader(tr, h.Size))
		if err != nil {
			return nil, uploadError(err)
		}
		out["assets/"+name] = b
	}
}
