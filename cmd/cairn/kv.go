package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/cairn-dev/cairn/config"
	"github.com/cairn-dev/cairn/kv"
	"github.com/cairn-dev/cairn/server"
)

// kvFlags are the flags every `cairn kv` verb shares: which project, which
// state directory and which namespace.
type kvFlags struct {
	projectFlags
	binding     string
	namespaceID string
}

func (f *kvFlags) addNamespace(cmd *cobra.Command) {
	f.addProject(cmd)
	cmd.Flags().StringVar(&f.binding, "binding", "", "the kv_namespaces binding to use")
	cmd.Flags().StringVar(&f.namespaceID, "namespace-id", "", "the namespace id to use (instead of --binding)")
}

func (f *kvFlags) open() (*kv.Namespace, string, error) {
	cfg, persist, err := f.project(nil)
	if err != nil {
		return nil, "", err
	}
	id := f.namespaceID
	switch {
	case f.binding != "" && id != "":
		return nil, "", errors.New("use either --binding or --namespace-id, not both")
	case f.binding != "":
		i := slices.IndexFunc(cfg.KVNamespaces, func(b config.KVNamespace) bool { return b.Binding == f.binding })
		if i < 0 {
			return nil, "", fmt.Errorf("no kv_namespaces binding %q in %s", f.binding, cfg.File)
		}
		id = server.KVNamespaceID(cfg.KVNamespaces[i])
	case id == "":
		return nil, "", errors.New("--binding or --namespace-id is required")
	}
	path, err := kv.Path(persist, cfg.Name, id)
	if err != nil {
		return nil, "", err
	}
	ns, err := kv.Open(path, kv.Options{SweepInterval: -1})
	return ns, id, err
}

func newKVCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kv",
		Short: "Manage Workers KV namespaces in the local state directory",
		Long: `Read and write the Workers KV namespaces of a project in its local state directory
(the one "cairn dev" uses), with wrangler's verbs. Works while "cairn dev" runs.`,
	}
	ns := &cobra.Command{Use: "namespace", Short: "List KV namespaces"}
	ns.AddCommand(newKVNamespaceListCommand())
	key := &cobra.Command{Use: "key", Short: "Read and write keys of a KV namespace"}
	key.AddCommand(newKVKeyListCommand(), newKVKeyGetCommand(), newKVKeyPutCommand(), newKVKeyDeleteCommand())
	cmd.AddCommand(ns, key)
	return cmd
}

// kvNamespaceInfo is one line of `cairn kv namespace list`.
type kvNamespaceInfo struct {
	ID      string `json:"id"`
	Title   string `json:"title"`
	Binding string `json:"binding,omitempty"`
	Stored  bool   `json:"stored"` // has a file in the state directory
}

func newKVNamespaceListCommand() *cobra.Command {
	var f kvFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the project's KV namespaces (bound in the config or stored) as JSON",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, persist, err := f.project(nil)
			if err != nil {
				return err
			}
			stored, err := kv.Namespaces(persist, cfg.Name)
			if err != nil {
				return err
			}
			list := kvNamespaceList(cfg, stored)
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(list)
		},
	}
	f.addProject(cmd)
	return cmd
}

// kvNamespaceList merges the config's bindings with the stored namespaces.
func kvNamespaceList(cfg *config.Config, stored []string) []kvNamespaceInfo {
	list := []kvNamespaceInfo{}
	seen := map[string]bool{}
	for _, b := range cfg.KVNamespaces {
		id := server.KVNamespaceID(b)
		if seen[id] {
			continue
		}
		seen[id] = true
		list = append(list, kvNamespaceInfo{ID: id, Title: cfg.Name + "-" + b.Binding, Binding: b.Binding, Stored: slices.Contains(stored, id)})
	}
	for _, id := range stored {
		if !seen[id] {
			list = append(list, kvNamespaceInfo{ID: id, Title: id, Stored: true})
		}
	}
	return list
}

func newKVKeyListCommand() *cobra.Command {
	var f kvFlags
	var prefix string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the keys of a namespace as JSON",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ns, _, err := f.open()
			if err != nil {
				return err
			}
			defer ns.Close()
			keys := []kv.Key{}
			cursor := ""
			for {
				res, err := ns.List(cmd.Context(), kv.ListOptions{Prefix: prefix, Cursor: cursor})
				if err != nil {
					return err
				}
				keys = append(keys, res.Keys...)
				if res.Complete {
					break
				}
				cursor = res.Cursor
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(keys)
		},
	}
	f.addNamespace(cmd)
	cmd.Flags().StringVar(&prefix, "prefix", "", "only keys starting with this prefix")
	return cmd
}

func newKVKeyGetCommand() *cobra.Command {
	var f kvFlags
	cmd := &cobra.Command{
		Use:   "get KEY",
		Short: "Write a key's value to stdout",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ns, _, err := f.open()
			if err != nil {
				return err
			}
			defer ns.Close()
			e, ok, err := ns.Get(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if !ok {
				fmt.Fprintln(cmd.OutOrStdout(), "Value not found")
				return nil
			}
			_, err = cmd.OutOrStdout().Write(e.Value)
			return err
		},
	}
	f.addNamespace(cmd)
	return cmd
}

func newKVKeyPutCommand() *cobra.Command {
	var (
		f          kvFlags
		path       string
		ttl        string
		expiration string
		metadata   string
	)
	cmd := &cobra.Command{
		Use:   "put KEY [VALUE]",
		Short: "Write a value (the argument, --path FILE, or stdin with --path -) to a key",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var value []byte
			switch {
			case len(args) == 2 && path != "":
				return errors.New("give the value as an argument or with --path, not both")
			case len(args) == 2:
				value = []byte(args[1])
			case path == "-":
				b, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), kv.MaxValueSize+1))
				if err != nil {
					return fmt.Errorf("read stdin: %w", err)
				}
				value = b
			case path != "":
				b, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				value = b
			default:
				return errors.New("a value (argument) or --path is required")
			}
			var opts kv.PutOptions
			for _, p := range []struct {
				flag, s string
				dst     **int64
			}{{"--ttl", ttl, &opts.ExpirationTTL}, {"--expiration", expiration, &opts.Expiration}} {
				if p.s == "" {
					continue
				}
				n, err := strconv.ParseInt(p.s, 10, 64)
				if err != nil {
					return fmt.Errorf("%s %q: not a number of seconds", p.flag, p.s)
				}
				*p.dst = &n
			}
			if metadata != "" {
				opts.Metadata = json.RawMessage(metadata)
			}
			ns, id, err := f.open()
			if err != nil {
				return err
			}
			defer ns.Close()
			if err := ns.Put(cmd.Context(), args[0], value, opts); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Wrote %d bytes to key %q in namespace %s.\n", len(value), args[0], id)
			return nil
		},
	}
	f.addNamespace(cmd)
	cmd.Flags().StringVar(&path, "path", "", "read the value from this file (- for stdin)")
	cmd.Flags().StringVar(&ttl, "ttl", "", "expire the key this many seconds from now (at least 60)")
	cmd.Flags().StringVar(&expiration, "expiration", "", "expire the key at this time (seconds since the epoch)")
	cmd.Flags().StringVar(&metadata, "metadata", "", "metadata to store with the key (JSON, at most 1024 bytes)")
	return cmd
}

func newKVKeyDeleteCommand() *cobra.Command {
	var f kvFlags
	cmd := &cobra.Command{
		Use:   "delete KEY",
		Short: "Delete a key",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ns, id, err := f.open()
			if err != nil {
				return err
			}
			defer ns.Close()
			if err := ns.Delete(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Deleted key %q in namespace %s.\n", args[0], id)
			return nil
		},
	}
	f.addNamespace(cmd)
	return cmd
}
