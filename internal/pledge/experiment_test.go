package pledge

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

func askExperiment() Experiment {
	warm := "Journalism that answers to you"
	return Experiment{
		Name:          "ask-2027",
		HoldbackShare: 0.05,
		Variants: []Variant{
			{Name: "control", Weight: 1},
			{Name: "warm-letter", Weight: 1, Override: Override{Heading: &warm, Ask: map[Frequency]string{Monthly: "Join us from {min} a month"}}},
			{Name: "big-presets", Weight: 2, Override: Override{
				Presets:       map[Currency]map[Frequency][]int64{"usd": {Monthly: {500, 1000, 2500}}},
				DefaultAmount: map[Currency]map[Frequency]int64{"usd": {Monthly: 1000}},
			}},
		},
	}
}

// TestAssignSplitsByWeight is the check: 10,000 simulated readers fall into the arms
// within 2 percentage points of their shares, each reader always gets the same arm, and another
// instance with the same secret splits them the same way.
func TestAssignSplitsByWeight(t *testing.T) {
	e := askExperiment()
	secret := []byte("0123456789abcdef0123456789abcdef")
	a, other := NewAssigner(secret), NewAssigner(append([]byte(nil), secret...))
	const readers = 10000
	counts := map[string]int{}
	for i := range readers {
		id := fmt.Sprintf("v%08x", i*2654435761)
		arm := a.Assign(&e, id)
		counts[arm.Variant]++
		for range 3 {
			if again := a.Assign(&e, id); again != arm {
				t.Fatalf("reader %s: %v then %v", id, arm, again)
			}
		}
		if o := other.Assign(&e, id); o != arm {
			t.Fatalf("reader %s: %v on one instance, %v on another", id, arm, o)
		}
	}
	want := map[string]float64{Holdback: 0.05, "control": 0.95 / 4, "warm-letter": 0.95 / 4, "big-presets": 0.95 / 2}
	for arm, share := range want {
		got := float64(counts[arm]) / readers
		if math.Abs(got-share) > 0.02 {
			t.Errorf("%s: %.3f of readers, want %.3f ± 0.02", arm, got, share)
		}
	}
	if len(counts) != len(want) {
		t.Errorf("arms %v", counts)
	}
}

func TestAssignDependsOnSecretAndExperiment(t *testing.T) {
	e := askExperiment()
	f := askExperiment()
	f.Name = "ask-2028"
	a, b := NewAssigner([]byte("secret one, long enough to sign...")), NewAssigner([]byte("secret two, long enough to sign..."))
	sameKey, sameExp := 0, 0
	for i := range 1000 {
		id := fmt.Sprint("r", i)
		if a.Assign(&e, id) == b.Assign(&e, id) {
			sameKey++
		}
		if a.Assign(&e, id).Variant == a.Assign(&f, id).Variant {
			sameExp++
		}
	}
	// Independent splits agree about as often as chance (0.05² + 2·0.2375² + 0.475² ≈ 0.34).
	for name, n := range map[string]int{"another secret": sameKey, "another experiment": sameExp} {
		if n > 450 {
			t.Errorf("%s: %d of 1000 readers in the same arm, want about 340", name, n)
		}
	}
	if got := a.Assign(&e, ""); !got.None() {
		t.Errorf("no id: %v, want no arm", got)
	}
}

func TestExperimentValidateNamesTheField(t *testing.T) {
	base := DefaultSettings()
	long := strings.Repeat("x", 201)
	for _, tc := range []struct {
		name string
		edit func(e *Experiment)
		want string
	}{
		{"weight", func(e *Experiment) { e.Variants[1].Weight = 0 }, "experiments[0].variants[1].weight: must be positive"},
		{"holdback", func(e *Experiment) { e.HoldbackShare = 5 }, "experiments[0].holdback: a share between 0 and 0.5"},
		{"variant name", func(e *Experiment) { e.Variants[2].Name = "control" }, `experiments[0].variants[2].name: "control" is used twice`},
		{"holdback name", func(e *Experiment) { e.Variants[2].Name = Holdback }, `experiments[0].variants[2].name: "holdback"`},
		{"one variant", func(e *Experiment) { e.Variants = e.Variants[:1]; e.HoldbackShare = 0 }, "experiments[0].variants: at least two, or one with a holdback"},
		{"dates", func(e *Experiment) {
			e.Start = time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)
			e.End = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
		}, "experiments[0].end: must not be before start"},
		{"preset range", func(e *Experiment) { e.Variants[2].Override.Presets["usd"][Monthly] = []int64{100, 500} },
			"experiments[0].variants[2].presets.usd.monthly[0]: must lie between the minimum $2.00 and the maximum $10,000.00"},
		{"preset currency", func(e *Experiment) { e.Variants[2].Override.Presets["jpy"] = map[Frequency][]int64{Once: {500}} },
			"experiments[0].variants[2].presets.jpy: not one of the configured currencies"},
		{"default amount", func(e *Experiment) { e.Variants[2].Override.DefaultAmount["usd"][Monthly] = 2000 },
			"experiments[0].variants[2].default_amount.usd.monthly: must be one of the presets"},
		{"ask frequency", func(e *Experiment) { e.Variants[1].Override.Ask["weekly"] = "x" }, "experiments[0].variants[1].ask.weekly: once, monthly or annual"},
		{"heading length", func(e *Experiment) { e.Variants[1].Override.Heading = &long }, "experiments[0].variants[1].heading: at most 200 characters"},
		{"name", func(e *Experiment) { e.Name = "Ask 2027" }, `experiments[0].name: "Ask 2027"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := askExperiment()
			tc.edit(&e)
			err := ValidateExperiments(base, []Experiment{e})
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	e := askExperiment()
	if err := ValidateExperiments(base, []Experiment{e, e}); err == nil || !strings.HasPrefix(err.Error(), `experiments[1].name: "ask-2027" is also experiments[0]`) {
		t.Errorf("duplicate: %v", err)
	}
	if err := ValidateExperiments(base, []Experiment{askExperiment()}); err != nil {
		t.Errorf("valid experiment: %v", err)
	}
}

func TestOverrideApplyLeavesTheBase(t *testing.T) {
	base := DefaultSettings()
	e := askExperiment()
	got := e.Variants[2].Override.Apply(base)
	if tier := got.Catalogue.Tier("usd", Monthly); fmt.Sprint(tier.Presets) != "[500 1000 2500]" || tier.Default != 1000 || tier.Min != 200 {
		t.Errorf("variant tier %+v", tier)
	}
	if tier := base.Catalogue.Tier("usd", Monthly); fmt.Sprint(tier.Presets) != "[200 500 1000 2000]" || tier.Default != 500 {
		t.Errorf("base changed: %+v", tier)
	}
	warm := e.Variants[1].Override.Apply(base)
	if warm.Heading != "Journalism that answers to you" || warm.Ask[Monthly] != "Join us from {min} a month" || base.Ask != nil {
		t.Errorf("warm %q %v, base ask %v", warm.Heading, warm.Ask, base.Ask)
	}
}

func TestPlanRunningStatusAndPromotion(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2027, 1, d, 0, 0, 0, 0, time.UTC) }
	first, second := askExperiment(), askExperiment()
	first.Start, first.End = day(5), day(20)
	second.Name = "presets"
	p := &Plan{Base: DefaultSettings(), Experiments: []Experiment{first, second}}
	if got := p.Status(&p.Experiments[0], day(4)); got != StatusScheduled {
		t.Errorf("before start: %s", got)
	}
	if got := p.Running(day(4)); got == nil || got.Name != "presets" {
		t.Errorf("before the first starts the second runs: %v", got)
	}
	if got := p.Running(day(10)); got == nil || got.Name != "ask-2027" {
		t.Errorf("the first in the file wins: %v", got)
	}
	if got := p.Running(day(20)); got == nil || got.Name != "presets" || p.Status(&p.Experiments[0], day(20)) != StatusEnded {
		t.Errorf("after the end day: %v", got)
	}
	p.States = map[string]ExperimentState{
		"presets":  {StoppedAt: day(2), Promoted: "big-presets", Override: second.Variants[2].Override},
		"ask-2027": {StoppedAt: day(3)},
	}
	if got := p.Running(day(10)); got != nil {
		t.Errorf("both stopped, yet %s runs", got.Name)
	}
	s, skipped := p.Settings()
	if s.Catalogue.Tier("usd", Monthly).Default != 1000 || len(skipped) != 0 {
		t.Errorf("promotion not applied: %+v %v", s.Catalogue.Tier("usd", Monthly), skipped)
	}
	if p.Status(&p.Experiments[1], day(10)) != StatusPromoted || p.Status(&p.Experiments[0], day(10)) != StatusStopped {
		t.Error("statuses")
	}
}
