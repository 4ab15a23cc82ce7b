package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cairn-dev/cairn/config"
	"github.com/cairn-dev/cairn/jsrt"
	"github.com/cairn-dev/cairn/r2"
	"github.com/cairn-dev/cairn/server"
)

// errObjectPath is returned for an object path that is not BUCKET/KEY.
var errObjectPath = errors.New("the object path must be BUCKET/KEY")

func newR2Command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "r2",
		Short: "Manage R2 buckets in the local state directory",
		Long: `Read and write the R2 buckets of a project in its local state directory (the one
"cairn dev" uses), with wrangler's verbs. Works while "cairn dev" runs.`,
	}
	bucket := &cobra.Command{Use: "bucket", Short: "List R2 buckets"}
	bucket.AddCommand(newR2BucketListCommand())
	object := &cobra.Command{Use: "object", Short: "Read and write objects of an R2 bucket"}
	object.AddCommand(newR2ObjectGetCommand(), newR2ObjectPutCommand(), newR2ObjectDeleteCommand())
	cmd.AddCommand(bucket, object)
	return cmd
}

// r2BucketInfo is one entry of `cairn r2 bucket list`.
type r2BucketInfo struct {
	Name     string   `json:"name"`
	Bindings []string `json:"bindings,omitempty"`
	Stored   bool     `json:"stored"` // has a file in the state directory
}

// r2BucketList merges the config's bindings with the stored buckets.
func r2BucketList(cfg *config.Config, stored []string) []r2BucketInfo {
	list := []r2BucketInfo{}
	index := map[string]int{}
	for _, b := range cfg.R2Buckets {
		name := server.R2BucketName(b)
		if i, ok := index[name]; ok {
			list[i].Bindings = append(list[i].Bindings, b.Binding)
			continue
		}
		index[name] = len(list)
		list = append(list, r2BucketInfo{Name: name, Bindings: []string{b.Binding}, Stored: slices.Contains(stored, name)})
	}
	for _, name := range stored {
		if _, ok := index[name]; !ok {
			list = append(list, r2BucketInfo{Name: name, Stored: true})
		}
	}
	return list
}

func newR2BucketListCommand() *cobra.Command {
	var f projectFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the project's R2 buckets (bound in the config or stored) as JSON",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, persist, err := f.project(nil)
			if err != nil {
				return err
			}
			stored, err := r2.Buckets(persist, cfg.Name)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(r2BucketList(cfg, stored))
		},
	}
	f.addProject(cmd)
	return cmd
}

// splitObjectPath splits BUCKET/KEY.
func splitObjectPath(p string) (bucket, key string, err error) {
	bucket, key, ok := strings.Cut(p, "/")
	if !ok || bucket == "" || key == "" {
		return "", "", fmt.Errorf("%w, got %q", errObjectPath, p)
	}
	return bucket, key, nil
}

// openBucket opens the bucket named in BUCKET/KEY and returns it with the key.
func openBucket(f *projectFlags, objectPath string) (*r2.Bucket, string, error) {
	name, key, err := splitObjectPath(objectPath)
	if err != nil {
		return nil, "", err
	}
	cfg, persist, err := f.project(nil)
	if err != nil {
		return nil, "", err
	}
	path, err := r2.Path(persist, cfg.Name, name)
	if err != nil {
		return nil, "", err
	}
	b, err := r2.Open(path, r2.Options{MaxObjectSize: jsrt.MaxBodySize})
	return b, key, err
}

func newR2ObjectGetCommand() *cobra.Command {
	var (
		f    projectFlags
		file string
	)
	cmd := &cobra.Command{
		Use:   "get BUCKET/KEY",
		Short: "Write an object's body to stdout (or --file)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, key, err := openBucket(&f, args[0])
			if err != nil {
				return err
			}
			defer b.Close()
			g, err := b.Get(cmd.Context(), key, r2.GetOptions{})
			if err != nil {
				return err
			}
			if !g.Found {
				return fmt.Errorf("object %q not found", args[0])
			}
			if file != "" {
				return os.WriteFile(file, g.Body, 0o644)
			}
			_, err = cmd.OutOrStdout().Write(g.Body)
			return err
		},
	}
	f.addProject(cmd)
	cmd.Flags().StringVarP(&file, "file", "f", "", "write the body to this file instead of stdout")
	return cmd
}

func newR2ObjectPutCommand() *cobra.Command {
	var (
		f           projectFlags
		file        string
		pipe        bool
		contentType string
	)
	cmd := &cobra.Command{
		Use:   "put BUCKET/KEY (--file FILE | --pipe)",
		Short: "Store an object from a file or stdin",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var body []byte
			var err error
			switch {
			case file != "" && pipe:
				return errors.New("use either --file or --pipe, not both")
			case pipe:
				body, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), jsrt.MaxBodySize+1))
			case file != "":
				body, err = os.ReadFile(file)
				if contentType == "" {
					contentType = mime.TypeByExtension(filepath.Ext(file))
				}
			default:
				return errors.New("--file or --pipe is required")
			}
			if err != nil {
				return fmt.Errorf("read object body: %w", err)
			}
			b, key, err := openBucket(&f, args[0])
			if err != nil {
				return err
			}
			defer b.Close()
			o, _, err := b.Put(cmd.Context(), key, body, r2.PutOptions{HTTPMetadata: r2.HTTPMetadata{ContentType: contentType}})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Wrote %d bytes to %s (etag %s).\n", o.Size, args[0], o.ETag)
			return nil
		},
	}
	f.addProject(cmd)
	cmd.Flags().StringVarP(&file, "file", "f", "", "read the body from this file")
	cmd.Flags().BoolVarP(&pipe, "pipe", "p", false, "read the body from stdin")
	cmd.Flags().StringVar(&contentType, "content-type", "", "the object's Content-Type (default: from the file's extension)")
	return cmd
}

func newR2ObjectDeleteCommand() *cobra.Command {
	var f projectFlags
	cmd := &cobra.Command{
		Use:   "delete BUCKET/KEY",
		Short: "Delete an object",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, key, err := openBucket(&f, args[0])
			if err != nil {
				return err
			}
			defer b.Close()
			if err := b.Delete(cmd.Context(), key); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Deleted %s.\n", args[0])
			return nil
		},
	}
	f.addProject(cmd)
	return cmd
}
