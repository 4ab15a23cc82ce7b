package wpt

// Reasons a test file is not run.
const (
	reasonServer = "needs WPT's own server (fetches its resources/*.py handlers or other origins)"
	reasonSub    = "a .sub. file: needs WPT's server to substitute {{host}} and ports"
	reasonDOM    = "needs a DOM window (document, iframes, XMLHttpRequest, workers or service workers)"
	reasonIDL    = "idlharness: needs WPT's interfaces/ directory and a WebIDL brand model cairn does not claim"
)

// DefaultSkips are the files of the streams/ and fetch/api/ subsets (and
// any other directory's idlharness) that cannot run in a Worker without
// WPT's server or a DOM, by path prefix, with the reason. An empty reason
// runs a file under a skipped directory (the longest prefix decides).
var DefaultSkips = map[string]string{
	"streams/idlharness.any.js":   reasonIDL,
	"fetch/api/idlharness.any.js": reasonIDL,

	"fetch/api/basic":                             reasonServer,
	"fetch/api/basic/historical.any.js":           "",
	"fetch/api/basic/scheme-about.any.js":         "",
	"fetch/api/basic/scheme-data.any.js":          "",
	"fetch/api/basic/stream-safe-creation.any.js": "",
	"fetch/api/cors":                              reasonServer,
	"fetch/api/credentials":                       reasonServer,
	"fetch/api/redirect":                          reasonServer,
	"fetch/api/policies":                          reasonDOM,

	"fetch/api/abort/cache.https.html":                     reasonDOM,
	"fetch/api/abort/destroyed-context.html":               reasonDOM,
	"fetch/api/abort/keepalive.html":                       reasonDOM,
	"fetch/api/abort/serviceworker-intercepted.https.html": reasonDOM,

	"fetch/api/headers/header-values.html":           reasonDOM,
	"fetch/api/headers/header-values-normalize.html": reasonDOM,

	"fetch/api/request/destination":                         reasonDOM,
	"fetch/api/request/multi-globals":                       reasonDOM,
	"fetch/api/request/request-cache-*":                     reasonServer,
	"fetch/api/request/request-keepalive-quota.html":        reasonDOM,
	"fetch/api/request/request-keepalive.html":              reasonServer,
	"fetch/api/request/request-reset-attributes.https.html": reasonDOM,
	"fetch/api/request/url-encoding.html":                   reasonDOM,

	"fetch/api/response/multi-globals":                    reasonDOM,
	"fetch/api/response/response-cancel-stream.html":      reasonServer,
	"fetch/api/response/response-stream-disturbed-1.html": reasonServer,
	"fetch/api/response/response-stream-disturbed-2.html": reasonServer,
	"fetch/api/response/response-stream-disturbed-3.html": reasonServer,
	"fetch/api/response/response-stream-disturbed-4.html": reasonServer,
	"fetch/api/response/response-stream-disturbed-5.html": reasonServer,
}
