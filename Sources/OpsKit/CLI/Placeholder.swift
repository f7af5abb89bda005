// replaced by the CLI core
