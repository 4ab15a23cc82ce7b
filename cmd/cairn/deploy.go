package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairn-dev/cairn/config"
	"github.com/cairn-dev/cairn/server"
)

func newDeployCommand() *cobra.Command {
	var (
		remote  remoteFlags
		message string
	)
	cmd := &cobra.Command{
		Use:   "deploy [dir-or-config]",
		Short: "Bundle a Worker project and deploy it to a running cairn",
		Long: `Deploy a Worker project to a running cairn, like "wrangler deploy": run the config's
build.command, bundle main locally as cairn dev does, upload the version through the admin
API (--to URL, --token T; or $CAIRN_API_URL, $CAIRN_API_TOKEN) and make it the one served.
Requests in flight finish on the previous version; Durable Objects move to the new code at
their next activation; the config's migrations are applied with the deploy. A version that
fails to load changes nothing. Prints the new version's id.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := "."
			if len(args) == 1 {
				path = args[0]
			}
			ctx := cmd.Context()
			if _, err := runBuild(ctx, path, cmd.ErrOrStderr()); err != nil {
				return err
			}
			file, err := config.Find(path)
			if err != nil {
				return err
			}
			cfg, err := config.Load(file, func(msg string) { fmt.Fprintln(cmd.ErrOrStderr(), "warning:", msg) })
			if err != nil {
				return err
			}
			code := "" // an assets-only project has no Worker code
			if cfg.Main != "" {
				res, err := server.BundleProject(cfg)
				if err != nil {
					return err
				}
				code = res.Code
			}
			c, err := remote.client(cfg.Name)
			if err != nil {
				return err
			}
			start := time.Now()
			var out struct {
				VersionID    string `json:"version_id"`
				Number       int    `json:"number"`
				DeploymentID string `json:"deployment_id"`
			}
			body, contentType, err := uploadForm(cfg, code, message)
			if err != nil {
				return err
			}
			if err := c.call(ctx, "PUT", "", contentType, body, &out); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "Uploaded %s (%.1f KiB) and deployed it in %s\n", cfg.Name, float64(len(code))/1024, time.Since(start).Round(time.Millisecond))
			fmt.Fprintf(w, "Version %d, deployment %s\n", out.Number, out.DeploymentID)
			fmt.Fprintf(w, "Current Version ID: %s\n", out.VersionID)
			return nil
		},
	}
	remote.add(cmd, "to")
	cmd.Flags().StringVarP(&message, "message", "m", "", "a message describing the version (the workers/message annotation)")
	return cmd
}

// uploadForm builds the multipart body of a version upload as wrangler
// sends it (a metadata part and the module), with cairn's resolved config
// in metadata.cairn.
func uploadForm(cfg *config.Config, code, message string) (io.Reader, string, error) {
	rawCfg, err := json.Marshal(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("encode config: %w", err)
	}
	annotations := map[string]string{}
	if message != "" {
		annotations["workers/message"] = message
	}
	meta, err := json.Marshal(map[string]any{
		"main_module":         server.VersionScript,
		"compatibility_date":  cfg.CompatibilityDate,
		"compatibility_flags": cfg.CompatibilityFlags,
		"annotations":         annotations,
		"cairn": map[string]any{
			"config": json.RawMessage(rawCfg),
			"source": "cairn deploy",
			"author": author(),
		},
	})
	if err != nil {
		return nil, "", fmt.Errorf("encode metadata: %w", err)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="metadata"; filename="blob"`)
	h.Set("Content-Type", "application/json")
	pw, err := mw.CreatePart(h)
	if err == nil {
		_, err = pw.Write(meta)
	}
	if err != nil {
		return nil, "", err
	}
	h = textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, server.VersionScript, server.VersionScript))
	h.Set("Content-Type", "application/javascript")
	if pw, err = mw.CreatePart(h); err == nil {
		_, err = io.WriteString(pw, code)
	}
	if err == nil && cfg.Assets != nil {
		h = textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename="assets.tar.gz"`, server.AssetsPart))
		h.Set("Content-Type", "application/gzip")
		if pw, err = mw.CreatePart(h); err == nil {
			err = tarAssets(pw, cfg.Assets.Directory)
		}
	}
	if err == nil {
		err = mw.Close()
	}
	if err != nil {
		return nil, "", err
	}
	return &buf, mw.FormDataContentType(), nil
}

// author names who deploys: user@host.
func author() string {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ := os.Hostname()
	return name + "@" + host
}

// remoteFlags select the admin API of a running cairn and the Worker, for
// deploy, versions and rollback.
type remoteFlags struct {
	url     string
	token   string
	account string
	config  string
	name    string
}

func (f *remoteFlags) add(cmd *cobra.Command, urlFlag string) {
	fl := cmd.Flags()
	fl.StringVar(&f.url, urlFlag, "", "URL of the admin API of a running cairn (default $CAIRN_API_URL)")
	fl.StringVar(&f.token, "token", "", "bearer token of the admin API (default $CAIRN_API_TOKEN)")
	fl.StringVar(&f.account, "account", "cairn", "account id in the API paths (cairn serves any)")
	if urlFlag != "to" { // deploy takes the project as its argument
		fl.StringVarP(&f.config, "config", "c", ".", "project directory or wrangler config file, for the Worker's name")
		fl.StringVar(&f.name, "name", "", "the Worker's name (default: the project's)")
	}
}

// workerName returns --name, or the name in the project's config.
func (f *remoteFlags) workerName() (string, error) {
	if f.name != "" {
		return f.name, nil
	}
	file, err := config.Find(f.config)
	if err != nil {
		return "", fmt.Errorf("the Worker's name: give --name, or run in the project (%w)", err)
	}
	cfg, err := config.Load(file, nil)
	if err != nil {
		return "", err
	}
	return cfg.Name, nil
}

// adminClient calls the Workers scripts routes of a cairn admin API.
type adminClient struct {
	base   string // …/client/v4/accounts/{account}/workers/scripts/{name}
	token  string
	client *http.Client
}

func (f *remoteFlags) client(name string) (*adminClient, error) {
	raw := f.url
	if raw == "" {
		raw = os.Getenv("CAIRN_API_URL")
	}
	if raw == "" {
		return nil, errors.New("no admin API: give its URL (--to or --remote, e.g. http://127.0.0.1:8788) or set CAIRN_API_URL")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("admin API URL %q: want e.g. http://127.0.0.1:8788", raw)
	}
	token := f.token
	if token == "" {
		token = os.Getenv("CAIRN_API_TOKEN")
	}
	base := strings.TrimSuffix(strings.TrimSuffix(u.String(), "/"), "/client/v4")
	return &adminClient{
		base:   base + "/client/v4/accounts/" + url.PathEscape(f.account) + "/workers/scripts/" + url.PathEscape(name),
		token:  token,
		client: &http.Client{Timeout: 10 * time.Minute},
	}, nil
}

// call sends a request and decodes the envelope's result into out.
func (c *adminClient) call(ctx context.Context, method, path, contentType string, body io.Reader, out any) error {
	return callV4(ctx, c.client, "admin API", method, c.base+path, c.token, contentType, body, out)
}

// apiVersion and apiDeployment are the API's version and deployment.
type apiVersion struct {
	ID       string `json:"id"`
	Number   int    `json:"number"`
	Metadata struct {
		Author  string `json:"author_email"`
		Created string `json:"created_on"`
		Source  string `json:"source"`
	} `json:"metadata"`
	Annotations map[string]string `json:"annotations"`
}

type apiDeployment struct {
	ID       string `json:"id"`
	Created  string `json:"created_on"`
	Versions []struct {
		VersionID  string  `json:"version_id"`
		Percentage float64 `json:"percentage"`
	} `json:"versions"`
	Annotations map[string]string `json:"annotations"`
}

func (c *adminClient) versions(ctx context.Context) ([]apiVersion, error) {
	var out struct {
		Items []apiVersion `json:"items"`
	}
	err := c.call(ctx, "GET", "/versions", "", nil, &out)
	return out.Items, err
}

func (c *adminClient) deployments(ctx context.Context) ([]apiDeployment, error) {
	var out struct {
		Deployments []apiDeployment `json:"deployments"`
	}
	err := c.call(ctx, "GET", "/deployments", "", nil, &out)
	return out.Deployments, err
}

// tarAssets writes the files under dir (the config's assets.directory) to w
// as a gzipped tar, for the server to serve as the version's static
// assets; .assetsignore, _headers and _redirects go along and apply there.
func tarAssets(w io.Writer, dir string) error {
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("assets.directory %s does not exist (is the build step missing?)", dir)
	}
	zw := gzip.NewWriter(w)
	tw := tar.NewWriter(zw)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil // directories are implied; links are not followed
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: filepath.ToSlash(rel), Mode: 0o644, Size: fi.Size(), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.CopyN(tw, f, fi.Size())
		return err
	})
	if err != nil {
		return fmt.Errorf("static assets: %w", err)
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}
