package sqlite_test

import (
	"context"
	"github.com/pledge-news/pledge/internal/testkit"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/testkit/storetest"
)

// TestOnePendingReminderPerAddress (issue 13, finding c): "Remind me later" must not let anyone
// have the newsroom e-mail an address again and again. Whoever asks (any reader id, the address
// in any case), an address has at most one pending reminder: a new request replaces the old one,
// whose deferral stays (the prompt stays quiet for that reader) without an address.
func TestOnePendingReminderPerAddress(t *testing.T) {
	ctx := context.Background()
	clk := testkit.NewClock(t0)
	db := storetest.Open(t, clk)
	var last *pledge.Deferral
	for i, reader := range []string{"rd_1", "rd_2", "rd_3", "rd_4", "rd_5", "rd_6"} {
		email := "target@example.org"
		if i%2 == 1 {
			email = "Target@Example.org"
		}
		d, err := db.Defer(ctx, &pledge.Deferral{ReaderID: reader, Choice: pledge.ChoiceWeek, Email: email})
		if err != nil {
			t.Fatal(err)
		}
		last = d
		clk.Add(time.Minute)
	}
	var pending int
	if err := db.Reader().QueryRow(`SELECT count(*) FROM deferrals WHERE lower(email) = 'target@example.org'`).Scan(&pending); err != nil {
		t.Fatal(err)
	}
	if pending != 1 {
		t.Fatalf("%d deferrals hold the address, want 1 (the latest request)", pending)
	}
	first, err := db.FindDeferral(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if first.Email != "" || first.Status != pledge.ReminderNone || first.ReaderID != "rd_1" {
		t.Errorf("the replaced request: %+v, want its deferral kept without an address", first)
	}
	clk.Add(8 * 24 * time.Hour)
	due, err := db.ClaimDueReminders(ctx, "tok", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 1 || due[0].DeferralID != last.ID {
		t.Fatalf("claimed %d reminders (%+v), want one: the latest request's", len(due), due)
	}
	// Once that one has served, the address may ask again (one pending at a time, not one ever).
	if err := db.MarkReminderSent(ctx, due[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Defer(ctx, &pledge.Deferral{ReaderID: "rd_7", Choice: pledge.ChoiceWeek, Email: "target@example.org"}); err != nil {
		t.Fatal(err)
	}
}
