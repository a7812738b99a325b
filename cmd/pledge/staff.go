package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/sqlite"
)

// openDB opens the store named by PLEDGE_DB (or -db) for a command that needs nothing else.
func openDB(ctx context.Context, env *Env, name string, args []string, extra func(fs *flag.FlagSet)) (*sqlite.DB, []string, error) {
	cfg, fs := storeFlags(env, name)
	if extra != nil {
		extra(fs)
	}
	if err := fs.Parse(reorder(args)); err != nil {
		return nil, nil, errUsage
	}
	db, err := cfg.openDB(ctx)
	if err != nil {
		return nil, nil, err
	}
	return db, fs.Args(), nil
}

// reorder puts flags before positional arguments, so "staff add EMAIL --role viewer" works as
// well as "staff add --role viewer EMAIL" (the flag package stops at the first positional).
func reorder(args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") && a != "-" {
			flags = append(flags, a)
			if !strings.Contains(a, "=") && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				i++
				flags = append(flags, args[i])
			}
			continue
		}
		pos = append(pos, a)
	}
	return append(flags, pos...)
}

const staffUsage = `usage:
  pledge staff add EMAIL [--role admin|viewer]   (password: first line of standard input)
  pledge staff list
  pledge staff disable EMAIL`

func runStaff(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(env.Stderr, staffUsage)
		return errUsage
	}
	var role string
	db, rest, err := openDB(ctx, env, "staff "+args[0], args[1:], func(fs *flag.FlagSet) {
		if args[0] == "add" {
			fs.StringVar(&role, "role", "admin", "admin or viewer")
		}
	})
	if err != nil {
		return err
	}
	defer db.Close()
	switch args[0] {
	case "add":
		if len(rest) != 1 {
			fmt.Fprintln(env.Stderr, staffUsage)
			return errUsage
		}
		r, err := pledge.ParseRole(role)
		if err != nil {
			return fmt.Errorf("%s", pledge.ErrorMessage(err))
		}
		line, err := bufio.NewReader(env.Stdin).ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("give the password on the first line of standard input")
		}
		st, err := db.CreateStaff(ctx, rest[0], strings.TrimRight(line, "\r\n"), r)
		if err != nil {
			return fmt.Errorf("%s", pledge.ErrorMessage(err))
		}
		fmt.Fprintf(env.Stdout, "added %s (%s)\n", st.Email, st.Role)
	case "list":
		list, err := db.ListStaff(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "EMAIL\tROLE\tADDED\tSTATUS")
		for _, s := range list {
			status := "active"
			if !s.DisabledAt.IsZero() {
				status = "disabled " + s.DisabledAt.Format("2006-01-02")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Email, s.Role, s.CreatedAt.Format("2006-01-02"), status)
		}
		return tw.Flush()
	case "disable":
		if len(rest) != 1 {
			fmt.Fprintln(env.Stderr, staffUsage)
			return errUsage
		}
		if err := db.DisableStaff(ctx, rest[0]); err != nil {
			return fmt.Errorf("%s", pledge.ErrorMessage(err))
		}
		fmt.Fprintf(env.Stdout, "disabled %s; their sessions are ended\n", rest[0])
	default:
		fmt.Fprintln(env.Stderr, staffUsage)
		return errUsage
	}
	return nil
}

func runErase(ctx context.Context, env *Env, args []string) error {
	db, rest, err := openDB(ctx, env, "erase", args, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	if len(rest) != 1 {
		fmt.Fprintln(env.Stderr, "usage: pledge erase EMAIL")
		return errUsage
	}
	n, err := db.EraseEmail(ctx, "cli", rest[0])
	if err != nil {
		return fmt.Errorf("%s", pledge.ErrorMessage(err))
	}
	// The address is not repeated: the terminal's scrollback is a copy too.
	fmt.Fprintf(env.Stdout, "erased %d supporter record(s) and that address's reminder requests; see the audit log\n", n)
	return nil
}
