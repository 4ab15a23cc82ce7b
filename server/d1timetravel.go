package server

import (
	"net/http"
	"strconv"
	"time"
)

// D1 Time Travel REST API (spec 3.6, 70), the paths and shapes wrangler d1
// time-travel --remote uses:
//
//	GET  /accounts/{account}/d1/database/{id}/time_travel/bookmark?timestamp=T
//	     → {"bookmark"}: the state current at T (RFC 3339 or Unix seconds or
//	       milliseconds); without T, the current bookmark
//	POST /accounts/{account}/d1/database/{id}/time_travel/restore?bookmark=B|timestamp=T
//	     → {"bookmark","previous_bookmark","message"}: previous_bookmark
//	       undoes the restore

func (h *d1API) registerTimeTravel(api *API, base string) {
	api.Handle("GET "+base+"/{id}/time_travel/bookmark", h.timeTravelBookmark)
	api.Handle("POST "+base+"/{id}/time_travel/restore", h.timeTravelRestore)
}

// ParseTimestamp reads a Time Travel timestamp: RFC 3339, or Unix seconds
// (10 digits or fewer) or milliseconds.
func ParseTimestamp(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, apiErr(http.StatusBadRequest, codeD1Input, "invalid timestamp %q: use RFC 3339 (2024-07-13T08:46:42.228Z) or Unix seconds", s)
	}
	if len(s) <= 10 {
		return time.Unix(n, 0), nil
	}
	return time.UnixMilli(n), nil
}

func (h *d1API) timeTravelBookmark(r *http.Request) (any, error) {
	_, db, err := h.db(r)
	if err != nil {
		return nil, err
	}
	var t time.Time
	if s := r.URL.Query().Get("timestamp"); s != "" {
		if t, err = ParseTimestamp(s); err != nil {
			return nil, err
		}
	}
	b, err := db.BookmarkAt(t)
	if err != nil {
		return nil, dbError(err)
	}
	return map[string]string{"bookmark": b}, nil
}

func (h *d1API) timeTravelRestore(r *http.Request) (any, error) {
	_, db, err := h.db(r)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	target := q.Get("bookmark")
	switch ts := q.Get("timestamp"); {
	case target != "" && ts != "":
		return nil, apiErr(http.StatusBadRequest, codeD1Input, "give either bookmark or timestamp, not both")
	case ts != "":
		t, err := ParseTimestamp(ts)
		if err != nil {
			return nil, err
		}
		if target, err = db.BookmarkAt(t); err != nil {
			return nil, dbError(err)
		}
	case target == "":
		return nil, apiErr(http.StatusBadRequest, codeD1Input, "missing bookmark or timestamp")
	}
	b, prev, err := db.Restore(r.Context(), target)
	if err != nil {
		return nil, dbError(err)
	}
	return map[string]string{
		"bookmark":          b,
		"previous_bookmark": prev,
		"message":           "Database restored to bookmark " + target + "; restore to previous_bookmark to undo",
	}, nil
}
