package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

func newVersionsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "versions",
		Short: "List the versions deployed to a running cairn",
	}
	var (
		remote remoteFlags
		asJSON bool
	)
	list := &cobra.Command{
		Use:   "list",
		Short: "List a Worker's versions, newest first, marking the one deployed",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := remote.workerName()
			if err != nil {
				return err
			}
			c, err := remote.client(name)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			vs, err := c.versions(ctx)
			if err != nil {
				return err
			}
			deps, err := c.deployments(ctx)
			if err != nil {
				return err
			}
			active := ""
			if len(deps) > 0 && len(deps[0].Versions) > 0 {
				active = deps[0].Versions[0].VersionID
			}
			type row struct {
				ID      string `json:"id"`
				Number  int    `json:"number"`
				Created string `json:"created_on"`
				Source  string `json:"source"`
				Author  string `json:"author"`
				Message string `json:"message"`
				Active  bool   `json:"active"`
			}
			rows := make([]row, len(vs))
			for i, v := range vs {
				rows[i] = row{v.ID, v.Number, v.Metadata.Created, v.Metadata.Source, v.Metadata.Author, v.Annotations["workers/message"], v.ID == active}
			}
			w := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			}
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "VERSION ID\tNUMBER\tCREATED\tSOURCE\tMESSAGE\t")
			for _, r := range rows {
				mark := ""
				if r.Active {
					mark = "(deployed)"
				}
				created := r.Created
				if t, err := time.Parse(time.RFC3339Nano, created); err == nil {
					created = t.UTC().Format("2006-01-02 15:04:05Z")
				}
				fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", r.ID, r.Number, created, r.Source, r.Message, mark)
			}
			return tw.Flush()
		},
	}
	remote.add(list, "remote")
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(list)
	return cmd
}
