package server

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cairn-dev/cairn/d1"
	"github.com/cairn-dev/cairn/objects"
	"github.com/cairn-dev/cairn/storage"
)

// The data studio's part of the admin API (/client/v4/cairn/studio/…):
// what the studio page (package studio) needs beyond the D1 and KV REST
// APIs: a Worker's classes, databases and namespaces; a class's objects
// with their alarms and WebSockets, paged and searchable; an object's or a
// D1 database's tables, their rows by page, and SQL with a result grid.
//
// Object storage is only touched through objects.Host.Inspect, on the
// object's thread, so the one-writer rule holds. No answer holds a whole
// table: rows come by pages and SQL results are capped (see Truncated).

// Studio limits.
const (
	studioMaxRows      = 1000  // default cap of a SQL result
	studioMaxRowsLimit = 10000 // the most max_rows may ask for
	studioPageRows     = 100   // default rows of a table page
	studioPageRowsMax  = 1000  // the most limit may ask for
	studioObjectsPage  = 50    // default objects per page
)

// registerStudio adds the studio's routes to api.
func (s *Server) registerStudio(api *API) {
	const base = "/cairn/studio"
	api.Handle("GET "+base+"/worker", s.studioWorker)
	api.Handle("GET "+base+"/objects/{class}", s.studioObjects)
	api.Handle("GET "+base+"/objects/{class}/{id}", s.studioObject)
	api.Handle("GET "+base+"/objects/{class}/{id}/tables/{table}", s.studioObjectRows)
	api.Handle("POST "+base+"/objects/{class}/{id}/query", s.studioObjectQuery)
	api.Handle("GET "+base+"/d1/{db}/tables", s.studioD1Tables)
	api.Handle("GET "+base+"/d1/{db}/tables/{table}", s.studioD1Rows)
	api.Handle("POST "+base+"/d1/{db}/query", s.studioD1Query)
}

// withApp runs fn on the App being served, holding off its Close (a
// reload) until fn returns.
func (s *Server) withApp(fn func(app *App) (any, error)) (any, error) {
	for {
		app := s.Current()
		if app == nil {
			return nil, errNoApp
		}
		app.mu.RLock()
		if app.closed {
			app.mu.RUnlock()
			continue // a reload swapped in the next App
		}
		defer app.mu.RUnlock()
		return fn(app)
	}
}

type studioClass struct {
	Name     string   `json:"name"`
	Bindings []string `json:"bindings"`
}

type studioD1 struct {
	UUID     string `json:"uuid"`
	Name     string `json:"name"`
	Binding  string `json:"binding,omitempty"`
	FileSize int64  `json:"file_size"`
}

// studioWorker describes the Worker: its Durable Object classes (with the
// bindings naming them), D1 databases and KV namespaces.
func (s *Server) studioWorker(r *http.Request) (any, error) {
	return s.withApp(func(app *App) (any, error) {
		byClass := map[string]*studioClass{}
		for _, name := range app.Host.Classes() {
			byClass[name] = &studioClass{Name: name, Bindings: []string{}}
		}
		for _, b := range app.Config.DurableObjects {
			if c := byClass[b.ClassName]; c != nil {
				c.Bindings = append(c.Bindings, b.Name)
			}
		}
		classes := make([]studioClass, 0, len(byClass))
		for _, c := range byClass {
			classes = append(classes, *c)
		}
		slices.SortFunc(classes, func(a, b studioClass) int { return strings.Compare(a.Name, b.Name) })
		infos, err := app.D1.List()
		if err != nil {
			return nil, err
		}
		bound := map[string]string{}
		for _, b := range app.Config.D1Databases {
			bound[b.DatabaseID] = b.Binding
			bound[b.DatabaseName] = cmp.Or(bound[b.DatabaseName], b.Binding)
		}
		dbs := make([]studioD1, 0, len(infos))
		for _, in := range infos {
			dbs = append(dbs, studioD1{UUID: in.UUID, Name: in.Name, Binding: cmp.Or(bound[in.UUID], bound[in.Name]), FileSize: in.FileSize})
		}
		kvs, err := s.kvNamespaces()
		if err != nil {
			return nil, err
		}
		return map[string]any{"name": app.Config.Name, "classes": classes, "d1": dbs, "kv": kvs}, nil
	})
}

// studioObjectInfo is one object in a class's list.
type studioObjectInfo struct {
	ID       string    `json:"id"`
	Name     string    `json:"name,omitempty"`
	Size     int64     `json:"size"`
	Modified time.Time `json:"modified,omitzero"` // the last write to its files
	Live     bool      `json:"live"`              // in memory now
	// Hibernated: not in memory, but holding hibernatable WebSockets.
	Hibernated bool       `json:"hibernated"`
	Alarm      *time.Time `json:"alarm,omitempty"` // pending alarm, per the Host's index
	WebSockets int        `json:"websockets"`      // open WebSockets it accepted
}

// studioClassOf resolves {class}, a class name or a binding, to a class
// the Worker serves.
func studioClassOf(app *App, r *http.Request) (string, *objects.Namespace, error) {
	class := app.Config.ClassOf(r.PathValue("class"))
	// Only a class the Worker serves: the catalog would add any other
	// name it is asked about.
	known := app.Host.Classes()
	if !slices.Contains(known, class) {
		slices.Sort(known)
		return "", nil, &APIError{Status: http.StatusNotFound, Code: 10066,
			Message: "no Durable Object class or binding " + strconv.Quote(r.PathValue("class")) + " (classes: " + strings.Join(known, ", ") + ")"}
	}
	ns, err := app.Host.Namespace(class)
	if err != nil {
		return "", nil, err
	}
	return class, ns, nil
}

// studioObjects lists a class's objects by page (?page=, ?per_page=),
// filtered by ?search=: an object's exact name (its id is derived from
// it), a prefix of its id, or part of a name the server knows (objects
// live or with an alarm; names are not stored otherwise).
func (s *Server) studioObjects(r *http.Request) (any, error) {
	return s.withApp(func(app *App) (any, error) {
		class, ns, err := studioClassOf(app, r)
		if err != nil {
			return nil, err
		}
		list, err := app.Host.Objects(class)
		if err != nil {
			return nil, err
		}
		alarms := app.Host.PendingAlarms(class)
		out := make([]studioObjectInfo, 0, len(list))
		for _, o := range list {
			id, err := ns.ParseID(o.ID)
			if err != nil {
				continue
			}
			info := studioObjectInfo{ID: o.ID, Name: o.Name, Size: o.Size, Modified: o.Modified, Live: o.Live}
			if a, ok := alarms[id]; ok {
				at := a.At.UTC()
				info.Alarm = &at
				info.Name = cmp.Or(info.Name, a.Name)
			}
			hib, acc := app.Worker.Sockets().Counts(class, id)
			info.WebSockets = hib + acc
			info.Hibernated = !o.Live && hib > 0
			out = append(out, info)
		}
		if q := strings.TrimSpace(r.URL.Query().Get("search")); q != "" {
			named := ns.IDFromName(q).String()
			lq := strings.ToLower(q)
			out = slices.DeleteFunc(out, func(o studioObjectInfo) bool {
				if o.ID == named {
					return false
				}
				return !strings.HasPrefix(o.ID, lq) && !strings.Contains(strings.ToLower(o.Name), lq)
			})
			for i := range out {
				if out[i].ID == named && out[i].Name == "" {
					out[i].Name = q
				}
			}
		}
		page, info, err := paginateStudio(r, out)
		if err != nil {
			return nil, err
		}
		return map[string]any{"objects": page, "result_info": info}, nil
	})
}

// paginateStudio cuts page ?page= (from 1) of ?per_page= (default 50, at
// most 1000) out of list.
func paginateStudio[T any](r *http.Request, list []T) ([]T, pageInfo, error) {
	q := r.URL.Query()
	page, per := 1, studioObjectsPage
	var err error
	if v := q.Get("page"); v != "" {
		if page, err = strconv.Atoi(v); err != nil || page < 1 {
			return nil, pageInfo{}, &APIError{Status: http.StatusBadRequest, Code: 10001, Message: "page must be a whole number from 1, got " + strconv.Quote(v)}
		}
	}
	if v := q.Get("per_page"); v != "" {
		if per, err = strconv.Atoi(v); err != nil || per < 1 || per > 1000 {
			return nil, pageInfo{}, &APIError{Status: http.StatusBadRequest, Code: 10001, Message: "per_page must be a whole number from 1 to 1000, got " + strconv.Quote(v)}
		}
	}
	start := min((page-1)*per, len(list))
	end := min(start+per, len(list))
	return list[start:end], pageInfo{Page: page, PerPage: per, Count: end - start, TotalCount: len(list), TotalPages: (len(list) + per - 1) / per}, nil
}

// studioObjectID resolves {class} and {id} (64 hex digits, or a name
// given as ?name=… instead of the id "-").
func studioObjectID(app *App, r *http.Request) (string, objects.ID, string, error) {
	class, ns, err := studioClassOf(app, r)
	if err != nil {
		return "", objects.ID{}, "", err
	}
	if r.PathValue("id") == "-" {
		name := r.URL.Query().Get("name")
		if name == "" {
			return "", objects.ID{}, "", &APIError{Status: http.StatusBadRequest, Code: 10001, Message: "the object id \"-\" needs ?name="}
		}
		return class, ns.IDFromName(name), name, nil
	}
	id, err := ns.ParseID(r.PathValue("id"))
	if err != nil {
		return "", objects.ID{}, "", &APIError{Status: http.StatusBadRequest, Code: 10001, Message: "invalid Durable Object id " + strconv.Quote(r.PathValue("id")) + " for class " + class + ": " + err.Error()}
	}
	return class, id, "", nil
}

// studioSocket is one WebSocket an object accepted with the Hibernation API.
type studioSocket struct {
	Tags []string `json:"tags"`
}

// studioObject describes one object: its tables, alarm and WebSockets.
func (s *Server) studioObject(r *http.Request) (any, error) {
	return s.withApp(func(app *App) (any, error) {
		class, id, name, err := studioObjectID(app, r)
		if err != nil {
			return nil, err
		}
		info, err := app.Host.Object(class, id)
		if err != nil {
			return nil, err
		}
		live, size, modified := info.Live, info.Size, info.Modified
		name = cmp.Or(name, info.Name)
		if a, ok := app.Host.PendingAlarms(class)[id]; ok {
			name = cmp.Or(name, a.Name)
		}
		var tables []storage.Table
		var alarm *time.Time
		err = app.Host.Inspect(r.Context(), class, id, false, func(db *storage.DB) error {
			var err error
			if tables, err = db.Tables(); err != nil {
				return err
			}
			if ms, ok, err := db.Alarm(); err != nil {
				return err
			} else if ok {
				at := time.UnixMilli(ms).UTC()
				alarm = &at
			}
			return nil
		})
		if err != nil {
			return nil, studioStorageError(err)
		}
		reg := app.Worker.Sockets()
		hib, acc := reg.Counts(class, id)
		sockets := []studioSocket{}
		if hib > 0 {
			for _, c := range reg.Object(class, id).Sockets() {
				tags := c.Tags()
				if tags == nil {
					tags = []string{}
				}
				sockets = append(sockets, studioSocket{Tags: tags})
			}
		}
		return map[string]any{
			"id": id.String(), "name": name, "class": class, "live": live, "hibernated": !live && hib > 0,
			"size": size, "modified": modified, "alarm": alarm, "tables": tables,
			"websockets": map[string]any{"hibernatable": hib, "accepted": acc, "sockets": sockets},
		}, nil
	})
}

// studioPage reads ?after= and ?limit= of a table page.
func studioPage(r *http.Request) (after int64, limit int, err error) {
	q := r.URL.Query()
	limit = studioPageRows
	if v := q.Get("after"); v != "" {
		if after, err = strconv.ParseInt(v, 10, 64); err != nil {
			return 0, 0, &APIError{Status: http.StatusBadRequest, Code: 10001, Message: "after must be an integer, got " + strconv.Quote(v)}
		}
	}
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > studioPageRowsMax {
			return 0, 0, &APIError{Status: http.StatusBadRequest, Code: 10001, Message: "limit must be a whole number from 1 to 1000, got " + strconv.Quote(v)}
		}
	}
	return after, limit, nil
}

// studioObjectRows returns a page of rows of one table of an object.
func (s *Server) studioObjectRows(r *http.Request) (any, error) {
	after, limit, err := studioPage(r)
	if err != nil {
		return nil, err
	}
	return s.withApp(func(app *App) (any, error) {
		class, id, _, err := studioObjectID(app, r)
		if err != nil {
			return nil, err
		}
		var res *storage.Result
		err = app.Host.Inspect(r.Context(), class, id, false, func(db *storage.DB) error {
			res, err = db.Rows(r.PathValue("table"), after, limit)
			return err
		})
		if err != nil {
			return nil, studioStorageError(err)
		}
		return studioGrid(res.Columns, res.Rows, res.Truncated, 0), nil
	})
}

// studioQuery is the body of a SQL call: the SQL, its parameters, whether
// it may write (default: read-only) and the row cap.
type studioQuery struct {
	SQL       string `json:"sql"`
	Params    []any  `json:"params"`
	ReadWrite bool   `json:"readWrite"`
	MaxRows   int    `json:"max_rows"`
}

func readStudioQuery(r *http.Request) (studioQuery, error) {
	var q studioQuery
	if err := decodeJSONBody(r, &q); err != nil {
		return q, err
	}
	if strings.TrimSpace(q.SQL) == "" {
		return q, &APIError{Status: http.StatusBadRequest, Code: 10001, Message: "sql is empty"}
	}
	if q.MaxRows == 0 {
		q.MaxRows = studioMaxRows
	}
	if q.MaxRows < 1 || q.MaxRows > studioMaxRowsLimit {
		return q, &APIError{Status: http.StatusBadRequest, Code: 10001, Message: "max_rows must be from 1 to 10000, got " + strconv.Itoa(q.MaxRows)}
	}
	for i, p := range q.Params {
		if f, ok := p.(float64); ok && f == float64(int64(f)) {
			q.Params[i] = int64(f) // JSON numbers that are integers bind as INTEGER
		}
	}
	return q, nil
}

// studioObjectQuery runs SQL on one object, on its thread: read-only
// unless the body says readWrite. Its writes, if any, are durable when it
// answers; a failed statement rolls all of them back.
func (s *Server) studioObjectQuery(r *http.Request) (any, error) {
	q, err := readStudioQuery(r)
	if err != nil {
		return nil, err
	}
	return s.withApp(func(app *App) (any, error) {
		class, id, _, err := studioObjectID(app, r)
		if err != nil {
			return nil, err
		}
		var res *storage.Result
		start := time.Now()
		err = app.Host.Inspect(r.Context(), class, id, q.ReadWrite, func(db *storage.DB) error {
			res, err = db.Inspect(q.SQL, q.Params, !q.ReadWrite, q.MaxRows)
			return err
		})
		if err != nil {
			return nil, studioStorageError(err)
		}
		g := studioGrid(res.Columns, res.Rows, res.Truncated, q.MaxRows)
		g.RowsWritten, g.Duration = res.RowsWritten, msSince(start)
		return g, nil
	})
}

// studioStorageError gives the status of an object inspection's error.
func studioStorageError(err error) error {
	var se *storage.Error
	switch {
	case errors.Is(err, storage.ErrReadOnly):
		return &APIError{Status: http.StatusForbidden, Code: 10403, Message: err.Error()}
	case errors.Is(err, storage.ErrNoTable):
		return &APIError{Status: http.StatusNotFound, Code: 10404, Message: err.Error()}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &APIError{Status: http.StatusServiceUnavailable, Code: 7500, Message: err.Error()}
	case errors.As(err, &se):
		return &APIError{Status: http.StatusBadRequest, Code: 10001, Message: err.Error()}
	}
	return err
}

// withD1 runs fn on database {db} (a binding, name or id) of the App.
func (s *Server) withD1(r *http.Request, fn func(db *d1.DB) (any, error)) (any, error) {
	return s.withApp(func(app *App) (any, error) {
		name := r.PathValue("db")
		for _, b := range app.Config.D1Databases {
			if b.Binding == name {
				name = cmp.Or(b.DatabaseID, b.DatabaseName, b.Binding)
			}
		}
		db, err := app.D1.Lookup(name)
		if err != nil {
			return nil, &APIError{Status: http.StatusNotFound, Code: 7404, Message: "D1 database " + strconv.Quote(r.PathValue("db")) + " not found: " + err.Error()}
		}
		return fn(db)
	})
}

func (s *Server) studioD1Tables(r *http.Request) (any, error) {
	return s.withD1(r, func(db *d1.DB) (any, error) {
		tables, err := db.Tables(r.Context())
		return tables, studioD1Error(err)
	})
}

func (s *Server) studioD1Rows(r *http.Request) (any, error) {
	after, limit, err := studioPage(r)
	if err != nil {
		return nil, err
	}
	return s.withD1(r, func(db *d1.DB) (any, error) {
		res, truncated, err := db.Rows(r.Context(), r.PathValue("table"), after, limit)
		if err != nil {
			return nil, studioD1Error(err)
		}
		return studioGrid(res.Columns, res.Rows, truncated, 0), nil
	})
}

// studioD1Query runs SQL on a D1 database: read-only unless readWrite.
func (s *Server) studioD1Query(r *http.Request) (any, error) {
	q, err := readStudioQuery(r)
	if err != nil {
		return nil, err
	}
	return s.withD1(r, func(db *d1.DB) (any, error) {
		res, truncated, err := db.Inspect(r.Context(), q.SQL, q.Params, !q.ReadWrite, q.MaxRows)
		if err != nil {
			return nil, studioD1Error(err)
		}
		g := studioGrid(res.Columns, res.Rows, truncated, q.MaxRows)
		g.RowsWritten, g.Duration = res.Meta.RowsWritten, res.Meta.Duration
		return g, nil
	})
}

func studioD1Error(err error) error {
	var de *d1.Error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, d1.ErrReadOnly):
		return &APIError{Status: http.StatusForbidden, Code: 10403, Message: err.Error()}
	case errors.Is(err, d1.ErrNoTable):
		return &APIError{Status: http.StatusNotFound, Code: 10404, Message: err.Error()}
	case errors.As(err, &de):
		return &APIError{Status: http.StatusBadRequest, Code: 7500, Message: err.Error()}
	}
	return err
}

// studioResult is a result grid: columns, rows (a BLOB as {"blob":
// base64}), whether rows were left out, and the notice saying so.
type studioResult struct {
	Columns     []string `json:"columns"`
	Rows        [][]any  `json:"rows"`
	Truncated   bool     `json:"truncated"`
	Notice      string   `json:"notice,omitempty"`
	RowsWritten int64    `json:"rowsWritten"`
	Duration    float64  `json:"duration_ms"`
}

func studioGrid(cols []string, rows [][]any, truncated bool, cap int) studioResult {
	for _, row := range rows {
		for i, v := range row {
			if b, ok := v.([]byte); ok {
				row[i] = map[string]string{"blob": base64.StdEncoding.EncodeToString(b)}
			}
		}
	}
	if cols == nil {
		cols = []string{}
	}
	if rows == nil {
		rows = [][]any{}
	}
	g := studioResult{Columns: cols, Rows: rows, Truncated: truncated}
	if truncated && cap > 0 {
		g.Notice = "showing the first " + strconv.Itoa(cap) + " rows; the rest were not read (add LIMIT/OFFSET or raise max_rows, at most 10000)"
	}
	return g
}

func msSince(t time.Time) float64 { return float64(time.Since(t).Microseconds()) / 1000 }
