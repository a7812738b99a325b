package sqlite

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/pledge-news/pledge/internal/pledge"
)

// TestLoginLockoutPerAccountAndAddress (issue 13, finding d): five wrong passwords for one
// account from one address lock that pair only. They must not lock every account from that
// address (a colleague behind the same office NAT), nor that account from everywhere (anyone
// could otherwise lock an editor out by typing their address). Spraying many accounts from one
// address meets a higher per-address limit.
func TestLoginLockoutPerAccountAndAddress(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	const pw = "correct horse battery"
	for _, e := range []string{"admin@news.example", "viewer@news.example"} {
		if _, err := db.CreateStaff(ctx, e, pw, pledge.RoleAdmin); err != nil {
			t.Fatal(err)
		}
	}
	login := func(email, password, ip string) error {
		_, err := db.Login(ctx, email, password, ip, "")
		return err
	}
	for i := 0; i < pledge.LoginLimit; i++ {
		if err := login("admin@news.example", "wrong password!", "192.0.2.1"); pledge.ErrorCode(err) != pledge.EUNAUTHORIZED {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	if err := login("admin@news.example", pw, "192.0.2.1"); pledge.ErrorCode(err) != pledge.ERATELIMIT {
		t.Errorf("the locked pair signed in: %v, want ERATELIMIT", err)
	}
	if err := login("viewer@news.example", pw, "192.0.2.1"); err != nil {
		t.Errorf("another account from the same address is locked out: %v", err)
	}
	if err := login("admin@news.example", pw, "198.51.100.7"); err != nil {
		t.Errorf("the account is locked out from everywhere: %v", err)
	}

	// Spraying: one wrong password each for many accounts from one address.
	const sprayer = "203.0.113.9"
	for i := 0; i < pledge.LoginIPLimit; i++ {
		if err := login(fmt.Sprintf("guess%d@news.example", i), "wrong password!", sprayer); pledge.ErrorCode(err) != pledge.EUNAUTHORIZED {
			t.Fatalf("spray %d: %v", i+1, err)
		}
	}
	if err := login("viewer@news.example", pw, sprayer); pledge.ErrorCode(err) != pledge.ERATELIMIT {
		t.Errorf("after %d failures from one address over many accounts: %v, want ERATELIMIT", pledge.LoginIPLimit, err)
	}
	if pledge.LoginIPLimit <= pledge.LoginLimit {
		t.Errorf("the per-address limit (%d) must be higher than the per-pair one (%d)", pledge.LoginIPLimit, pledge.LoginLimit)
	}
}

// TestDummyHashCostsWhatARealHashCosts: the hash an unknown address is checked against costs
// what a real account's hash costs (its argon2 parameters are HashPassword's), matches no
// password, and with the real cost is the hash Login has always used.
func TestDummyHashCostsWhatARealHashCosts(t *testing.T) {
	realCost := pledge.Argon2Cost{Time: 3, MemoryKiB: 64 * 1024, Threads: 2}
	if got, want := dummyHash(realCost), "$argon2id$v=19$m=65536,t=3,p=2$c2FsdHNhbHRzYWx0c2FsdA$Z6mB0bsk8pyF0W2S2Nr0Ds2Kq4mJ1Y6j8C+3s5f6G7k"; got != want {
		t.Errorf("dummy hash at the real cost = %q, want %q", got, want)
	}
	const pw = "correct horse battery"
	h, err := pledge.HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	dummy := dummyHash(pledge.PasswordCost)
	if got, want := strings.Split(dummy, "$")[3], strings.Split(h, "$")[3]; got != want {
		t.Errorf("dummy hash parameters %q, a real hash's %q", got, want)
	}
	if pledge.CheckPassword(dummy, pw) {
		t.Error("the dummy hash matches a password")
	}
}
