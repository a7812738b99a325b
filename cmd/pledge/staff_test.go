package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/testkit"
	"github.com/pledge-news/pledge/internal/testkit/storetest"
)

// run runs one pledge command against the database at db.
func run(t *testing.T, db, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := map[string]string{"PLEDGE_DB": db}
	code = Run(context.Background(), args, strings.NewReader(stdin), &out, &errOut, func(k string) string { return env[k] })
	return code, out.String(), errOut.String()
}

func TestStaffCommands(t *testing.T) {
	db := testkit.StoreDSN(t)
	if code, _, stderr := run(t, db, "too short\n", "staff", "add", "ed@news.example"); code == 0 || !strings.Contains(stderr, "at least 12 characters") {
		t.Fatalf("short password: exit %d, %q", code, stderr)
	}
	if code, _, stderr := run(t, db, "a long enough passphrase\n", "staff", "add", "ed@news.example", "--role", "boss"); code == 0 || !strings.Contains(stderr, "admin or viewer") {
		t.Fatalf("bad role: exit %d, %q", code, stderr)
	}
	if code, out, stderr := run(t, db, "a long enough passphrase\nsecond line\n", "staff", "add", "ed@news.example", "--role", "viewer"); code != 0 || !strings.Contains(out, "ed@news.example (viewer)") {
		t.Fatalf("add: exit %d, %q %q", code, out, stderr)
	}
	if code, _, _ := run(t, db, "a long enough passphrase\n", "staff", "add", "ED@news.example"); code == 0 {
		t.Fatal("the same address (in another case) was added twice")
	}
	code, out, _ := run(t, db, "", "staff", "list")
	if code != 0 || !strings.Contains(out, "ed@news.example") || !strings.Contains(out, "viewer") || !strings.Contains(out, "active") {
		t.Fatalf("list: exit %d, %q", code, out)
	}
	if strings.Contains(out, "argon2") || strings.Contains(out, "passphrase") {
		t.Fatal("list shows the password or its hash")
	}
	// The password is the first line only, and it works.
	store := storetest.OpenAt(t, db, nil)
	if _, err := store.SignIn().Login(context.Background(), "ed@news.example", "a long enough passphrase", "127.0.0.1", ""); err != nil {
		t.Fatalf("login with the added password: %v", err)
	}
	if code, _, _ := run(t, db, "", "staff", "disable", "ed@news.example"); code != 0 {
		t.Fatal("disable failed")
	}
	if _, err := store.SignIn().Login(context.Background(), "ed@news.example", "a long enough passphrase", "127.0.0.2", ""); pledge.ErrorCode(err) != pledge.EUNAUTHORIZED {
		t.Fatalf("a disabled account signed in: %v", err)
	}
	if _, out, _ := run(t, db, "", "staff", "list"); !strings.Contains(out, "disabled") {
		t.Fatalf("list after disable: %q", out)
	}
}

func TestSeedAndErase(t *testing.T) {
	db := testkit.StoreDSN(t)
	code, out, stderr := run(t, db, "", "seed", "--donations", "500", "--seed", "1")
	if code != 0 || !strings.Contains(out, "seeded 500 donations") || !strings.Contains(stderr, "500/500") {
		t.Fatalf("seed: exit %d, %q, progress %q", code, out, stderr)
	}
	store := storetest.OpenAt(t, db, nil)
	var donations int
	if err := store.Reader().QueryRow(`SELECT count(*) FROM donations`).Scan(&donations); err != nil || donations != 500 {
		t.Fatalf("%d donations seeded (%v), want 500", donations, err)
	}
	list, err := store.ListSupporters(context.Background(), pledge.SupporterFilter{Limit: 1})
	if err != nil || len(list) == 0 {
		t.Fatal("no supporter", err)
	}
	email := list[0].Email
	code, out, _ = run(t, db, "", "erase", email)
	if code != 0 || !strings.Contains(out, "erased 1 supporter") || strings.Contains(out, email) {
		t.Fatalf("erase: exit %d, %q", code, out)
	}
	var n int
	store.Reader().QueryRow(`SELECT count(*) FROM supporters WHERE email = ?`, email).Scan(&n)
	if n != 0 {
		t.Fatal("the address is still there")
	}
}
