package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/pledge-news/pledge/internal/pledge"
	"github.com/pledge-news/pledge/internal/postgres"
)

// configShown is what `pledge config show` prints: the environment (secrets hidden), the prompt
// settings in force (PLEDGE_CONFIG with promoted variants applied) and the experiments with
// staff's decisions. The settings and experiments are in PLEDGE_CONFIG's own spelling.
type configShown struct {
	Environment yaml.Node        `yaml:"environment"`
	Settings    settingsShown    `yaml:"settings"`
	Promoted    []string         `yaml:"promoted,omitempty"`
	Experiments []experimentShow `yaml:"experiments,omitempty"`
}

type settingsShown struct {
	Organisation     string                          `yaml:"organisation"`
	Heading          string                          `yaml:"heading,omitempty"`
	Message          string                          `yaml:"message,omitempty"`
	Signoff          string                          `yaml:"signoff,omitempty"`
	Ask              map[string]string               `yaml:"ask,omitempty"`
	Highlight        map[string]string               `yaml:"highlight,omitempty"`
	DefaultCurrency  string                          `yaml:"default_currency"`
	DefaultFrequency string                          `yaml:"default_frequency"`
	CoverFees        coverFeesShown                  `yaml:"cover_fees"`
	Currencies       map[string]map[string]tierShown `yaml:"currencies"`
}

type coverFeesShown struct {
	Enabled bool              `yaml:"enabled"`
	Percent string            `yaml:"percent"`
	Fixed   map[string]string `yaml:"fixed,omitempty"`
}

type tierShown struct {
	Presets []string `yaml:"presets,flow"`
	Default string   `yaml:"default"`
	Min     string   `yaml:"min"`
	Max     string   `yaml:"max"`
}

type experimentShow struct {
	Name      string        `yaml:"name"`
	Status    string        `yaml:"status"`
	Start     string        `yaml:"start,omitempty"`
	End       string        `yaml:"end,omitempty"`
	Holdback  float64       `yaml:"holdback,omitempty"`
	StoppedAt string        `yaml:"stopped_at,omitempty"`
	StoppedBy string        `yaml:"stopped_by,omitempty"`
	Promoted  string        `yaml:"promoted,omitempty"`
	Variants  []variantFile `yaml:"variants"`
}

// secretVars are shown as set or unset, never their value.
var secretVars = []string{"PLEDGE_SECRET", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "PLEDGE_SMTP_URL"}

// runConfig is `pledge config show`.
func runConfig(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || args[0] != "show" {
		fmt.Fprintln(env.Stderr, "usage: pledge config show [flags of serve]")
		return errUsage
	}
	cfg, _, err := loadConfig(env, "config show", args[1:], nil)
	if err != nil {
		return err
	}
	var states map[string]pledge.ExperimentState
	// Staff's decisions, when there is a database.
	if _, err := os.Stat(cfg.DB); err == nil || postgres.IsURL(cfg.DB) {
		db := cfg.store()
		if err := db.Open(ctx); err != nil {
			return err
		}
		defer db.Close()
		if states, err = db.ExperimentStates(ctx); err != nil {
			return err
		}
	}
	plan := &pledge.Plan{Base: cfg.giving, Experiments: cfg.experiments, States: states}
	out := configShown{}
	out.Environment.Kind = yaml.MappingNode
	for _, v := range envNames {
		val := *v.Field(cfg)
		if slices.Contains(secretVars, v.Name) {
			val = map[bool]string{true: "(set)", false: "(unset)"}[val != ""]
		}
		out.Environment.Content = append(out.Environment.Content,
			&yaml.Node{Kind: yaml.ScalarNode, Value: v.Name}, &yaml.Node{Kind: yaml.ScalarNode, Value: val, Style: yaml.DoubleQuotedStyle})
	}
	st, skipped := plan.Settings()
	out.Settings = showSettings(st)
	for name, s := range states {
		if s.Promoted != "" && !slices.Contains(skipped, name) {
			out.Promoted = append(out.Promoted, name+": "+s.Promoted)
		}
	}
	slices.Sort(out.Promoted)
	now := time.Now()
	for i := range plan.Experiments {
		e := &plan.Experiments[i]
		es := experimentShow{Name: e.Name, Status: plan.Status(e, now), Holdback: e.HoldbackShare}
		if !e.Start.IsZero() {
			es.Start = e.Start.Format(time.DateOnly)
		}
		if !e.End.IsZero() {
			es.End = e.End.AddDate(0, 0, -1).Format(time.DateOnly)
		}
		if s, ok := states[e.Name]; ok {
			es.StoppedAt, es.StoppedBy, es.Promoted = s.StoppedAt.Format(time.RFC3339), s.StoppedBy, s.Promoted
		}
		for _, v := range e.Variants {
			es.Variants = append(es.Variants, showVariant(v))
		}
		out.Experiments = append(out.Experiments, es)
	}
	fmt.Fprintln(env.Stdout, "# pledge config show: the configuration in force — the environment and flags, PLEDGE_CONFIG,")
	fmt.Fprintln(env.Stdout, "# and staff's decisions in the database (settings include promoted variants).")
	enc := yaml.NewEncoder(env.Stdout)
	enc.SetIndent(2)
	if err := enc.Encode(out); err != nil {
		return err
	}
	return enc.Close()
}

func major(cur pledge.Currency, amount int64) string {
	return pledge.Money{Amount: amount, Currency: cur}.Major()
}

func byFrequency(m map[pledge.Frequency]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := map[string]string{}
	for f, s := range m {
		out[string(f)] = s
	}
	return out
}

func showSettings(st pledge.Settings) settingsShown {
	s := settingsShown{Organisation: st.Org, Heading: st.Heading, Message: st.Message, Signoff: st.Signoff,
		Ask: byFrequency(st.Ask), Highlight: byFrequency(st.Highlight),
		DefaultCurrency: string(st.Catalogue.Default), DefaultFrequency: string(st.DefaultFrequency),
		CoverFees:  coverFeesShown{Enabled: st.Fees.Enabled, Percent: pledge.FormatMinor(st.Fees.BasisPoints, 2)},
		Currencies: map[string]map[string]tierShown{}}
	for cur, v := range st.Fees.Fixed {
		if s.CoverFees.Fixed == nil {
			s.CoverFees.Fixed = map[string]string{}
		}
		s.CoverFees.Fixed[string(cur)] = major(cur, v)
	}
	for _, cur := range st.Catalogue.Currencies {
		s.Currencies[string(cur)] = map[string]tierShown{}
		for _, f := range pledge.Frequencies {
			t := st.Catalogue.Tier(cur, f)
			ts := tierShown{Default: major(cur, t.Default), Min: major(cur, t.Min), Max: major(cur, t.Max)}
			for _, p := range t.Presets {
				ts.Presets = append(ts.Presets, major(cur, p))
			}
			s.Currencies[string(cur)][string(f)] = ts
		}
	}
	return s
}

// showVariant is a variant in PLEDGE_CONFIG's spelling.
func showVariant(v pledge.Variant) variantFile {
	o := v.Override
	vs := variantFile{Name: v.Name, Weight: &v.Weight, promptWords: promptWords{Heading: o.Heading, Message: o.Message,
		Signoff: o.Signoff, Ask: byFrequency(o.Ask), Highlight: byFrequency(o.Highlight)}}
	if o.DefaultFrequency != "" {
		f := string(o.DefaultFrequency)
		vs.DefaultFrequency = &f
	}
	for cur, byF := range o.Presets {
		for f, list := range byF {
			if vs.Presets == nil {
				vs.Presets = map[string]map[string][]string{}
			}
			if vs.Presets[string(cur)] == nil {
				vs.Presets[string(cur)] = map[string][]string{}
			}
			var ms []string
			for _, a := range list {
				ms = append(ms, major(cur, a))
			}
			vs.Presets[string(cur)][string(f)] = ms
		}
	}
	for cur, byF := range o.DefaultAmount {
		for f, a := range byF {
			if vs.DefaultAmount == nil {
				vs.DefaultAmount = map[string]map[string]string{}
			}
			if vs.DefaultAmount[string(cur)] == nil {
				vs.DefaultAmount[string(cur)] = map[string]string{}
			}
			vs.DefaultAmount[string(cur)][string(f)] = major(cur, a)
		}
	}
	return vs
}
