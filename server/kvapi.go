package server

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/cairn-dev/cairn/kv"
)

// Workers KV in the admin API, shaped like Cloudflare's v4 routes under
// /accounts/{account}/storage/kv/namespaces (the account is not checked:
// one cairn serves one account). Namespaces are those the served project
// binds. Error codes are Cloudflare's KV API codes:
const (
	kvCodeKeyNotFound       = 10009 // "get: 'key not found'"
	kvCodeMalformedValue    = 10012 // bad input other than the two below
	kvCodeNamespaceNotFound = 10013
	kvCodePayloadTooLarge   = 10024 // a value, metadata or bulk request over its limit
	kvCodeTitleExists       = 10014
	kvCodeInvalidLimit      = 10028
)

// maxBulkBody bounds a bulk request body (Cloudflare: under 100 MB).
const maxBulkBody = 100 << 20

// registerKV adds the KV routes to api.
func (s *Server) registerKV(api *API) {
	const base = "/accounts/{account}/storage/kv/namespaces"
	api.handleRaw("GET "+base, func(w http.ResponseWriter, r *http.Request) {
		list, err := s.kvNamespaces()
		if err != nil {
			WriteAPIError(w, err)
			return
		}
		q := r.URL.Query()
		desc := q.Get("direction") == "desc"
		slices.SortStableFunc(list, func(a, b kvNamespaceResult) int {
			c := strings.Compare(a.ID, b.ID)
			if q.Get("order") == "title" {
				c = cmp.Or(strings.Compare(a.Title, b.Title), c)
			}
			if desc {
				return -c
			}
			return c
		})
		page, info, err := paginate(list, q, 20, 1000)
		if err != nil {
			WriteAPIError(w, err)
			return
		}
		writePage(w, page, info)
	})
	api.Handle("POST "+base, func(r *http.Request) (any, error) {
		var body struct {
			Title string `json:"title"`
		}
		if err := decodeJSONBody(r, &body); err != nil {
			return nil, err
		}
		if strings.TrimSpace(body.Title) == "" {
			return nil, &APIError{Status: http.StatusBadRequest, Code: kvCodeMalformedValue, Message: "a namespace needs a title"}
		}
		app := s.Current()
		if app == nil {
			return nil, errNoApp
		}
		if taken, err := s.kvTitleTaken("", body.Title); err != nil || taken {
			return nil, cmp.Or(err, error(errKVTitleExists))
		}
		ns, err := app.KVAll.Create(body.Title)
		if errors.Is(err, kv.ErrTitleExists) {
			return nil, errKVTitleExists
		}
		if err != nil {
			return nil, err
		}
		return kvNamespaceResult{ID: ns.ID, Title: ns.Title, SupportsURLEncoding: true}, nil
	})
	api.Handle("GET "+base+"/{id}", func(r *http.Request) (any, error) {
		return s.kvNamespace(r.PathValue("id"))
	})
	api.Handle("PUT "+base+"/{id}", func(r *http.Request) (any, error) {
		var body struct {
			Title string `json:"title"`
		}
		if err := decodeJSONBody(r, &body); err != nil {
			return nil, err
		}
		if strings.TrimSpace(body.Title) == "" {
			return nil, &APIError{Status: http.StatusBadRequest, Code: kvCodeMalformedValue, Message: "a namespace needs a title"}
		}
		id := r.PathValue("id")
		if _, err := s.kvNamespace(id); err != nil {
			return nil, err
		}
		if taken, err := s.kvTitleTaken(id, body.Title); err != nil || taken {
			return nil, cmp.Or(err, error(errKVTitleExists))
		}
		app := s.Current()
		if app == nil {
			return nil, errNoApp
		}
		if err := app.KVAll.Rename(id, body.Title); err != nil {
			if errors.Is(err, kv.ErrTitleExists) {
				return nil, errKVTitleExists
			}
			return nil, err
		}
		return s.kvNamespace(id)
	})
	api.Handle("DELETE "+base+"/{id}", func(r *http.Request) (any, error) {
		id := r.PathValue("id")
		if _, err := s.kvNamespace(id); err != nil {
			return nil, err
		}
		app := s.Current()
		if app == nil {
			return nil, errNoApp
		}
		for _, b := range app.Config.KVNamespaces {
			if KVNamespaceID(b) == id {
				return nil, &APIError{Status: http.StatusBadRequest, Code: kvCodeMalformedValue,
					Message: fmt.Sprintf("namespace %s is bound as %s in the Worker's config; remove the binding before deleting it", id, b.Binding)}
			}
		}
		if err := app.KVAll.Delete(id); err != nil {
			return nil, kvCatalogError(err)
		}
		return struct{}{}, nil
	})
	api.handleRaw("GET "+base+"/{id}/values/{key...}", func(w http.ResponseWriter, r *http.Request) {
		var e kv.Entry
		err := s.withKV(r, func(ns *kv.Namespace, _ string) error {
			var ok bool
			var err error
			if e, ok, err = ns.Get(r.Context(), r.PathValue("key")); err == nil && !ok {
				err = &APIError{Status: http.StatusNotFound, Code: kvCodeKeyNotFound, Message: "get: 'key not found'"}
			}
			return err
		})
		if err != nil {
			WriteAPIError(w, kvAPIError(err))
			return
		}
		// As Cloudflare: the raw value, not an envelope.
		w.Header().Set("Content-Type", "application/octet-stream")
		if e.Expiration != 0 {
			w.Header().Set("Expiration", strconv.FormatInt(e.Expiration, 10))
		}
		_, _ = w.Write(e.Value)
	})
	api.Handle("GET "+base+"/{id}/metadata/{key...}", func(r *http.Request) (any, error) {
		var meta json.RawMessage
		err := s.withKV(r, func(ns *kv.Namespace, _ string) error {
			e, ok, err := ns.Get(r.Context(), r.PathValue("key"))
			if err == nil && !ok {
				err = &APIError{Status: http.StatusNotFound, Code: kvCodeKeyNotFound, Message: "get: 'key not found'"}
			}
			meta = e.Metadata
			return err
		})
		if err != nil {
			return nil, kvAPIError(err)
		}
		if meta == nil {
			return nil, nil
		}
		return meta, nil
	})
	api.Handle("PUT "+base+"/{id}/values/{key...}", func(r *http.Request) (any, error) {
		value, opts, err := readKVPut(r)
		if err != nil {
			return nil, kvAPIError(err)
		}
		err = s.withKV(r, func(ns *kv.Namespace, _ string) error {
			return ns.Put(r.Context(), r.PathValue("key"), value, opts)
		})
		return struct{}{}, kvAPIError(err)
	})
	api.Handle("DELETE "+base+"/{id}/values/{key...}", func(r *http.Request) (any, error) {
		err := s.withKV(r, func(ns *kv.Namespace, _ string) error {
			return ns.Delete(r.Context(), r.PathValue("key"))
		})
		return struct{}{}, kvAPIError(err)
	})
	api.handleRaw("GET "+base+"/{id}/keys", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		opts := kv.ListOptions{Prefix: q.Get("prefix"), Cursor: q.Get("cursor")}
		if l := q.Get("limit"); l != "" {
			n, err := strconv.Atoi(l)
			if err != nil || n < 1 {
				WriteAPIError(w, &APIError{Status: http.StatusBadRequest, Code: kvCodeInvalidLimit, Message: "Invalid key_count_limit of " + l + ". Please specify an integer greater than 0."})
				return
			}
			opts.Limit = n
		}
		var res kv.ListResult
		err := s.withKV(r, func(ns *kv.Namespace, _ string) error {
			var err error
			res, err = ns.List(r.Context(), opts)
			return err
		})
		if err != nil {
			WriteAPIError(w, kvAPIError(err))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(struct {
			envelope
			ResultInfo kvListInfo `json:"result_info"`
		}{
			envelope:   envelope{Success: true, Errors: []APIError{}, Messages: []APIError{}, Result: res.Keys},
			ResultInfo: kvListInfo{Count: len(res.Keys), Cursor: res.Cursor},
		})
	})
	api.Handle("PUT "+base+"/{id}/bulk", func(r *http.Request) (any, error) {
		var items []kvBulkItem
		if err := decodeJSONBody(r, &items); err != nil {
			return nil, err
		}
		writes := make([]kv.Write, len(items))
		for i, it := range items {
			w, err := it.write()
			if err != nil {
				return nil, err
			}
			writes[i] = w
		}
		err := s.withKV(r, func(ns *kv.Namespace, _ string) error { return ns.PutMany(r.Context(), writes) })
		if err != nil {
			return nil, kvAPIError(err)
		}
		return kvBulkResult{SuccessfulKeyCount: len(writes), UnsuccessfulKeys: []string{}}, nil
	})
	bulkDelete := func(r *http.Request) (any, error) {
		var keys []string
		if err := decodeJSONBody(r, &keys); err != nil {
			return nil, err
		}
		err := s.withKV(r, func(ns *kv.Namespace, _ string) error { return ns.DeleteMany(r.Context(), keys) })
		if err != nil {
			return nil, kvAPIError(err)
		}
		return kvBulkResult{SuccessfulKeyCount: len(keys), UnsuccessfulKeys: []string{}}, nil
	}
	api.Handle("POST "+base+"/{id}/bulk/delete", bulkDelete)
	api.Handle("DELETE "+base+"/{id}/bulk", bulkDelete) // the older form of the same call
	api.Handle("POST "+base+"/{id}/bulk/get", func(r *http.Request) (any, error) {
		var req struct {
			Keys         []string `json:"keys"`
			Type         string   `json:"type"`
			WithMetadata bool     `json:"withMetadata"`
		}
		if err := decodeJSONBody(r, &req); err != nil {
			return nil, err
		}
		if req.Type != "" && req.Type != "text" && req.Type != "json" {
			return nil, &APIError{Status: http.StatusBadRequest, Code: kvCodeMalformedValue, Message: fmt.Sprintf("%q is not a valid type. Use \"json\" or \"text\"", req.Type)}
		}
		values := map[string]any{}
		err := s.withKV(r, func(ns *kv.Namespace, _ string) error {
			es, found, err := ns.GetMany(r.Context(), req.Keys)
			if err != nil {
				return err
			}
			for i, e := range es {
				if !found[i] {
					values[req.Keys[i]] = nil
					continue
				}
				var v any = string(e.Value)
				if req.Type == "json" {
					if !json.Valid(e.Value) {
						return &APIError{Status: http.StatusBadRequest, Code: kvCodeMalformedValue, Message: "At least one of the requested keys corresponds to a non-json value"}
					}
					v = json.RawMessage(e.Value)
				}
				if req.WithMetadata {
					var meta any
					if e.Metadata != nil {
						meta = e.Metadata
					}
					v = map[string]any{"value": v, "metadata": meta}
				}
				values[req.Keys[i]] = v
			}
			return nil
		})
		if err != nil {
			return nil, kvAPIError(err)
		}
		return map[string]any{"values": values}, nil
	})
}

var errNoApp = &APIError{Status: http.StatusServiceUnavailable, Code: 7500, Message: "no Worker loaded"}

type kvNamespaceResult struct {
	ID                  string `json:"id"`
	Title               string `json:"title"`
	SupportsURLEncoding bool   `json:"supports_url_encoding"`
}

type kvListInfo struct {
	Count  int    `json:"count"`
	Cursor string `json:"cursor"`
}

type kvBulkResult struct {
	SuccessfulKeyCount int      `json:"successful_key_count"`
	UnsuccessfulKeys   []string `json:"unsuccessful_keys"`
}

// kvBulkItem is one pair of a bulk write.
type kvBulkItem struct {
	Key           string          `json:"key"`
	Value         *string         `json:"value"`
	Base64        bool            `json:"base64"`
	Expiration    *int64          `json:"expiration"`
	ExpirationTTL *int64          `json:"expiration_ttl"`
	Metadata      json.RawMessage `json:"metadata"`
}

func (it kvBulkItem) write() (kv.Write, error) {
	if it.Value == nil {
		return kv.Write{}, &APIError{Status: http.StatusBadRequest, Code: kvCodeMalformedValue, Message: fmt.Sprintf("bulk write: key %q has no value", it.Key)}
	}
	value := []byte(*it.Value)
	if it.Base64 {
		b, err := base64.StdEncoding.DecodeString(*it.Value)
		if err != nil {
			return kv.Write{}, &APIError{Status: http.StatusBadRequest, Code: kvCodeMalformedValue, Message: fmt.Sprintf("bulk write: the value of key %q is not valid base64", it.Key)}
		}
		value = b
	}
	return kv.Write{Key: it.Key, Value: value, PutOptions: kv.PutOptions{Expiration: it.Expiration, ExpirationTTL: it.ExpirationTTL, Metadata: it.Metadata}}, nil
}

// handleRaw registers h for pattern (relative to /client/v4) without the
// envelope, for answers Cloudflare gives in another shape.
func (a *API) handleRaw(pattern string, h http.HandlerFunc) {
	method, path, _ := strings.Cut(pattern, " ")
	a.routes = append(a.routes, method+" /client/v4"+path)
	a.mux.HandleFunc(method+" /client/v4"+path, h)
}

// withKV runs fn on namespace {id} of the App being served, holding off
// the App's Close (a reload) until fn returns. title is the namespace's
// title (<worker>-<binding>).
func (s *Server) withKV(r *http.Request, fn func(ns *kv.Namespace, title string) error) error {
	id := r.PathValue("id")
	for {
		app := s.Current()
		if app == nil {
			return errNoApp
		}
		app.mu.RLock()
		if app.closed {
			app.mu.RUnlock()
			continue // a reload swapped in the next App
		}
		defer app.mu.RUnlock()
		for _, b := range app.Config.KVNamespaces {
			if KVNamespaceID(b) == id {
				if ns := app.KV[b.Binding]; ns != nil {
					return fn(ns, app.Config.Name+"-"+b.Binding)
				}
			}
		}
		// A namespace not bound (made through the API): opened for this
		// request.
		err := app.KVAll.Use(id, func(info kv.NamespaceInfo, path string) error {
			ns, err := kv.Open(path, kv.Options{SweepInterval: -1})
			if err != nil {
				return err
			}
			return errors.Join(fn(ns, cmp.Or(info.Title, id)), ns.Close())
		})
		return kvCatalogError(err)
	}
}

var errKVTitleExists = &APIError{Status: http.StatusBadRequest, Code: kvCodeTitleExists, Message: "a namespace with this account ID and title already exists"}

// kvCatalogError answers the errors of kv.Catalog.
func kvCatalogError(err error) error {
	switch {
	case errors.Is(err, kv.ErrNotFound), errors.Is(err, kv.ErrNamespaceID):
		return &APIError{Status: http.StatusNotFound, Code: kvCodeNamespaceNotFound, Message: "namespace not found"}
	case errors.Is(err, kv.ErrTitleExists):
		return errKVTitleExists
	}
	return err
}

// kvNamespaces returns every namespace of the App being served: those its
// config binds (titled <worker>-<binding> unless renamed) and those made
// through the API.
func (s *Server) kvNamespaces() ([]kvNamespaceResult, error) {
	app := s.Current()
	if app == nil {
		return nil, errNoApp
	}
	stored, err := app.KVAll.List()
	if err != nil {
		return nil, err
	}
	titles := map[string]string{}
	for _, ns := range stored {
		titles[ns.ID] = ns.Title
	}
	for _, b := range app.Config.KVNamespaces {
		if id := KVNamespaceID(b); titles[id] == "" {
			titles[id] = app.Config.Name + "-" + b.Binding
		}
	}
	out := make([]kvNamespaceResult, 0, len(titles))
	for id, title := range titles {
		out = append(out, kvNamespaceResult{ID: id, Title: cmp.Or(title, id), SupportsURLEncoding: true})
	}
	slices.SortFunc(out, func(a, b kvNamespaceResult) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// kvNamespace returns namespace id of the App being served.
func (s *Server) kvNamespace(id string) (kvNamespaceResult, error) {
	list, err := s.kvNamespaces()
	if err != nil {
		return kvNamespaceResult{}, err
	}
	for _, ns := range list {
		if ns.ID == id {
			return ns, nil
		}
	}
	return kvNamespaceResult{}, &APIError{Status: http.StatusNotFound, Code: kvCodeNamespaceNotFound, Message: "namespace not found"}
}

// kvTitleTaken reports whether a namespace other than id has title.
func (s *Server) kvTitleTaken(id, title string) (bool, error) {
	list, err := s.kvNamespaces()
	if err != nil {
		return false, err
	}
	for _, ns := range list {
		if ns.ID != id && ns.Title == title {
			return true, nil
		}
	}
	return false, nil
}

// kvAPIError gives a *kv.Error its status and a KV API code.
func kvAPIError(err error) error {
	var ke *kv.Error
	if err == nil || !errors.As(err, &ke) {
		return err
	}
	code := kvCodeMalformedValue
	switch {
	case ke.Status == http.StatusRequestEntityTooLarge:
		code = kvCodePayloadTooLarge
	case strings.HasPrefix(ke.Message, "Invalid key_count_limit"):
		code = kvCodeInvalidLimit
	}
	return &APIError{Status: ke.Status, Code: code, Message: ke.Message}
}

// readKVPut reads a value write: the raw body, or a multipart form with
// "value" and "metadata" fields, and the expiration / expiration_ttl
// query parameters.
func readKVPut(r *http.Request) ([]byte, kv.PutOptions, error) {
	var opts kv.PutOptions
	q := r.URL.Query()
	for _, p := range []struct {
		name string
		dst  **int64
	}{{"expiration", &opts.Expiration}, {"expiration_ttl", &opts.ExpirationTTL}} {
		if s := q.Get(p.name); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return nil, opts, &APIError{Status: http.StatusBadRequest, Code: kvCodeMalformedValue, Message: fmt.Sprintf("Invalid %s of %s. Please specify integer greater than 0.", p.name, s)}
			}
			*p.dst = &n
		}
	}
	r.Body = http.MaxBytesReader(nil, r.Body, kv.MaxValueSize+kv.MaxMetadataSize+64<<10)
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		if err := r.ParseMultipartForm(32 << 20); err != nil {
			return nil, opts, tooLargeOr(err, "malformed multipart body")
		}
		var value []byte
		if f, _, err := r.FormFile("value"); err == nil {
			defer f.Close()
			if value, err = io.ReadAll(f); err != nil {
				return nil, opts, fmt.Errorf("read value: %w", err)
			}
		} else if vs, ok := r.MultipartForm.Value["value"]; ok && len(vs) > 0 {
			value = []byte(vs[0])
		} else {
			return nil, opts, &APIError{Status: http.StatusBadRequest, Code: kvCodeMalformedValue, Message: "the multipart body has no \"value\" field"}
		}
		if m := r.MultipartForm.Value["metadata"]; len(m) > 0 {
			opts.Metadata = json.RawMessage(m[0])
		}
		return value, opts, nil
	}
	value, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, opts, tooLargeOr(err, "read body")
	}
	return value, opts, nil
}

func tooLargeOr(err error, what string) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &APIError{Status: http.StatusRequestEntityTooLarge, Code: kvCodePayloadTooLarge, Message: fmt.Sprintf("Value length exceeds limit of %d.", kv.MaxValueSize)}
	}
	return &APIError{Status: http.StatusBadRequest, Code: kvCodeMalformedValue, Message: what + ": " + err.Error()}
}

// decodeJSONBody decodes a bulk request's JSON body (declared as
// application/json) into v.
func decodeJSONBody(r *http.Request, v any) error {
	if err := requireJSON(r); err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBulkBody))
	if err != nil {
		return tooLargeOr(err, "read body")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return &APIError{Status: http.StatusBadRequest, Code: kvCodeMalformedValue, Message: "malformed JSON body: " + err.Error()}
	}
	return nil
}

// pageInfo is the result_info of a page-based list in Cloudflare's v4 API.
type pageInfo struct {
	Page       int `json:"page"`
	PerPage    int `json:"per_page"`
	Count      int `json:"count"`
	TotalCount int `json:"total_count"`
	TotalPages int `json:"total_pages"`
}

// paginate cuts page ?page= (from 1) of ?per_page= items (default defPer,
// at most maxPer) out of list. A page past the end is empty, so clients
// that read pages until one is empty or short (the cloudflare SDK,
// wrangler) stop.
func paginate[T any](list []T, q url.Values, defPer, maxPer int) ([]T, pageInfo, error) {
	info := pageInfo{Page: 1, PerPage: defPer, TotalCount: len(list)}
	for _, p := range []struct {
		name string
		dst  *int
	}{{"page", &info.Page}, {"per_page", &info.PerPage}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return nil, info, &APIError{Status: http.StatusBadRequest, Code: 7400, Message: fmt.Sprintf("%s must be a positive integer, not %q", p.name, v)}
			}
			*p.dst = n
		}
	}
	info.PerPage = min(info.PerPage, maxPer)
	info.TotalPages = (len(list) + info.PerPage - 1) / info.PerPage
	start := min((info.Page-1)*info.PerPage, len(list))
	page := list[start:min(start+info.PerPage, len(list))]
	info.Count = len(page)
	return page, info, nil
}

// writePage answers a page of a list in the v4 envelope with its
// result_info.
func writePage(w http.ResponseWriter, items any, info pageInfo) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(struct {
		envelope
		ResultInfo pageInfo `json:"result_info"`
	}{envelope{Success: true, Errors: []APIError{}, Messages: []APIError{}, Result: items}, info})
}
