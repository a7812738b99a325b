package main

import (
	"context"
	"fmt"

	"github.com/pledge-news/pledge/internal/seal"
)

const keysUsage = `usage:
  pledge keys new FILE   write a new data key to FILE (mode 0600) for PLEDGE_DATA_KEY_FILE
  pledge keys rotate     re-encrypt readers' data under a new key in PLEDGE_DATA_KEY_FILE
                         (stop the service first; run again to resume after an interruption)`

func runKeys(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(env.Stderr, keysUsage)
		return errUsage
	}
	switch args[0] {
	case "new":
		if len(args) != 2 {
			fmt.Fprintln(env.Stderr, keysUsage)
			return errUsage
		}
		k, err := seal.CreateKeyFile(args[1])
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "wrote data key %s to %s (mode 0600): set PLEDGE_DATA_KEY_FILE=%s, and back the file up apart from the database\n",
			k.ID, args[1], args[1])
		return nil
	case "rotate":
		return runKeysRotate(ctx, env, args[1:])
	default:
		fmt.Fprintln(env.Stderr, keysUsage)
		return errUsage
	}
}

// runKeysRotate re-seals every address and name under a new key. The new key is written first in
// the key file (the old one stays after it, to open what is not re-sealed yet), then the rows are
// re-sealed in batches, each committed on its own; only then does the key file drop the old key,
// which is kept beside it as FILE.retired-ID. Interrupted at any point, a second run (or the
// service's start, which re-seals whatever is not under the first key) takes it up.
func runKeysRotate(ctx context.Context, env *Env, args []string) error {
	cfg, fs := storeFlags(env, "keys rotate")
	fs.StringVar(&cfg.DataKeyFile, "data-key-file", cfg.DataKeyFile, "the data key file (PLEDGE_DATA_KEY_FILE)")
	batch := fs.Int("batch", 500, "rows re-sealed per transaction")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	path := cfg.DataKeyFile
	if path == "" || path == "none" {
		return &ConfigError{"PLEDGE_DATA_KEY_FILE", "keys rotate needs the current key file"}
	}
	keys, err := seal.ReadKeys(path)
	if err != nil {
		return err
	}
	if len(keys) == 1 {
		k, err := seal.NewKey()
		if err != nil {
			return err
		}
		keys = append([]*seal.Key{k}, keys...)
		if err := seal.WriteKeys(path, keys...); err != nil {
			return err
		}
		fmt.Fprintf(env.Stderr, "keys rotate: new key %s written first in %s; re-sealing under it\n", k.ID, path)
	} else {
		fmt.Fprintf(env.Stderr, "keys rotate: resuming the rotation to key %s\n", keys[0].ID)
	}
	sealer, err := seal.New(keys...)
	if err != nil {
		return err
	}
	db := cfg.store()
	db.Sealer = sealer
	db.SealBatch = *batch
	total := 0
	db.SealProgress = func(table string, rows int) {
		total += rows
		fmt.Fprintf(env.Stderr, "keys rotate: %s: %d rows re-sealed (%d in all)\n", table, rows, total)
	}
	// Open re-seals whatever is not under the first key, batch by batch.
	if err := db.Open(ctx); err != nil {
		return fmt.Errorf("%w (run pledge keys rotate again to resume)", err)
	}
	if err := db.Close(); err != nil {
		return err
	}
	for _, old := range keys[1:] {
		retired := path + ".retired-" + old.ID
		if err := seal.WriteKeys(retired, old); err != nil {
			return err
		}
		fmt.Fprintf(env.Stderr, "keys rotate: retired key %s moved to %s: it opens backups taken before; delete it to make them unreadable\n",
			old.ID, retired)
	}
	if err := seal.WriteKeys(path, keys[0]); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "keys rotate: every address and name is under key %s (%d values re-sealed)\n", keys[0].ID, total)
	return nil
}
