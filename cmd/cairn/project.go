package main

import (
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/cairn-dev/cairn/config"
)

// projectFlags select a project and its state directory, for the verbs
// that work on a project's data without running it (kv, objects).
type projectFlags struct {
	config    string
	persistTo string
}

func (f *projectFlags) addProject(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.config, "config", "c", ".", "project directory or wrangler config file")
	cmd.Flags().StringVar(&f.persistTo, "persist-to", "", "state directory (default .cairn/state in the project, as cairn dev)")
}

// project loads the config and returns it with the state directory.
func (f *projectFlags) project() (*config.Config, string, error) {
	file, err := config.Find(f.config)
	if err != nil {
		return nil, "", err
	}
	cfg, err := config.Load(file, func(string) {})
	if err != nil {
		return nil, "", err
	}
	persist := f.persistTo
	if persist == "" {
		persist = filepath.Join(cfg.Dir, ".cairn", "state")
	}
	return cfg, persist, nil
}
