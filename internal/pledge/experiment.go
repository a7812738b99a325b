package pledge

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"time"
)

// Holdback is the arm of an experiment's readers who see no prompt at all: measured against the
// others it is the ask's total effect.
const Holdback = "holdback"

// Experiment tests variants of the prompt on readers split at random (but the same way every
// time for one reader) by weight, with an optional holdback share that sees nothing.
type Experiment struct {
	Name string
	// Start and End bound the UTC days it runs: Start is the first day's start, End the start of
	// the day after the last. Zero: open on that side (it runs until stopped).
	Start, End time.Time
	// HoldbackShare is the share of readers who see no prompt (0 to 0.5).
	HoldbackShare float64
	// Variants: the first is the control the others are compared with.
	Variants []Variant
}

// Variant is one version of the prompt: the newsroom's settings with Override applied.
type Variant struct {
	Name     string
	Weight   float64
	Override Override
}

// Override changes some prompt settings for a variant; nil and empty fields keep the default.
// Each field maps onto a Settings field. Amounts are minor units. Min and max are never
// overridden, so what POST /donate accepts is the same in every variant.
type Override struct {
	Heading *string `json:"heading,omitempty"`
	Message *string `json:"message,omitempty"` // the letter
	Signoff *string `json:"signoff,omitempty"`
	// Ask is the ask line per frequency ({min}, {default}); Highlight the preset marked
	// "Most chosen" per frequency, in major units as Settings.Highlight.
	Ask       map[Frequency]string `json:"ask,omitempty"`
	Highlight map[Frequency]string `json:"highlight,omitempty"`
	// Presets replace a tier's buttons; DefaultAmount its preselected amount.
	Presets          map[Currency]map[Frequency][]int64 `json:"presets,omitempty"`
	DefaultAmount    map[Currency]map[Frequency]int64   `json:"default_amount,omitempty"`
	DefaultFrequency Frequency                          `json:"default_frequency,omitempty"`
}

// Apply returns s with the override's changes, leaving s itself (and its maps) untouched.
func (o Override) Apply(s Settings) Settings {
	if o.Heading != nil {
		s.Heading = *o.Heading
	}
	if o.Message != nil {
		s.Message = *o.Message
	}
	if o.Signoff != nil {
		s.Signoff = *o.Signoff
	}
	if len(o.Ask) > 0 {
		s.Ask = maps.Clone(s.Ask)
		if s.Ask == nil {
			s.Ask = map[Frequency]string{}
		}
		maps.Copy(s.Ask, o.Ask)
	}
	if len(o.Highlight) > 0 {
		s.Highlight = maps.Clone(s.Highlight)
		if s.Highlight == nil {
			s.Highlight = map[Frequency]string{}
		}
		maps.Copy(s.Highlight, o.Highlight)
	}
	if o.DefaultFrequency != "" {
		s.DefaultFrequency = o.DefaultFrequency
	}
	if len(o.Presets) > 0 || len(o.DefaultAmount) > 0 {
		tiers := make(map[Currency]map[Frequency]Tier, len(s.Catalogue.Tiers))
		for cur, byF := range s.Catalogue.Tiers {
			tiers[cur] = maps.Clone(byF)
		}
		for cur, byF := range o.Presets {
			for f, p := range byF {
				if t, ok := tiers[cur][f]; ok {
					t.Presets = slices.Clone(p)
					if !slices.Contains(t.Presets, t.Default) {
						// The old default is gone: the middle button, as a newsroom would pick.
						t.Default = t.Presets[len(t.Presets)/2]
					}
					tiers[cur][f] = t
				}
			}
		}
		for cur, byF := range o.DefaultAmount {
			for f, a := range byF {
				if t, ok := tiers[cur][f]; ok {
					t.Default = a
					tiers[cur][f] = t
				}
			}
		}
		s.Catalogue.Tiers = tiers
	}
	return s
}

var experimentNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// Control is the variant the others are compared with: the first.
func (e *Experiment) Control() string { return e.Variants[0].Name }

// Variant returns the variant named name.
func (e *Experiment) Variant(name string) (Variant, bool) {
	for _, v := range e.Variants {
		if v.Name == name {
			return v, true
		}
	}
	return Variant{}, false
}

// Arms lists the variants' names, then the holdback's when it has a share.
func (e *Experiment) Arms() []string {
	out := make([]string, 0, len(e.Variants)+1)
	for _, v := range e.Variants {
		out = append(out, v.Name)
	}
	if e.HoldbackShare > 0 {
		out = append(out, Holdback)
	}
	return out
}

// Validate checks one experiment against the newsroom's settings; errors name the field the way
// the configuration file spells it, below the experiment ("variants[1].weight: must be positive").
func (e *Experiment) Validate(base Settings) error {
	switch {
	case !experimentNameRE.MatchString(e.Name):
		return fmt.Errorf("name: %q: lower-case letters, digits, '.', '_' and '-', at most 64", e.Name)
	case !e.Start.IsZero() && !e.End.IsZero() && !e.End.After(e.Start):
		return fmt.Errorf("end: must not be before start")
	case e.HoldbackShare < 0 || e.HoldbackShare > 0.5:
		return fmt.Errorf("holdback: a share between 0 and 0.5 (0.05 is 5%% of readers)")
	case len(e.Variants) == 0:
		return fmt.Errorf("variants: at least one is required")
	case len(e.Variants) == 1 && e.HoldbackShare == 0:
		return fmt.Errorf("variants: at least two, or one with a holdback")
	case len(e.Variants) > 10:
		return fmt.Errorf("variants: at most 10")
	}
	seen := map[string]bool{}
	for i, v := range e.Variants {
		if err := v.validate(base); err != nil {
			return fmt.Errorf("variants[%d].%w", i, err)
		}
		if seen[v.Name] {
			return fmt.Errorf("variants[%d].name: %q is used twice", i, v.Name)
		}
		seen[v.Name] = true
	}
	return nil
}

func (v Variant) validate(base Settings) error {
	switch {
	case v.Name == Holdback:
		return fmt.Errorf("name: %q is the name of the arm that sees no prompt", Holdback)
	case !experimentNameRE.MatchString(v.Name):
		return fmt.Errorf("name: %q: lower-case letters, digits, '.', '_' and '-', at most 64", v.Name)
	case !(v.Weight > 0) || v.Weight > 1e6:
		return fmt.Errorf("weight: must be positive")
	}
	return v.Override.validate(base)
}

// validate checks an override against the settings it changes. Min and max stay the base's, so
// every preset must lie within them.
func (o Override) validate(base Settings) error {
	for _, f := range sortedKeys(o.Ask) {
		if _, err := ParseFrequency(string(f)); err != nil {
			return fmt.Errorf("ask.%s: once, monthly or annual", f)
		}
	}
	for _, f := range sortedKeys(o.Highlight) {
		if _, err := ParseFrequency(string(f)); err != nil {
			return fmt.Errorf("highlight.%s: once, monthly or annual", f)
		}
	}
	if o.DefaultFrequency != "" {
		if _, err := ParseFrequency(string(o.DefaultFrequency)); err != nil {
			return fmt.Errorf("default_frequency: once, monthly or annual")
		}
	}
	err := eachTier(base, "presets", o.Presets, func(cur Currency, f Frequency, p []int64) error {
		t := base.Catalogue.Tier(cur, f)
		switch {
		case len(p) == 0:
			return fmt.Errorf("presets.%s.%s: at least one amount is required", cur, f)
		case len(p) > 6:
			return fmt.Errorf("presets.%s.%s: at most six amounts fit the prompt", cur, f)
		}
		for i, a := range p {
			if a < t.Min || a > t.Max {
				return fmt.Errorf("presets.%s.%s[%d]: must lie between the minimum %s and the maximum %s",
					cur, f, i, Money{t.Min, cur}.Grouped(), Money{t.Max, cur}.Grouped())
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	applied := o.Apply(base)
	err = eachTier(base, "default_amount", o.DefaultAmount, func(cur Currency, f Frequency, a int64) error {
		if t := applied.Catalogue.Tier(cur, f); !slices.Contains(t.Presets, a) {
			return fmt.Errorf("default_amount.%s.%s: must be one of the presets", cur, f)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// What the override leaves must still be valid settings (lengths of the words and so on).
	if err := applied.Validate(); err != nil {
		return err
	}
	return nil
}

// eachTier calls fn on every tier of m, in order, once it has checked that the currency is one of
// base's and the frequency is one; field names m in the errors.
func eachTier[V any](base Settings, field string, m map[Currency]map[Frequency]V, fn func(Currency, Frequency, V) error) error {
	for _, cur := range sortedKeys(m) {
		if !base.Catalogue.Offers(cur) {
			return fmt.Errorf("%s.%s: not one of the configured currencies", field, cur)
		}
		for _, f := range sortedKeys(m[cur]) {
			if _, err := ParseFrequency(string(f)); err != nil {
				return fmt.Errorf("%s.%s.%s: once, monthly or annual", field, cur, f)
			}
			if err := fn(cur, f, m[cur][f]); err != nil {
				return err
			}
		}
	}
	return nil
}

func sortedKeys[K ~string, V any](m map[K]V) []K {
	ks := slices.Collect(maps.Keys(m))
	slices.Sort(ks)
	return ks
}

// ValidateExperiments checks every experiment and that names are unique; errors name the field
// from the file's top ("experiments[0].variants[1].weight: must be positive").
func ValidateExperiments(base Settings, es []Experiment) error {
	seen := map[string]int{}
	for i := range es {
		if err := es[i].Validate(base); err != nil {
			return fmt.Errorf("experiments[%d].%w", i, err)
		}
		if j, ok := seen[es[i].Name]; ok {
			return fmt.Errorf("experiments[%d].name: %q is also experiments[%d]", i, es[i].Name, j)
		}
		seen[es[i].Name] = i
	}
	return nil
}

// ExperimentState is what staff decided about an experiment: stopped (and when, by whom), and the
// variant promoted to the default, if any, with a copy of its override so the promotion outlives
// the experiment's removal from the configuration.
type ExperimentState struct {
	StoppedAt time.Time `json:"stopped_at"`
	StoppedBy string    `json:"stopped_by"`
	Promoted  string    `json:"promoted,omitempty"`
	Override  Override  `json:"override,omitzero"`
}

// Plan is the experiments in force: the newsroom's settings, the configured experiments and
// what staff decided. A Plan is never changed once built; a reload builds a new one.
type Plan struct {
	Base        Settings
	Experiments []Experiment
	States      map[string]ExperimentState
}

// Status of an experiment at a time.
const (
	StatusScheduled = "scheduled"
	StatusRunning   = "running"
	StatusEnded     = "ended"
	StatusStopped   = "stopped"
	StatusPromoted  = "promoted"
)

// Status says where experiment e stands at now.
func (p *Plan) Status(e *Experiment, now time.Time) string {
	if st, ok := p.States[e.Name]; ok {
		if st.Promoted != "" {
			return StatusPromoted
		}
		return StatusStopped
	}
	switch {
	case !e.Start.IsZero() && now.Before(e.Start):
		return StatusScheduled
	case !e.End.IsZero() && !now.Before(e.End):
		return StatusEnded
	}
	return StatusRunning
}

// Running returns the experiment readers are in at now: the first in the file that is within its
// days and not stopped. One at a time: a later one starts when the earlier ends or is stopped.
// Nil when none runs.
func (p *Plan) Running(now time.Time) *Experiment {
	if p == nil {
		return nil
	}
	for i := range p.Experiments {
		if p.Status(&p.Experiments[i], now) == StatusRunning {
			return &p.Experiments[i]
		}
	}
	return nil
}

// Find returns the configured experiment named name.
func (p *Plan) Find(name string) (*Experiment, bool) {
	for i := range p.Experiments {
		if p.Experiments[i].Name == name {
			return &p.Experiments[i], true
		}
	}
	return nil, false
}

// Settings are the default prompt settings: the newsroom's, with every promoted variant applied
// in the order staff promoted them. A promotion that no longer fits the settings (the catalogue
// changed under it) is skipped and returned in skipped, to be logged.
func (p *Plan) Settings() (s Settings, skipped []string) {
	s = p.Base
	names := make([]string, 0, len(p.States))
	for name, st := range p.States {
		if st.Promoted != "" {
			names = append(names, name)
		}
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := p.States[names[i]], p.States[names[j]]
		if !a.StoppedAt.Equal(b.StoppedAt) {
			return a.StoppedAt.Before(b.StoppedAt)
		}
		return names[i] < names[j]
	})
	for _, name := range names {
		o := p.States[name].Override
		if err := o.validate(s); err != nil {
			skipped = append(skipped, name)
			continue
		}
		s = o.Apply(s)
	}
	return s, skipped
}

// VariantSettings are the prompt settings of one arm of e: the defaults with the variant's
// override. The holdback sees no prompt; asked for it, VariantSettings returns the defaults.
func (p *Plan) VariantSettings(e *Experiment, variant string) Settings {
	s, _ := p.Settings()
	if v, ok := e.Variant(variant); ok {
		s = v.Override.Apply(s)
	}
	return s
}

// Arm is the arm of an experiment a reader is in (Variant is Holdback for the holdback). The
// zero Arm is no experiment.
type Arm struct {
	Experiment string
	Variant    string
}

// None reports whether the reader is in no experiment.
func (a Arm) None() bool { return a.Experiment == "" }

// Held reports whether the reader is in the holdback, who sees no prompt.
func (a Arm) Held() bool { return a.Experiment != "" && a.Variant == Holdback }

// ExperimentStat counts prompt views and Continue clicks in one arm on one UTC day. The
// holdback's views are the prompts it was not shown.
type ExperimentStat struct {
	Day   time.Time
	Arm   Arm
	Views int64
	Click int64
}

// ExperimentGift is one paid gift through a checkout in an arm: its first payment (what the
// reader chose, after discounts), and what every payment through that checkout has brought so far.
type ExperimentGift struct {
	Checkout  string
	Variant   string
	Frequency Frequency
	Currency  Currency
	First     int64 // the first payment's amount, minor units
	Total     int64 // all payments so far (renewals too), before refunds, minor units
	Payments  int
}

// ExperimentCounts is what the store holds about one experiment's arms.
type ExperimentCounts struct {
	Views     map[string]int64 // by variant (and Holdback)
	Clicks    map[string]int64
	Checkouts map[string]int64
	Gifts     []ExperimentGift
	// First and Last are the first and last days with a view, zero without any.
	First, Last time.Time
}

// ExperimentService stores what experiments need: their counts, staff's decisions and a copy of
// each definition seen, so that results outlive the configuration.
type ExperimentService interface {
	// AddExperimentStats adds views and clicks per arm and day (one write per flush).
	AddExperimentStats(ctx context.Context, stats []ExperimentStat) error
	// ExperimentCounts returns an experiment's counts by arm.
	ExperimentCounts(ctx context.Context, name string) (*ExperimentCounts, error)
	// ExperimentStates returns staff's decisions by experiment name.
	ExperimentStates(ctx context.Context) (map[string]ExperimentState, error)
	// StopExperiment records that actor stopped the experiment, promoting the variant named in
	// st (if any), and audits it, in one transaction. Stopping a stopped experiment is ECONFLICT.
	StopExperiment(ctx context.Context, actor, name string, st ExperimentState) error
	// RememberExperiments keeps a copy of each definition (the latest wins).
	RememberExperiments(ctx context.Context, es []Experiment) error
	// RememberedExperiments returns the kept definitions, by name.
	RememberedExperiments(ctx context.Context) (map[string]Experiment, error)
}
