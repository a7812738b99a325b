package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/pledge-news/pledge/internal/pledge"
)

// experimentFile is one entry of PLEDGE_CONFIG's experiments list.
type experimentFile struct {
	Name     string      `yaml:"name"`
	Start    string      `yaml:"start"` // a UTC day, YYYY-MM-DD
	End      string      `yaml:"end"`   // the last UTC day it runs, inclusive
	Holdback float64     `yaml:"holdback"`
	Variants []yaml.Node `yaml:"variants"`
}

// variantFile is a variant: its name, weight and the prompt settings it overrides, spelled as at
// the file's top level (the words are the top level's own promptWords). Amounts are in major
// units. `pledge config show` prints variants in it too (omitempty matters only there).
type variantFile struct {
	Name             string   `yaml:"name"`
	Weight           *float64 `yaml:"weight"`
	promptWords      `yaml:",inline"`
	Presets          map[string]map[string][]string `yaml:"presets,omitempty"`
	DefaultAmount    map[string]map[string]string   `yaml:"default_amount,omitempty"`
	DefaultFrequency *string                        `yaml:"default_frequency,omitempty"`
}

// promptWords are the prompt's words as PLEDGE_CONFIG spells them, at its top level and in a
// variant.
type promptWords struct {
	Heading   *string           `yaml:"heading,omitempty"`
	Message   *string           `yaml:"message,omitempty"`
	Signoff   *string           `yaml:"signoff,omitempty"`
	Ask       map[string]string `yaml:"ask,omitempty"`
	Highlight map[string]string `yaml:"highlight,omitempty"`
}

// byFrequency reads the ask lines and the highlighted presets into ask and highlight, by
// frequency, trimmed.
func (w *promptWords) byFrequency(ask, highlight *map[pledge.Frequency]string) error {
	trimmed := func(_ string, s string) (string, error) { return strings.TrimSpace(s), nil }
	if err := frequencyKeyed(ask, "ask", w.Ask, trimmed); err != nil {
		return err
	}
	return frequencyKeyed(highlight, "highlight", w.Highlight, trimmed)
}

// loadConfigFile reads PLEDGE_CONFIG: the newsroom's settings over the built-in ones, then the
// experiments, checked against those settings. Errors name the file and the field
// ("pledge.yaml: experiments[0].variants[1].weight: must be positive"). An empty path returns
// the defaults and no experiments.
func loadConfigFile(path string) (pledge.Settings, []pledge.Experiment, error) {
	st := pledge.DefaultSettings()
	if path == "" {
		return st, nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return st, nil, fmt.Errorf("cannot read %s", path)
	}
	if err := applyGivingFile(&st, b); err != nil {
		return st, nil, fmt.Errorf("%s: %w", path, err)
	}
	es, err := parseExperiments(st, b)
	if err != nil {
		return st, nil, fmt.Errorf("%s: %w", path, err)
	}
	return st, es, nil
}

var unknownFieldRE = regexp.MustCompile(`field (\S+) not found`)

// decodeKnown decodes a mapping node refusing unknown fields, and names an unknown one with its
// line in the file (decodeStrict's lines count from the node).
func decodeKnown(n *yaml.Node, v any) error {
	err := decodeStrict(n, v)
	if err == nil {
		return nil
	}
	if m := unknownFieldRE.FindStringSubmatch(err.Error()); m != nil && n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; k.Value == m[1] {
				return fmt.Errorf("line %d: unknown field %s", k.Line, m[1])
			}
		}
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: a map (name: ...) is required", n.Line)
	}
	return err
}

// childSeq returns the items of the sequence under key in a mapping node.
func childSeq(n *yaml.Node, key string) []yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key && n.Content[i+1].Kind == yaml.SequenceNode {
			out := make([]yaml.Node, len(n.Content[i+1].Content))
			for j, c := range n.Content[i+1].Content {
				out[j] = *c
			}
			return out
		}
	}
	return nil
}

// parseExperiments reads the experiments list of a PLEDGE_CONFIG file and validates it.
func parseExperiments(st pledge.Settings, b []byte) ([]pledge.Experiment, error) {
	var top struct {
		Experiments yaml.Node `yaml:"experiments"`
	}
	if err := yaml.NewDecoder(bytes.NewReader(b)).Decode(&top); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	n := &top.Experiments
	if n.Kind == 0 {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("experiments: line %d: a list of experiments (- name: ...) is required", n.Line)
	}
	var out []pledge.Experiment
	for i, en := range n.Content {
		var ef experimentFile
		if err := decodeKnown(en, &ef); err != nil {
			return nil, fmt.Errorf("experiments[%d]: %w", i, err)
		}
		ef.Variants = childSeq(en, "variants") // the file's own nodes, for their lines
		e, err := ef.experiment(st)
		if err != nil {
			return nil, fmt.Errorf("experiments[%d].%w", i, err)
		}
		out = append(out, e)
	}
	return out, pledge.ValidateExperiments(st, out)
}

func (ef *experimentFile) experiment(st pledge.Settings) (pledge.Experiment, error) {
	e := pledge.Experiment{Name: strings.TrimSpace(ef.Name), HoldbackShare: ef.Holdback}
	var err error
	if ef.Start != "" {
		if e.Start, err = time.Parse(time.DateOnly, strings.TrimSpace(ef.Start)); err != nil {
			return e, fmt.Errorf("start: %q is not a day (YYYY-MM-DD, UTC)", ef.Start)
		}
	}
	if ef.End != "" {
		if e.End, err = time.Parse(time.DateOnly, strings.TrimSpace(ef.End)); err != nil {
			return e, fmt.Errorf("end: %q is not a day (YYYY-MM-DD, UTC)", ef.End)
		}
		e.End = e.End.AddDate(0, 0, 1) // the end day is the last day it runs
	}
	for j, vn := range ef.Variants {
		var vf variantFile
		if err := decodeKnown(&vn, &vf); err != nil {
			return e, fmt.Errorf("variants[%d]: %w", j, err)
		}
		v, err := vf.variant(st)
		if err != nil {
			return e, fmt.Errorf("variants[%d].%w", j, err)
		}
		e.Variants = append(e.Variants, v)
	}
	return e, nil
}

func (vf *variantFile) variant(st pledge.Settings) (pledge.Variant, error) {
	v := pledge.Variant{Name: strings.TrimSpace(vf.Name)}
	if vf.Weight == nil {
		return v, fmt.Errorf("weight: required (a positive number; variants share readers in proportion)")
	}
	v.Weight = *vf.Weight
	o := &v.Override
	trim := func(s *string) *string {
		if s == nil {
			return nil
		}
		t := strings.TrimSpace(*s)
		return &t
	}
	o.Heading, o.Message, o.Signoff = trim(vf.Heading), trim(vf.Message), trim(vf.Signoff)
	if err := vf.byFrequency(&o.Ask, &o.Highlight); err != nil {
		return v, err
	}
	if vf.DefaultFrequency != nil {
		f, err := pledge.ParseFrequency(strings.TrimSpace(*vf.DefaultFrequency))
		if err != nil {
			return v, fmt.Errorf("default_frequency: once, monthly or annual")
		}
		o.DefaultFrequency = f
	}
	amount := func(field string, cur pledge.Currency, s string) (int64, error) {
		n, err := pledge.ParseMinor(strings.TrimSpace(s), cur.Decimals())
		if err != nil || strings.TrimSpace(s) == "" {
			return 0, fmt.Errorf("%s: %q is not an amount in %s (major units, at most %d decimals)", field, s, cur.Upper(), cur.Decimals())
		}
		return n, nil
	}
	err := tierKeyed(&o.Presets, st, "presets", vf.Presets, func(path string, cur pledge.Currency, list []string) ([]int64, error) {
		var amounts []int64
		for i, s := range list {
			a, err := amount(fmt.Sprintf("%s[%d]", path, i), cur, s)
			if err != nil {
				return nil, err
			}
			amounts = append(amounts, a)
		}
		return amounts, nil
	})
	if err != nil {
		return v, err
	}
	if err := tierKeyed(&o.DefaultAmount, st, "default_amount", vf.DefaultAmount, amount); err != nil {
		return v, err
	}
	return v, nil
}

// frequencyKeyed parses a map keyed by frequency (once, monthly, annual) into into, each value
// through conv (given the value's path in the file, for its errors); field names the map. It
// makes into only when it has something to put in it.
func frequencyKeyed[V, W any](into *map[pledge.Frequency]W, field string, m map[string]V, conv func(path string, v V) (W, error)) error {
	for k, v := range m {
		f, err := pledge.ParseFrequency(k)
		if err != nil {
			return fmt.Errorf("%s.%s: once, monthly or annual", field, k)
		}
		w, err := conv(field+"."+k, v)
		if err != nil {
			return err
		}
		if *into == nil {
			*into = map[pledge.Frequency]W{}
		}
		(*into)[f] = w
	}
	return nil
}

// tierKeyed is frequencyKeyed for a map keyed by currency code, then frequency: the currencies
// must be st's.
func tierKeyed[V, W any](into *map[pledge.Currency]map[pledge.Frequency]W, st pledge.Settings, field string, m map[string]map[string]V,
	conv func(path string, cur pledge.Currency, v V) (W, error)) error {
	for code, byF := range m {
		cur := pledge.Currency(strings.ToLower(code))
		if !st.Catalogue.Offers(cur) {
			return fmt.Errorf("%s.%s: not one of the configured currencies", field, code)
		}
		inner := (*into)[cur]
		err := frequencyKeyed(&inner, field+"."+code, byF, func(path string, v V) (W, error) { return conv(path, cur, v) })
		if err != nil {
			return err
		}
		if inner != nil {
			if *into == nil {
				*into = map[pledge.Currency]map[pledge.Frequency]W{}
			}
			(*into)[cur] = inner
		}
	}
	return nil
}
