package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

func newRollbackCommand() *cobra.Command {
	var (
		remote  remoteFlags
		message string
	)
	cmd := &cobra.Command{
		Use:   "rollback [VERSION_ID]",
		Short: "Deploy an earlier version again (default: the one deployed before the current one)",
		Long: `Deploy an earlier version of a Worker to a running cairn, like "wrangler rollback":
the version given, or the one deployed before the current one. It is loaded from the server's
version store (nothing is uploaded); a version that fails to load changes nothing. Migrations
are not undone: a version older than the last migration finds the classes as they are now.`,
		Args: cobra.MaximumNArgs(1),
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
			target := ""
			if len(args) == 1 {
				target = args[0]
			} else {
				deps, err := c.deployments(ctx)
				if err != nil {
					return err
				}
				if len(deps) == 0 || len(deps[0].Versions) == 0 {
					return errors.New("nothing is deployed: there is no version to roll back from")
				}
				active := deps[0].Versions[0].VersionID
				for _, d := range deps[1:] {
					if len(d.Versions) > 0 && d.Versions[0].VersionID != active {
						target = d.Versions[0].VersionID
						break
					}
				}
				if target == "" {
					return fmt.Errorf("no earlier version was deployed than the current one (%s)", active)
				}
			}
			annotations := map[string]string{}
			if message != "" {
				annotations["workers/message"] = message
			}
			body := map[string]any{
				"strategy":    "percentage",
				"versions":    []map[string]any{{"version_id": target, "percentage": 100}},
				"annotations": annotations,
			}
			var dep apiDeployment
			if err := c.call(ctx, "POST", "/deployments", "application/json", jsonBody(body), &dep); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Rolled back %s to version %s (deployment %s)\n", name, target, dep.ID)
			return nil
		},
	}
	remote.add(cmd, "remote")
	cmd.Flags().StringVarP(&message, "message", "m", "", "a message describing the rollback")
	return cmd
}
