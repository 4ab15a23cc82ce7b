package server

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cairn-dev/cairn/d1"
)

// D1 REST API (spec 7.8), in Cloudflare's v4 envelope, on the databases of
// the Worker being served:
//
//	GET    /accounts/{account}/d1/database                 list (?name=, ?page=, ?per_page=)
//	POST   /accounts/{account}/d1/database                 create {"name"}
//	GET    /accounts/{account}/d1/database/{id}            get
//	DELETE /accounts/{account}/d1/database/{id}            delete
//	PUT|PATCH /accounts/{account}/d1/database/{id}         {"read_replication":{"mode"}}
//	POST   /accounts/{account}/d1/database/{id}/query      {"sql","params"} or {"batch":[…]}
//	POST   /accounts/{account}/d1/database/{id}/raw        same, rows as arrays
//	POST   /accounts/{account}/d1/database/{id}/export     {"output_format":"polling","dump_options"}
//	POST   /accounts/{account}/d1/database/{id}/import     {"action":"init"|"ingest"|"poll",…}
//
// {id} is a database's uuid (its database_id), its file id or its name.
// Export and import follow Cloudflare's protocol (what wrangler d1 export
// --remote and wrangler d1 execute --remote --file send and expect): the
// signed_url and upload_url point back at this API, GET and PUT
// …/{id}/files/{filename}?expires=…&sig=…, and like Cloudflare's signed R2
// URLs they need no bearer token: the signature (HMAC-SHA256 with a key made
// when the API starts, over the method, path and expiry) authorizes them
// for an hour.

// Error codes in the envelope.
const (
	codeD1SQL      = 7500 // SQL error (Cloudflare's generic code)
	codeD1NotFound = 7404
	codeD1Input    = 7400
	codeD1Exists   = 7502
)

// D1Manager returns the D1 databases the API acts on (those of the App being
// served), or an error answered as is.
type D1Manager func() (*d1.Manager, error)

// DefaultMaxImportFile bounds a file uploaded for a D1 import (PUT to the
// upload_url of an import's init): D1 databases are at most 10 GB on
// Cloudflare, but an import runs as one transaction, and a local import of
// more than this is better done with "cairn d1 import".
const DefaultMaxImportFile = 1 << 30

// RegisterD1API adds the D1 routes to api.
func RegisterD1API(api *API, manager D1Manager) {
	registerD1API(api, manager, DefaultMaxImportFile)
}

// registerD1API is RegisterD1API with an import file limit of its own.
func registerD1API(api *API, manager D1Manager, maxImportFile int64) {
	h := &d1API{manager: manager, key: make([]byte, 32), imports: map[string]map[string]any{}, maxUpload: maxImportFile}
	_, _ = rand.Read(h.key)
	const base = "/accounts/{account}/d1/database"
	api.HandleRaw("GET "+base, h.list)
	api.Handle("POST "+base, h.create)
	api.Handle("GET "+base+"/{id}", h.get)
	api.Handle("DELETE "+base+"/{id}", h.delete)
	api.Handle("PUT "+base+"/{id}", h.update)
	api.Handle("PATCH "+base+"/{id}", h.update)
	api.Handle("POST "+base+"/{id}/query", func(r *http.Request) (any, error) { return h.query(r, false) })
	api.Handle("POST "+base+"/{id}/raw", func(r *http.Request) (any, error) { return h.query(r, true) })
	api.Handle("POST "+base+"/{id}/export", h.export)
	api.Handle("POST "+base+"/{id}/import", h.importAction)
	h.registerTimeTravel(api, base)
	api.HandlePublic("GET "+base+"/{id}/files/{file}", h.signed(h.download))
	api.HandlePublic("PUT "+base+"/{id}/files/{file}", h.signed(h.upload))
}

type d1API struct {
	manager   D1Manager
	key       []byte // signs the file URLs
	maxUpload int64  // bytes of an uploaded import file
	mu        sync.Mutex
	imports   map[string]map[string]any // by database uuid: the last import's poll answer
}

// sign returns the query string that authorizes method on path until
// expires.
func (h *d1API) sign(method, path string, expires int64) string {
	mac := hmac.New(sha256.New, h.key)
	fmt.Fprintf(mac, "%s\n%s\n%d", method, path, expires)
	return fmt.Sprintf("expires=%d&sig=%s", expires, hex.EncodeToString(mac.Sum(nil)))
}

// signed wraps a file handler: the request must carry a valid, unexpired
// signature for its method and path.
func (h *d1API) signed(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		expires, err := strconv.ParseInt(q.Get("expires"), 10, 64)
		want := h.sign(r.Method, r.URL.Path, expires)
		if err != nil || time.Now().Unix() > expires ||
			!hmac.Equal([]byte(want), []byte(fmt.Sprintf("expires=%d&sig=%s", expires, q.Get("sig")))) {
			WriteAPIError(w, apiErr(http.StatusForbidden, 10000, "the signed URL is invalid or has expired"))
			return
		}
		next(w, r)
	}
}

func apiErr(status, code int, format string, args ...any) *APIError {
	return &APIError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// dbError answers a d1 error: SQL errors are 400 with SQLite's message.
func dbError(err error) error {
	var de *d1.Error
	if errors.As(err, &de) {
		return apiErr(http.StatusBadRequest, codeD1SQL, "%s", de.Msg)
	}
	if errors.Is(err, d1.ErrNotFound) {
		return apiErr(http.StatusNotFound, codeD1NotFound, "%s", err.Error())
	}
	if errors.Is(err, d1.ErrClosed) {
		return apiErr(http.StatusServiceUnavailable, codeD1SQL, "the Worker is reloading; try again")
	}
	return err
}

func (h *d1API) db(r *http.Request) (*d1.Manager, *d1.DB, error) {
	m, err := h.manager()
	if err != nil {
		return nil, nil, err
	}
	db, err := m.Lookup(r.PathValue("id"))
	if err != nil {
		if errors.Is(err, d1.ErrNotFound) {
			return nil, nil, apiErr(http.StatusNotFound, codeD1NotFound, "The database %s could not be found", r.PathValue("id"))
		}
		return nil, nil, dbError(err)
	}
	return m, db, nil
}

// decodeBody reads a JSON request body (at most 100 MB) into v; numbers
// stay json.Number.
func decodeBody(r *http.Request, v any) error {
	if err := requireJSON(r); err != nil {
		return err
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 100<<20))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return apiErr(http.StatusBadRequest, codeD1Input, "invalid JSON body: %v", err)
	}
	return nil
}

// list answers a page of the databases (?page=, ?per_page=: default 1000,
// at most 10000, as Cloudflare's) with its result_info; ?name= keeps those
// whose name contains it.
func (h *d1API) list(w http.ResponseWriter, r *http.Request) {
	m, err := h.manager()
	if err != nil {
		WriteAPIError(w, err)
		return
	}
	infos, err := m.List()
	if err != nil {
		WriteAPIError(w, dbError(err))
		return
	}
	if name := r.URL.Query().Get("name"); name != "" {
		kept := infos[:0]
		for _, i := range infos {
			if strings.Contains(i.Name, name) {
				kept = append(kept, i)
			}
		}
		infos = kept
	}
	page, info, err := paginate(infos, r.URL.Query(), 1000, 10000)
	if err != nil {
		WriteAPIError(w, err)
		return
	}
	writePage(w, page, info)
}

func (h *d1API) create(r *http.Request) (any, error) {
	var body struct {
		Name string `json:"name"`
	}
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	if strings.TrimSpace(body.Name) == "" {
		return nil, apiErr(http.StatusBadRequest, codeD1Input, "a database needs a name")
	}
	m, err := h.manager()
	if err != nil {
		return nil, err
	}
	info, err := m.Create(body.Name)
	if errors.Is(err, d1.ErrExists) {
		return nil, apiErr(http.StatusConflict, codeD1Exists, "A database with that name already exists: %s", body.Name)
	}
	if err != nil {
		return nil, dbError(err)
	}
	return info, nil
}

func (h *d1API) get(r *http.Request) (any, error) {
	_, db, err := h.db(r)
	if err != nil {
		return nil, err
	}
	info, err := db.Info()
	return info, dbError(err)
}

func (h *d1API) update(r *http.Request) (any, error) {
	var body struct {
		ReadReplication *d1.ReadReplication `json:"read_replication"`
	}
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	_, db, err := h.db(r)
	if err != nil {
		return nil, err
	}
	if body.ReadReplication != nil {
		if err := db.SetReadReplication(body.ReadReplication.Mode); err != nil {
			var de *d1.Error
			if errors.As(err, &de) {
				return nil, apiErr(http.StatusBadRequest, codeD1Input, "%s", de.Msg)
			}
			return nil, dbError(err)
		}
	}
	info, err := db.Info()
	return info, dbError(err)
}

func (h *d1API) delete(r *http.Request) (any, error) {
	m, db, err := h.db(r)
	if err != nil {
		return nil, err
	}
	info, err := db.Info()
	if err != nil {
		return nil, dbError(err)
	}
	return nil, dbError(m.Delete(info.UUID))
}

// queryBody is the body of /query and /raw.
type queryBody struct {
	SQL    string      `json:"sql"`
	Params []any       `json:"params"`
	Batch  []queryBody `json:"batch"`
}

// statements turns the body into statements: each sql is split on ";", and
// its params go to its single statement.
func (b queryBody) statements() ([]d1.Statement, error) {
	parts := b.Batch
	if len(parts) == 0 {
		parts = []queryBody{b}
	}
	var out []d1.Statement
	for _, p := range parts {
		sqls, err := d1.SplitStatements(p.SQL)
		if err != nil {
			return nil, dbError(err)
		}
		if len(sqls) == 0 {
			return nil, apiErr(http.StatusBadRequest, codeD1SQL, "%s", d1.ErrNoStatement.Msg)
		}
		params, err := jsonParams(p.Params)
		if err != nil {
			return nil, err
		}
		if len(params) > 0 && len(sqls) > 1 {
			return nil, apiErr(http.StatusBadRequest, codeD1Input, "params need a single statement; use \"batch\" for several statements with params")
		}
		for _, s := range sqls {
			out = append(out, d1.Statement{SQL: s, Params: params})
		}
	}
	return out, nil
}

// jsonParams converts JSON parameters: integers to int64, other numbers to
// float64, arrays of byte numbers to BLOBs.
func jsonParams(in []any) ([]any, error) {
	out := make([]any, len(in))
	for i, p := range in {
		switch v := p.(type) {
		case nil, string, bool:
			out[i] = v
		case json.Number:
			if n, err := v.Int64(); err == nil {
				out[i] = n
			} else if f, err := v.Float64(); err == nil {
				out[i] = f
			} else {
				return nil, apiErr(http.StatusBadRequest, codeD1Input, "parameter %d: invalid number %s", i+1, v)
			}
		case []any:
			b := make([]byte, len(v))
			for j, e := range v {
				n, ok := e.(json.Number)
				x, err := n.Int64()
				if !ok || err != nil || x < 0 || x > 255 {
					return nil, apiErr(http.StatusBadRequest, codeD1Input, "parameter %d: an array parameter must hold byte values (0-255)", i+1)
				}
				b[j] = byte(x)
			}
			out[i] = b
		default:
			return nil, apiErr(http.StatusBadRequest, codeD1Input, "parameter %d: type %T not supported", i+1, p)
		}
	}
	return out, nil
}

func (h *d1API) query(r *http.Request, raw bool) (any, error) {
	var body queryBody
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	stmts, err := body.statements()
	if err != nil {
		return nil, err
	}
	_, db, err := h.db(r)
	if err != nil {
		return nil, err
	}
	res, _, err := db.Batch(r.Context(), stmts, "")
	if err != nil {
		return nil, dbError(err)
	}
	if raw {
		return D1RawResults(res), nil
	}
	return D1Results(res), nil
}

// D1Result is one statement's result in the REST API's JSON.
type D1Result struct {
	Results any            `json:"results"`
	Success bool           `json:"success"`
	Meta    map[string]any `json:"meta"`
}

// D1Results gives results in /query's shape: rows as objects.
func D1Results(res []d1.Result) []D1Result {
	out := make([]D1Result, len(res))
	for i, r := range res {
		rows := make([]rowObject, len(r.Rows))
		for j, row := range r.Rows {
			rows[j] = rowObject{cols: r.Columns, vals: row}
		}
		out[i] = D1Result{Results: rows, Success: true, Meta: restMeta(r.Meta)}
	}
	return out
}

// D1RawResults gives results in /raw's shape: {columns, rows}.
func D1RawResults(res []d1.Result) []D1Result {
	out := make([]D1Result, len(res))
	for i, r := range res {
		rows := make([][]any, len(r.Rows))
		for j, row := range r.Rows {
			vals := make([]any, len(row))
			for k, v := range row {
				vals[k] = jsonValue(v)
			}
			rows[j] = vals
		}
		out[i] = D1Result{Results: map[string]any{"columns": r.Columns, "rows": rows}, Success: true, Meta: restMeta(r.Meta)}
	}
	return out
}

func restMeta(m d1.Meta) map[string]any {
	return map[string]any{
		"served_by": "cairn", "served_by_primary": true,
		"duration": m.Duration, "timings": map[string]any{"sql_duration_ms": m.Duration},
		"changes": m.Changes, "last_row_id": m.LastRowID, "changed_db": m.ChangedDB,
		"size_after": m.SizeAfter, "rows_read": m.RowsRead, "rows_written": m.RowsWritten,
	}
}

// jsonValue makes BLOBs arrays of byte numbers, as D1 answers them.
func jsonValue(v any) any {
	if b, ok := v.([]byte); ok {
		out := make([]int, len(b))
		for i, c := range b {
			out[i] = int(c)
		}
		return out
	}
	return v
}

// rowObject marshals a row as an object with its columns in order.
type rowObject struct {
	cols []string
	vals []any
}

func (o rowObject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, c := range o.cols {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(c)
		v, err := json.Marshal(jsonValue(o.vals[i]))
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// --- export and import ---

// filesDir holds export and upload files of the databases of m.
func filesDir(m *d1.Manager) string { return filepath.Join(m.Dir(), ".files") }

// fileLifetime is how long export and upload files are kept (Cloudflare's
// signed URLs are valid for an hour).
const fileLifetime = time.Hour

// removeOldFiles deletes the files of dir older than fileLifetime.
func removeOldFiles(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > fileLifetime {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

func randomName(suffix string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b) + suffix
}

// fileURL returns the URL, signed for method, of export or upload file.
func (h *d1API) fileURL(r *http.Request, method, file string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	path := (&url.URL{Path: fmt.Sprintf("/client/v4/accounts/%s/d1/database/%s/files/%s", r.PathValue("account"), r.PathValue("id"), file)}).EscapedPath()
	u, _ := url.PathUnescape(path)
	return fmt.Sprintf("%s://%s%s?%s", scheme, r.Host, path, h.sign(method, u, time.Now().Add(fileLifetime).Unix()))
}

func (h *d1API) export(r *http.Request) (any, error) {
	var body struct {
		OutputFormat string `json:"output_format"`
		DumpOptions  struct {
			NoData   bool     `json:"no_data"`
			NoSchema bool     `json:"no_schema"`
			Tables   []string `json:"tables"`
		} `json:"dump_options"`
	}
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	if body.OutputFormat != "" && body.OutputFormat != "polling" {
		return nil, apiErr(http.StatusBadRequest, codeD1Input, "output_format must be \"polling\"")
	}
	m, db, err := h.db(r)
	if err != nil {
		return nil, err
	}
	dir := filesDir(m)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	removeOldFiles(dir)
	name := randomName(".sql")
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		return nil, err
	}
	bookmark := db.Bookmark()
	err = db.Export(r.Context(), f, d1.ExportOptions{Tables: body.DumpOptions.Tables, NoData: body.DumpOptions.NoData, NoSchema: body.DumpOptions.NoSchema})
	err = errors.Join(err, f.Close())
	if err != nil {
		os.Remove(f.Name())
		return map[string]any{"type": "export", "at_bookmark": bookmark, "status": "error", "success": false, "error": err.Error(), "messages": []string{}}, nil
	}
	return map[string]any{
		"type": "export", "at_bookmark": bookmark, "status": "complete", "success": true,
		"messages": []string{"Generating " + name, "Export complete"},
		"result":   map[string]any{"filename": name, "signed_url": h.fileURL(r, http.MethodGet, name)},
	}, nil
}

// download serves an export file.
func (h *d1API) download(w http.ResponseWriter, r *http.Request) {
	m, _, err := h.db(r)
	if err != nil {
		WriteAPIError(w, err)
		return
	}
	name := r.PathValue("file")
	if !d1.ValidID(name) {
		WriteAPIError(w, apiErr(http.StatusNotFound, codeD1NotFound, "no such file"))
		return
	}
	f, err := os.Open(filepath.Join(filesDir(m), name))
	if err != nil {
		WriteAPIError(w, apiErr(http.StatusNotFound, codeD1NotFound, "no such file: %s", name))
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/sql")
	_, _ = io.Copy(w, f)
}

// upload stores an import file (streamed to disk) and answers its MD5 as
// the ETag.
func (h *d1API) upload(w http.ResponseWriter, r *http.Request) {
	m, _, err := h.db(r)
	if err != nil {
		WriteAPIError(w, err)
		return
	}
	name := r.PathValue("file")
	if !d1.ValidID(name) {
		WriteAPIError(w, apiErr(http.StatusBadRequest, codeD1Input, "invalid file name"))
		return
	}
	tooLarge := apiErr(http.StatusRequestEntityTooLarge, codeD1Input, "the import file is larger than the limit of %d bytes", h.maxUpload)
	if r.ContentLength > h.maxUpload {
		WriteAPIError(w, tooLarge)
		return
	}
	dir := filesDir(m)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		WriteAPIError(w, err)
		return
	}
	removeOldFiles(dir)
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		WriteAPIError(w, err)
		return
	}
	sum := md5.New()
	_, err = io.Copy(io.MultiWriter(f, sum), http.MaxBytesReader(w, r.Body, h.maxUpload))
	if err = errors.Join(err, f.Close()); err != nil {
		os.Remove(f.Name())
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			err = tooLarge
		}
		WriteAPIError(w, err)
		return
	}
	w.Header().Set("ETag", `"`+hex.EncodeToString(sum.Sum(nil))+`"`)
	w.WriteHeader(http.StatusOK)
}

// importAction runs the import protocol: init gives a signed upload URL,
// ingest applies the uploaded file (all or nothing) and answers as poll
// does, poll reports the outcome of the last ingest, as wrangler expects:
// {success, type, status: "complete"|"error", at_bookmark, messages,
// errors, error, result: {final_bookmark, num_queries, meta}}; a failed
// import has success false.
func (h *d1API) importAction(r *http.Request) (any, error) {
	var body struct {
		Action   string `json:"action"`
		Etag     string `json:"etag"`
		Filename string `json:"filename"`
	}
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	m, db, err := h.db(r)
	if err != nil {
		return nil, err
	}
	info, err := db.Info()
	if err != nil {
		return nil, dbError(err)
	}
	switch body.Action {
	case "init":
		name := randomName(".sql")
		return map[string]any{"success": true, "filename": name, "upload_url": h.fileURL(r, http.MethodPut, name), "at_bookmark": db.Bookmark()}, nil
	case "ingest":
		if !d1.ValidID(body.Filename) {
			return nil, apiErr(http.StatusBadRequest, codeD1Input, "ingest needs the filename init returned")
		}
		path := filepath.Join(filesDir(m), body.Filename)
		f, err := os.Open(path)
		if err != nil {
			return nil, apiErr(http.StatusBadRequest, codeD1Input, "no uploaded file %s: PUT it to the upload_url first", body.Filename)
		}
		if body.Etag != "" {
			sum := md5.New()
			_, err := io.Copy(sum, f)
			if err != nil || hex.EncodeToString(sum.Sum(nil)) != strings.Trim(body.Etag, `"`) {
				f.Close()
				return nil, apiErr(http.StatusBadRequest, codeD1Input, "the uploaded file's MD5 does not match etag %s", body.Etag)
			}
			_, _ = f.Seek(0, io.SeekStart)
		}
		at := db.Bookmark()
		start := time.Now()
		sizeBefore := db.Size()
		st, ierr := db.Import(r.Context(), f, nil)
		f.Close()
		os.Remove(path)
		answer := map[string]any{"success": true, "type": "import", "at_bookmark": at, "filename": body.Filename, "errors": []string{}}
		if ierr != nil {
			// success false: wrangler shows error, and so does cairn d1 import --remote.
			answer["success"] = false
			answer["status"] = "error"
			answer["error"] = ierr.Error()
			answer["errors"] = []string{ierr.Error()}
			answer["messages"] = []string{"Import failed; the database is as before"}
		} else {
			answer["status"] = "complete"
			answer["at_bookmark"] = st.Bookmark
			answer["messages"] = []string{fmt.Sprintf("Imported %d statements", st.Statements)}
			answer["result"] = map[string]any{
				"final_bookmark": st.Bookmark, "num_queries": st.Statements,
				"meta": map[string]any{
					"served_by": "cairn", "duration": float64(time.Since(start).Microseconds()) / 1000,
					"changes": st.Changes, "last_row_id": 0, "changed_db": st.Changes > 0 || db.Size() != sizeBefore,
					"size_after": db.Size(), "rows_read": 0, "rows_written": st.Changes,
				},
			}
		}
		h.mu.Lock()
		h.imports[info.UUID] = answer
		h.mu.Unlock()
		return answer, nil
	case "poll":
		h.mu.Lock()
		answer := h.imports[info.UUID]
		delete(h.imports, info.UUID)
		h.mu.Unlock()
		if answer == nil {
			return map[string]any{"success": false, "error": "Not currently importing anything."}, nil
		}
		return answer, nil
	}
	return nil, apiErr(http.StatusBadRequest, codeD1Input, "action must be init, ingest or poll")
}
