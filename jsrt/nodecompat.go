package jsrt

import (
	"slices"

	"github.com/dop251/goja"
)

// Parts of nodejs_compat that Cloudflare turned on by default from a
// compatibility date, each with a flag that enables it earlier (and, for
// some, one that disables it). Dates and flags are those of Cloudflare's
// compatibility-flags documentation.
var nodeFeatures = []struct {
	name     string // the key in natives.nodeFeatures
	since    string // default from this compatibility date
	enable   string // flag that enables it before
	disable  string // flag that disables it after ("" if none)
	requires string // feature that must be on too ("" if none)
}{
	// process.env holds the text vars and secrets (2025-04-01).
	{"populateEnv", "2025-04-01", "nodejs_compat_populate_process_env", "nodejs_compat_do_not_populate_process_env", ""},
	// node:http/https clients over fetch (2025-08-15).
	{"http", "2025-08-15", "enable_nodejs_http_modules", "disable_nodejs_http_modules", ""},
	// node:http servers: createServer and cloudflare:node's
	// httpServerHandler (2025-09-01).
	{"httpServer", "2025-09-01", "enable_nodejs_http_server_modules", "disable_nodejs_http_server_modules", "http"},
	// node:fs over the virtual file system (2025-09-01).
	{"fs", "2025-09-01", "enable_nodejs_fs_module", "disable_nodejs_fs_module", ""},
}

// nodeFeatureModules are the Node.js modules cairn serves from
// jsrt/modules when their feature is on, and from unenv's stubs before
// (as wrangler's preset does), module name → feature.
var nodeFeatureModules = map[string]string{
	"fs": "fs", "fs/promises": "fs", "http": "http", "https": "http",
}

// nodeFeature says whether the nodejs_compat feature name is on for cfg.
// An empty CompatibilityDate counts as today's (as config.Load defaults it),
// so every feature is on.
func (c *Config) nodeFeature(name string) bool {
	if !c.NodeCompat {
		return false
	}
	for _, f := range nodeFeatures {
		if f.name != name {
			continue
		}
		if f.requires != "" && !c.nodeFeature(f.requires) {
			return false
		}
		if slices.Contains(c.CompatibilityFlags, f.enable) {
			return true
		}
		if f.disable != "" && slices.Contains(c.CompatibilityFlags, f.disable) {
			return false
		}
		return c.CompatibilityDate == "" || c.CompatibilityDate >= f.since
	}
	return false
}

// installNodeNatives defines the natives the nodejs_compat modules read:
//
//	nodeFeatures            {populateEnv, http, httpServer, fs}: booleans
//	fsBundle()              {name: source} of the Worker's modules, /bundle
//	fsRequest()             the id of the request whose code runs ("" outside
//	                        one): each request has a /tmp of its own
//
// and registers fsDropRequest(id), set by node:fs once loaded, to be called
// when a request is over (dropRequestFiles).
func (rt *runtime) installNodeNatives() error {
	feats := rt.vm.NewObject()
	for _, f := range nodeFeatures {
		_ = feats.Set(f.name, rt.w.cfg.nodeFeature(f.name))
	}
	if err := rt.natives.Set("nodeFeatures", feats); err != nil {
		return err
	}
	if err := rt.natives.Set("fsBundle", func() goja.Value {
		files := rt.vm.NewObject()
		name := rt.w.cfg.Filename
		if name == "" {
			name = "worker.js"
		}
		_ = files.Set(name, rt.w.cfg.Code)
		return files
	}); err != nil {
		return err
	}
	return rt.natives.Set("fsRequest", func() string { return rt.request })
}

// dropRequestFiles forgets the /tmp of request id, once its response is
// done. Call it on the loop.
func (rt *runtime) dropRequestFiles(id string) {
	if id == "" || rt.natives == nil {
		return
	}
	if drop, ok := goja.AssertFunction(rt.natives.Get("fsDropRequest")); ok {
		if _, err := drop(goja.Undefined(), rt.vm.ToValue(id)); err != nil {
			rt.log.Warn("dropping a request's /tmp", "error", err)
		}
	}
}
