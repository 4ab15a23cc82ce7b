package main

import (
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/cairn-dev/cairn/config"
)

// projectFlags select a project and its state directory, for the verbs
// that work on a project's data without running it (d1, kv, objects).
type projectFlags struct {
	config    string
	persistTo string
}

func (f *projectFlags) addProject(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.config, "config", "c", ".", "project directory or wrangler config file")
	cmd.Flags().StringVar(&f.persistTo, "persist-to", "", "state directory (default .cairn/state in the project, as cairn dev)")
}

// project loads the config and returns it with the state directory. warn,
// if set, gets the config's warnings.
func (f *projectFlags) project(warn func(string)) (*config.Config, string, error) {
	file, err := config.Find(f.config)
	if err != nil {
		return nil, "", err
	}
	if warn == nil {
		warn = func(string) {}
	}
	cfg, err := config.Load(file, warn)
	if err != nil {
		return nil, "", err
	}
	persist := f.persistTo
	if persist == "" {
		persist = filepath.Join(cfg.Dir, ".cairn", "state")
	}
	return cfg, persist, nil
}
