package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pledge-news/pledge/internal/billing"
	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/seal"
	"github.com/pledge-news/pledge/internal/testkit"
)

func runCmd(t *testing.T, getenv func(string) string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(context.Background(), args, strings.NewReader(""), &out, &errb, getenv)
	return out.String(), errb.String(), code
}

// TestKeysNewAndRotate (issue 13, item 2): keys new writes a 0600 key file and refuses to
// overwrite one; every command seals with it (no address in the database file); keys rotate
// re-seals everything under a new key, and resumes a rotation left half done; the exports are
// the same throughout.
func TestKeysNewAndRotate(t *testing.T) {
	keyFile, dbPath := filepath.Join(testkit.PrivateDir(t), "data.key"), testkit.StoreDSN(t)
	getenv := env("PLEDGE_DB", dbPath, "PLEDGE_DATA_KEY_FILE", keyFile)
	if _, errs, code := runCmd(t, getenv, "keys", "new", keyFile); code != 0 {
		t.Fatalf("keys new: %d %s", code, errs)
	}
	if info, err := os.Stat(keyFile); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", info, err)
	}
	if _, _, code := runCmd(t, getenv, "keys", "new", keyFile); code == 0 {
		t.Fatal("keys new overwrote a key file")
	}
	first, err := seal.ReadKeys(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if _, errs, code := runCmd(t, getenv, "seed", "--donations", "300", "--seed", "7"); code != 0 {
		t.Fatalf("seed: %d %s", code, errs)
	}
	export := func() string {
		out, errs, code := runCmd(t, getenv, "export", "supporters")
		if code != 0 {
			t.Fatalf("export: %d %s", code, errs)
		}
		return out
	}
	raw := func() []byte { // on PostgreSQL: every row of every table
		var all []byte
		for _, b := range storeContents(t, dbPath) {
			all = append(all, b...)
		}
		return all
	}
	before := export()
	if !strings.Contains(before, "@example.com") {
		t.Fatalf("the export shows no address:\n%.300s", before)
	}
	if bytes.Contains(raw(), []byte("@example.com")) {
		t.Fatal("an address is in the database's files in plain text")
	}
	if !bytes.Contains(raw(), []byte("enc:"+first[0].ID+":")) {
		t.Fatal("no value sealed under the key")
	}

	out, errs, code := runCmd(t, getenv, "keys", "rotate", "--batch", "50")
	if code != 0 {
		t.Fatalf("keys rotate: %d %s", code, errs)
	}
	second, err := seal.ReadKeys(keyFile)
	if err != nil || len(second) != 1 || second[0].ID == first[0].ID {
		t.Fatalf("after rotation the key file holds %v (%v); want one new key", second, err)
	}
	if _, err := os.Stat(keyFile + ".retired-" + first[0].ID); err != nil {
		t.Fatalf("the retired key was not kept: %v\n%s", err, out)
	}
	if bytes.Contains(raw(), []byte("enc:"+first[0].ID+":")) || bytes.Contains(raw(), []byte("h:"+first[0].ID+":")) {
		t.Fatal("values or address keys under the old key remain")
	}
	if got := export(); got != before {
		t.Fatal("the export changed with the rotation")
	}

	// A rotation interrupted after its key file was written: the new key first, the old one
	// after it, the rows still under the old one. Running it again finishes it.
	next, _ := seal.NewKey()
	if err := seal.WriteKeys(keyFile, next, second[0]); err != nil {
		t.Fatal(err)
	}
	if _, errs, code := runCmd(t, getenv, "keys", "rotate"); code != 0 || !strings.Contains(errs, "resuming") {
		t.Fatalf("resumed rotation: %d %s", code, errs)
	}
	if third, _ := seal.ReadKeys(keyFile); len(third) != 1 || third[0].ID != next.ID {
		t.Fatalf("after the resumed rotation the key file holds %v", third)
	}
	if bytes.Contains(raw(), []byte("enc:"+second[0].ID+":")) {
		t.Fatal("values under the second key remain")
	}
	if got := export(); got != before {
		t.Fatal("the export changed with the resumed rotation")
	}
	// Without the key the database is refused.
	if _, errs, code := runCmd(t, env("PLEDGE_DB", dbPath, "PLEDGE_DATA_KEY_FILE", "none"), "export", "supporters"); code == 0 ||
		!strings.Contains(errs, "PLEDGE_DATA_KEY_FILE") {
		t.Fatalf("export without the key: %d %s", code, errs)
	}
}

// TestSealedOnARunningServer (issue 13, item 2): a real `pledge serve` with a data key records
// readers' gifts (address and name, through Stripe's events) and a reminder request; while it
// runs, the database file, its write-ahead log and its shared-memory file hold neither address
// nor name, and the export, the supporter's page data and a look-up by address show them.
func TestSealedOnARunningServer(t *testing.T) {
	key := filepath.Join(t.TempDir(), "data.key")
	if _, err := seal.CreateKeyFile(key); err != nil {
		t.Fatal(err)
	}
	s := startService(t, map[string]string{"PLEDGE_DATA_KEY_FILE": key})
	ctx := context.Background()
	const email, name = "Sealed.Giver@Example.org", "Gisela Sealgiver"
	for i := 0; i < 3; i++ {
		c := s.checkout(t, pledge.Once, 700)
		if err := s.post(t, "checkout.session.completed", billing.EventParams{Checkout: c, Email: email, Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.db.Defer(ctx, &pledge.Deferral{ReaderID: "rd_sealed", Choice: pledge.ChoiceMonth, Email: "Remind.Me@Example.net"}); err != nil {
		t.Fatal(err)
	}
	for part, b := range storeContents(t, s.env["PLEDGE_DB"]) { // on PostgreSQL: every row of every table
		for _, needle := range []string{email, name, "Sealgiver", "remind.me@"} {
			if bytes.Contains(bytes.ToLower(b), []byte(strings.ToLower(needle))) {
				t.Errorf("%q is in %s", needle, part)
			}
		}
	}
	rows := s.donations(t)
	if len(rows) != 3 || rows[0][1] != email {
		t.Fatalf("export: %v", rows)
	}
	list, err := s.db.ListSupporters(ctx, pledge.SupporterFilter{Query: strings.ToUpper(email)})
	if err != nil || len(list) != 1 || list[0].Name != name || list[0].Email != email {
		t.Fatalf("look-up by address: %+v %v", list, err)
	}
}
