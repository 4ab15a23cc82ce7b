package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairn-dev/cairn/objects"
)

func newObjectsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "objects",
		Short: "Inspect Durable Objects",
	}
	cmd.AddCommand(newObjectsListCommand())
	return cmd
}

func newObjectsListCommand() *cobra.Command {
	var (
		f      projectFlags
		asJSON bool
		remote string
		token  string
	)
	cmd := &cobra.Command{
		Use:   "list <binding-or-class>",
		Short: "List the objects of a Durable Object namespace: id, name if known, size, last write, live",
		Long: `List the Durable Objects of a namespace (a binding from the config, or a class name).
Read from the state directory, the listing cannot tell which objects are live; with
--remote it asks a running cairn's admin API (cairn dev --api-port), which can.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var list []objects.ObjectInfo
			liveKnown := remote != ""
			if remote != "" {
				var err error
				if list, err = remoteObjects(remote, token, args[0]); err != nil {
					return err
				}
			} else {
				cfg, persist, err := f.project(nil)
				if err != nil {
					return err
				}
				catalog, err := objects.OpenCatalog(filepath.Join(persist, cfg.Name))
				if err != nil {
					return err
				}
				if list, err = catalog.Objects(cfg.ClassOf(args[0])); err != nil {
					return err
				}
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(list)
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tSIZE\tMODIFIED\tLIVE")
			for _, o := range list {
				live := "?"
				if liveKnown {
					live = map[bool]string{true: "yes", false: "no"}[o.Live]
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", o.ID, o.Name, o.Size, o.Modified.Format(time.RFC3339), live)
			}
			return tw.Flush()
		},
	}
	f.addProject(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().StringVar(&remote, "remote", "", "admin API of a running cairn, e.g. http://127.0.0.1:8788")
	cmd.Flags().StringVar(&token, "api-token", "", "bearer token for --remote (default $CAIRN_API_TOKEN)")
	return cmd
}

// remoteObjects asks a running cairn's admin API for the listing.
func remoteObjects(base, token, name string) ([]objects.ObjectInfo, error) {
	req, err := http.NewRequest("GET", strings.TrimRight(base, "/")+"/client/v4/cairn/objects/"+name, nil)
	if err != nil {
		return nil, err
	}
	if token == "" {
		token = os.Getenv("CAIRN_API_TOKEN")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("admin API: %w", err)
	}
	defer resp.Body.Close()
	var env struct {
		Success bool
		Errors  []struct{ Message string }
		Result  []objects.ObjectInfo
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return nil, fmt.Errorf("admin API: %s: %w", resp.Status, err)
	}
	if !env.Success {
		var msgs []string
		for _, e := range env.Errors {
			msgs = append(msgs, e.Message)
		}
		return nil, fmt.Errorf("admin API: %s: %s", resp.Status, strings.Join(msgs, "; "))
	}
	return env.Result, nil
}
