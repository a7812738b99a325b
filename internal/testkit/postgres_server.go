package testkit

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// PostgresServer is a private PostgreSQL server for one test: its own data directory and port, so
// the test can stop and restart it (a database restart under load) without touching the
// machine's shared server or the other tests using it.
type PostgresServer struct {
	t    testing.TB
	bin  string // the directory of initdb, pg_ctl and postgres
	dir  string // the cluster's data directory
	port int
	// runAs is the system user the server runs as: PostgreSQL refuses to run as root, so a test
	// running as root runs it as "postgres".
	runAs string
	// URL reaches the server's "postgres" database as its superuser, without TLS.
	URL string
}

// postgresBinDir finds PostgreSQL's server programs (Debian keeps them per version).
func postgresBinDir() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "pg_ctl")); err == nil {
			return dirs[i], nil
		}
	}
	return "", fmt.Errorf("PostgreSQL's server programs (initdb, pg_ctl) are not installed: on Debian, `apt-get install postgresql` (as on this project's machines)")
}

// StartPostgres initialises a new cluster in a directory of the test's and starts it on a free
// loopback port. The server is stopped and its directory removed when the test ends.
func StartPostgres(t testing.TB) *PostgresServer {
	t.Helper()
	bin, err := postgresBinDir()
	if err != nil {
		t.Fatal(err)
	}
	p := &PostgresServer{t: t, bin: bin, port: FreePort(t)}
	owner := -1
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, PostgreSQL needs a postgres user to run as: %v", err)
		}
		p.runAs = "postgres"
		owner, _ = strconv.Atoi(u.Uid)
	}
	base, err := os.MkdirTemp("", "pledge-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	p.dir = filepath.Join(base, "data")
	if owner >= 0 {
		if err := os.Chown(base, owner, -1); err != nil {
			t.Fatal(err)
		}
	}
	p.run("initdb", "-D", p.dir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
	p.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
	p.Start()
	t.Cleanup(func() { p.pgctl("stop", "-m", "immediate") })
	return p
}

// Start starts the server and waits until it accepts connections.
func (p *PostgresServer) Start() {
	p.t.Helper()
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c max_connections=300 -c fsync=on", p.port, filepath.Dir(p.dir))
	if out, err := p.pgctl("start", "-w", "-t", "60", "-l", filepath.Join(filepath.Dir(p.dir), "server.log"), "-o", opts); err != nil {
		log, _ := os.ReadFile(filepath.Join(filepath.Dir(p.dir), "server.log"))
		p.t.Fatalf("starting PostgreSQL: %v\n%s\n%s", err, out, log)
	}
}

// Stop stops the server at once, as a crash or an operator's restart does: open connections
// are cut, committed transactions stay.
func (p *PostgresServer) Stop() {
	p.t.Helper()
	if out, err := p.pgctl("stop", "-w", "-m", "fast"); err != nil {
		p.t.Fatalf("stopping PostgreSQL: %v\n%s", err, out)
	}
}

// Restart stops the server and starts it again after down: for that long, every connection
// attempt is refused.
func (p *PostgresServer) Restart(down time.Duration) {
	p.t.Helper()
	p.Stop()
	time.Sleep(down) // the outage being simulated, not a wait for a condition
	p.Start()
}

func (p *PostgresServer) pgctl(args ...string) (string, error) {
	args = append([]string{"-D", p.dir}, args...)
	return p.command("pg_ctl", args...)
}

func (p *PostgresServer) run(prog string, args ...string) {
	p.t.Helper()
	if out, err := p.command(prog, args...); err != nil {
		p.t.Fatalf("%s: %v\n%s", prog, err, out)
	}
}

func (p *PostgresServer) command(prog string, args ...string) (string, error) {
	path := filepath.Join(p.bin, prog)
	var cmd *exec.Cmd
	if p.runAs != "" {
		cmd = exec.Command("runuser", append([]string{"-u", p.runAs, "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}
