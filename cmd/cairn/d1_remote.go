package main

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cairn-dev/cairn/config"
	"github.com/cairn-dev/cairn/d1"
	"github.com/cairn-dev/cairn/server"
)

// remoteD1 talks to the D1 REST API of a running cairn (cairn dev
// --api-port) for `cairn d1 … --remote URL`.
type remoteD1 struct {
	base    string // …/client/v4/accounts/{account}/d1/database
	token   string
	client  *http.Client
	cfg     *config.Config // nil without a config: names go to the API as they are
	workDir string
}

func (f *d1Flags) remoteClient() (*remoteD1, error) {
	u, err := url.Parse(f.remote)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--remote %q: want the admin API's URL, e.g. http://127.0.0.1:8788", f.remote)
	}
	token := f.apiToken
	if token == "" {
		token = os.Getenv("CAIRN_API_TOKEN")
	}
	r := &remoteD1{
		base:   strings.TrimSuffix(u.String(), "/") + "/client/v4/accounts/" + url.PathEscape(f.account) + "/d1/database",
		token:  token,
		client: &http.Client{Timeout: time.Hour},
	}
	r.workDir, _ = os.Getwd()
	if file, err := config.Find(f.config); err == nil {
		if r.cfg, err = config.Load(file, func(string) {}); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// resolve maps a command-line name to the API's database id and the
// migrations directory.
func (r *remoteD1) resolve(name string) (id, migrations string) {
	if r.cfg != nil {
		for _, b := range r.cfg.D1Databases {
			if b.Binding == name || b.DatabaseName == name || b.DatabaseID == name {
				return server.D1ID(b), b.MigrationsDir
			}
		}
		return name, filepath.Join(r.cfg.Dir, "migrations")
	}
	return name, filepath.Join(r.workDir, "migrations")
}

// call sends a request and decodes the envelope's result into out.
func (r *remoteD1) call(ctx context.Context, method, path string, body io.Reader, out any) error {
	return callV4(ctx, r.client, "D1 REST API", method, r.base+path, r.token, "application/json", body, out)
}

func jsonBody(v any) io.Reader {
	b, _ := json.Marshal(v)
	return bytes.NewReader(b)
}

func (r *remoteD1) create(ctx context.Context, name string) (d1.Info, error) {
	var info d1.Info
	err := r.call(ctx, "POST", "", jsonBody(map[string]string{"name": name}), &info)
	return info, err
}

func (r *remoteD1) list(ctx context.Context) ([]d1.Info, error) {
	var infos []d1.Info
	err := r.call(ctx, "GET", "", nil, &infos)
	return infos, err
}

func (r *remoteD1) delete(ctx context.Context, name string) (d1.Info, error) {
	id, _ := r.resolve(name)
	var info d1.Info
	if err := r.call(ctx, "GET", "/"+url.PathEscape(id), nil, &info); err != nil {
		return info, err
	}
	return info, r.call(ctx, "DELETE", "/"+url.PathEscape(info.UUID), nil, nil)
}

// query runs sql (statements separated by ';') and returns /query's result
// JSON and the same results as d1.Results (from /raw) for printing.
func (r *remoteD1) query(ctx context.Context, name, sql string, asJSON bool) (json.RawMessage, []d1.Result, error) {
	id, _ := r.resolve(name)
	body := map[string]any{"sql": sql}
	if asJSON {
		var raw json.RawMessage
		err := r.call(ctx, "POST", "/"+url.PathEscape(id)+"/query", jsonBody(body), &raw)
		return raw, nil, err
	}
	var res []struct {
		Results struct {
			Columns []string `json:"columns"`
			Rows    [][]any  `json:"rows"`
		} `json:"results"`
		Meta struct {
			Duration float64 `json:"duration"`
			Changes  int64   `json:"changes"`
		} `json:"meta"`
	}
	if err := r.call(ctx, "POST", "/"+url.PathEscape(id)+"/raw", jsonBody(body), &res); err != nil {
		return nil, nil, err
	}
	out := make([]d1.Result, len(res))
	for i, x := range res {
		out[i] = d1.Result{Columns: x.Results.Columns, Rows: x.Results.Rows, Meta: d1.Meta{Duration: x.Meta.Duration, Changes: x.Meta.Changes}}
	}
	return nil, out, nil
}

// importSQL runs Cloudflare's import protocol: init, upload (streamed), ingest,
// poll. open is called twice: once to hash the body, once to upload it.
func (r *remoteD1) importSQL(ctx context.Context, name string, open func() (io.ReadCloser, error)) (map[string]any, error) {
	id, _ := r.resolve(name)
	path := "/" + url.PathEscape(id) + "/import"
	body, err := open()
	if err != nil {
		return nil, err
	}
	sum := md5.New()
	_, err = io.Copy(sum, body)
	body.Close()
	if err != nil {
		return nil, err
	}
	etag := hex.EncodeToString(sum.Sum(nil))
	var ini struct {
		UploadURL string `json:"upload_url"`
		Filename  string `json:"filename"`
	}
	if err := r.call(ctx, "POST", path, jsonBody(map[string]string{"action": "init", "etag": etag}), &ini); err != nil {
		return nil, err
	}
	if body, err = open(); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, "PUT", ini.UploadURL, body)
	if err != nil {
		body.Close()
		return nil, err
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	resp, err := r.client.Do(req)
	body.Close()
	if err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	resp.Body.Close()
	if got := strings.Trim(resp.Header.Get("ETag"), `"`); resp.StatusCode != http.StatusOK || got != etag {
		return nil, fmt.Errorf("upload: status %d, ETag %q (want %q)", resp.StatusCode, got, etag)
	}
	if err := r.call(ctx, "POST", path, jsonBody(map[string]string{"action": "ingest", "etag": etag, "filename": ini.Filename}), nil); err != nil {
		return nil, err
	}
	var poll struct {
		Success bool           `json:"success"`
		Error   string         `json:"error"`
		Result  map[string]any `json:"result"`
	}
	if err := r.call(ctx, "POST", path, jsonBody(map[string]string{"action": "poll"}), &poll); err != nil {
		return nil, err
	}
	if !poll.Success {
		return nil, errors.New(poll.Error)
	}
	return poll.Result, nil
}

func (r *remoteD1) export(ctx context.Context, name string, w io.Writer, opts d1.ExportOptions) error {
	id, _ := r.resolve(name)
	var exp struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Result struct {
			SignedURL string `json:"signed_url"`
		} `json:"result"`
	}
	body := map[string]any{"output_format": "polling", "dump_options": map[string]any{"no_data": opts.NoData, "no_schema": opts.NoSchema, "tables": opts.Tables}}
	if err := r.call(ctx, "POST", "/"+url.PathEscape(id)+"/export", jsonBody(body), &exp); err != nil {
		return err
	}
	if exp.Status != "complete" {
		return fmt.Errorf("export: %s", exp.Error)
	}
	req, err := http.NewRequestWithContext(ctx, "GET", exp.Result.SignedURL, nil)
	if err != nil {
		return err
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return fmt.Errorf("export download: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("export download: status %d", resp.StatusCode)
	}
	_, err = io.Copy(w, resp.Body)
	return err
}

// appliedMigrations returns the names in the remote migrations table (none
// if it does not exist yet).
func (r *remoteD1) appliedMigrations(ctx context.Context, name string) (map[string]bool, error) {
	_, res, err := r.query(ctx, name, "SELECT name FROM sqlite_schema WHERE type = 'table' AND name = '"+d1.DefaultMigrationsTable+"'", false)
	if err != nil {
		return nil, err
	}
	applied := map[string]bool{}
	if len(res) == 0 || len(res[0].Rows) == 0 {
		return applied, nil
	}
	if _, res, err = r.query(ctx, name, "SELECT name FROM "+d1.DefaultMigrationsTable, false); err != nil {
		return nil, err
	}
	for _, row := range res[0].Rows {
		if s, ok := row[0].(string); ok {
			applied[s] = true
		}
	}
	return applied, nil
}

// pendingMigrations lists the migration files not applied remotely.
func (r *remoteD1) pendingMigrations(ctx context.Context, name string) (string, []string, error) {
	_, dir := r.resolve(name)
	applied, err := r.appliedMigrations(ctx, name)
	if err != nil {
		return "", nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", nil, err
	}
	var pending []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".sql") && !applied[e.Name()] {
			pending = append(pending, e.Name())
		}
	}
	return dir, pending, nil
}

// applyMigrations applies each pending migration as one import (the file
// plus its d1_migrations record): all of it or nothing.
func (r *remoteD1) applyMigrations(ctx context.Context, name string, done func(string)) ([]string, error) {
	if _, _, err := r.query(ctx, name, `CREATE TABLE IF NOT EXISTS `+d1.DefaultMigrationsTable+`(
		id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)`, false); err != nil {
		return nil, err
	}
	dir, pending, err := r.pendingMigrations(ctx, name)
	if err != nil {
		return nil, err
	}
	var applied []string
	for _, m := range pending {
		record := fmt.Sprintf("\n;\nINSERT INTO %s (name) VALUES ('%s');\n", d1.DefaultMigrationsTable, strings.ReplaceAll(m, "'", "''"))
		_, err := r.importSQL(ctx, name, func() (io.ReadCloser, error) {
			f, err := os.Open(filepath.Join(dir, m))
			if err != nil {
				return nil, err
			}
			return readCloser{io.MultiReader(f, strings.NewReader(record)), f}, nil
		})
		if err != nil {
			return applied, &d1.MigrationError{Name: m, Err: err}
		}
		applied = append(applied, m)
		done(m)
	}
	return applied, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}
