package sqlite

import (
	"context"
	"fmt"
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
		_, err := db.SignIn().Login(ctx, email, password, ip, "")
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
