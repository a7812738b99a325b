// Command pledge is the reader-support payments service: `pledge serve` runs it; the other
// subcommands operate on its database and on Stripe. Run `pledge help` for the list.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/mattn/go-isatty"
)

// usage lists the subcommands.
const usage = `pledge: reader support for newsrooms

Usage: pledge COMMAND [flags]

Commands:
  serve      run the HTTP service (applies migrations first)
  migrate    apply database migrations and print the schema version
  staff      staff accounts: staff add EMAIL [--role admin|viewer] (password on stdin), staff list,
             staff disable EMAIL
  erase      erase EMAIL: anonymise a supporter, keeping amounts and dates
  seed       seed --donations N: realistic demo and benchmark data
  reminders send [--now RFC3339]
             send the reminder e-mails that are due (serve also does this every minute)
  reconcile  apply the Stripe events of the last 72h (--since) not yet recorded
  trigger    post a realistic, signed Stripe event: trigger TYPE [--url URL] [--checkout ID]
  export     the ledger to standard output: export donations|supporters [--from] [--to] [--format csv|json]
  report     the dashboard's figures per currency: report --from YYYY-MM-DD --to YYYY-MM-DD [--format json|csv]
  statements send --year YYYY [--dry-run]
             e-mail each supporter who gave that year one statement of their gifts (once each)
  experiments report NAME [--format json|csv]
             an experiment's results per arm, with intervals and the chance each variant beats control
  config     config show: the effective configuration (environment, PLEDGE_CONFIG, staff's decisions)
  keys       keys new FILE: a new data key (PLEDGE_DATA_KEY_FILE); keys rotate: re-encrypt readers'
             data under a new key (resumable)
  purge      forget what the accounts do not need, older than PLEDGE_RETENTION (--older-than 400d)
  copy       copy --from SQLITE_FILE --to postgres://...: move a ledger into a new PostgreSQL
             database, checked by comparing both stores' exports and report
  help       show this text

Configuration comes from the environment (see README.md); every variable has a flag too:
run "pledge serve -h" to list them.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, getenv)
	stop()
	os.Exit(code)
}

// getenv is os.Getenv, except that PLEDGE_METRICS_ADDR set but empty reads as "off": empty
// means no metrics listener, and unset the default one.
func getenv(k string) string {
	if v, ok := os.LookupEnv(k); k == "PLEDGE_METRICS_ADDR" && ok && v == "" {
		return "off"
	}
	return os.Getenv(k)
}

// Env is what a command gets from the outside world; tests pass their own.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	Logger *slog.Logger
}

// Run runs one subcommand and returns the process exit code.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	env := &Env{Stdin: stdin, Stdout: stdout, Stderr: stderr, Getenv: getenv, Logger: newLogger(stderr)}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "serve":
		err = runServe(ctx, env, rest)
	case "migrate":
		err = runMigrate(ctx, env, rest)
	case "staff":
		err = runStaff(ctx, env, rest)
	case "erase":
		err = runErase(ctx, env, rest)
	case "seed":
		err = runSeed(ctx, env, rest)
	case "reminders":
		err = runReminders(ctx, env, rest)
	case "reconcile":
		err = runReconcile(ctx, env, rest)
	case "trigger":
		err = runTrigger(ctx, env, rest)
	case "export":
		err = runExport(ctx, env, rest)
	case "report":
		err = runReport(ctx, env, rest)
	case "statements":
		err = runStatements(ctx, env, rest)
	case "experiments":
		err = runExperiments(ctx, env, rest)
	case "config":
		err = runConfig(ctx, env, rest)
	case "keys":
		err = runKeys(ctx, env, rest)
	case "purge":
		err = runPurge(ctx, env, rest)
	case "copy":
		err = runCopy(ctx, env, rest)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "pledge: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	var ce *ConfigError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ce):
		fmt.Fprintf(stderr, "pledge: configuration: %s\n", ce)
		return 2
	case errors.Is(err, errUsage):
		return 2
	default:
		fmt.Fprintf(stderr, "pledge %s: %v\n", cmd, err)
		return 1
	}
}

// errUsage marks an error already explained to the user by the flag package.
var errUsage = errors.New("usage")

// newLogger writes text to a terminal and JSON otherwise (to a log collector).
func newLogger(w io.Writer) *slog.Logger {
	if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		return slog.New(slog.NewTextHandler(w, nil))
	}
	return slog.New(slog.NewJSONHandler(w, nil))
}

// loadConfig reads the environment, then the flags, and validates the result.
func loadConfig(env *Env, name string, args []string, extra func(*flag.FlagSet)) (*Config, *flag.FlagSet, error) {
	cfg := ConfigFromEnv(env.Getenv)
	fs := flag.NewFlagSet("pledge "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	cfg.RegisterFlags(fs)
	if extra != nil {
		extra(fs)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, nil, err
		}
		return nil, nil, errUsage
	}
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	return &cfg, fs, nil
}

// newFlagSet is the flag set of a subcommand that needs no service configuration.
func newFlagSet(env *Env, name string) *flag.FlagSet {
	fs := flag.NewFlagSet("pledge "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	return fs
}

// setUsage makes fs's usage (-h) the command's usage line, then its flags with their defaults.
func setUsage(fs *flag.FlagSet, line string) {
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), line)
		fs.PrintDefaults()
	}
}

// leadingArg splits off a first argument given before the flags (`pledge export donations
// --from ...`), "" when the first is a flag.
func leadingArg(args []string) (string, []string) {
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		return args[0], args[1:]
	}
	return "", args
}

// storeFlags returns the configuration from the environment and the flag set of a command that
// opens the store, with --db over PLEDGE_DB.
func storeFlags(env *Env, name string) (*Config, *flag.FlagSet) {
	cfg := ConfigFromEnv(env.Getenv)
	fs := newFlagSet(env, name)
	fs.StringVar(&cfg.DB, "db", cfg.DB, "SQLite file or postgres:// URL (PLEDGE_DB)")
	return &cfg, fs
}

// usageErrorf returns how a command says in one line what is wrong with its command line:
// "pledge NAME: ", the message and, when hint is not empty, " (hint)" on standard error. The
// error it returns is errUsage, on which Run exits 2.
func usageErrorf(env *Env, name, hint string) func(format string, a ...any) error {
	return func(format string, a ...any) error {
		msg := fmt.Sprintf(format, a...)
		if hint != "" {
			msg += " (" + hint + ")"
		}
		fmt.Fprintf(env.Stderr, "pledge %s: %s\n", name, msg)
		return errUsage
	}
}

// parseFlags parses args into fs. The flag package's own complaint is followed by the whole
// usage: a bad flag is said in one line through usageErr instead; -h prints the usage line and
// the flags (setUsage) and returns flag.ErrHelp.
func parseFlags(env *Env, fs *flag.FlagSet, usage string, args []string, usageErr func(format string, a ...any) error) error {
	setUsage(fs, usage)
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.SetOutput(env.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.Usage()
		return err
	case err != nil:
		return usageErr("%v", err)
	}
	return nil
}
