package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/pledge-news/pledge/internal/pledge"
)

func TestExperimentStore(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	arm := pledge.Arm{Experiment: "ask-2027", Variant: "warm"}
	co, err := db.CreateCheckout(ctx, &pledge.Checkout{Nonce: "n1", Frequency: pledge.Monthly,
		Amount: pledge.Money{Amount: 500, Currency: "usd"}, Arm: arm})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := db.FindCheckout(ctx, co.ID); err != nil || got.Arm != arm {
		t.Fatalf("checkout arm %v, %v", got, err)
	}
	day := time.Date(2027, 1, 5, 0, 0, 0, 0, time.UTC)
	for range 2 {
		if err := db.AddExperimentStats(ctx, []pledge.ExperimentStat{
			{Day: day, Arm: arm, Views: 10, Click: 2},
			{Day: day.AddDate(0, 0, 1), Arm: arm, Views: 5},
			{Day: day, Arm: pledge.Arm{Experiment: "ask-2027", Variant: pledge.Holdback}, Views: 1},
			{Day: day, Arm: pledge.Arm{Experiment: "other", Variant: "warm"}, Views: 100},
		}); err != nil {
			t.Fatal(err)
		}
	}
	c, err := db.ExperimentCounts(ctx, "ask-2027")
	if err != nil {
		t.Fatal(err)
	}
	if c.Views["warm"] != 30 || c.Clicks["warm"] != 4 || c.Views[pledge.Holdback] != 2 || c.Checkouts["warm"] != 1 || len(c.Gifts) != 0 {
		t.Errorf("counts %+v", c)
	}
	if !c.First.Equal(day) || !c.Last.Equal(day.AddDate(0, 0, 1)) {
		t.Errorf("days %v – %v", c.First, c.Last)
	}

	o := pledge.Override{DefaultFrequency: pledge.Annual}
	if err := db.StopExperiment(ctx, "editor@example.com", "ask-2027", pledge.ExperimentState{Promoted: "warm", Override: o}); err != nil {
		t.Fatal(err)
	}
	err = db.StopExperiment(ctx, "editor@example.com", "ask-2027", pledge.ExperimentState{})
	if pledge.ErrorCode(err) != pledge.ECONFLICT {
		t.Errorf("stopping twice: %v", err)
	}
	states, err := db.ExperimentStates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st := states["ask-2027"]
	if len(states) != 1 || st.Promoted != "warm" || st.StoppedBy != "editor@example.com" || st.Override.DefaultFrequency != pledge.Annual || st.StoppedAt.IsZero() {
		t.Errorf("states %+v", states)
	}
	log, err := db.AuditLog(ctx, 5)
	if err != nil || len(log) != 1 || log[0].Action != "experiment promoted" || log[0].Subject != "experiment ask-2027" {
		t.Errorf("audit %+v %v", log, err)
	}

	e := pledge.Experiment{Name: "ask-2027", HoldbackShare: 0.05, Variants: []pledge.Variant{{Name: "control", Weight: 1}, {Name: "warm", Weight: 1, Override: o}}}
	for range 2 {
		if err := db.RememberExperiments(ctx, []pledge.Experiment{e}); err != nil {
			t.Fatal(err)
		}
	}
	kept, err := db.RememberedExperiments(ctx)
	if err != nil || len(kept) != 1 || kept["ask-2027"].Variants[1].Override.DefaultFrequency != pledge.Annual || kept["ask-2027"].HoldbackShare != 0.05 {
		t.Errorf("remembered %+v %v", kept, err)
	}
	// The secret and other settings are not experiments.
	if _, err := db.Secret(ctx); err != nil {
		t.Fatal(err)
	}
	if states, _ := db.ExperimentStates(ctx); len(states) != 1 {
		t.Errorf("states %v", states)
	}
}
