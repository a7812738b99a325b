package server

import (
	"fmt"
	"reflect"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pledge-news/pledge/internal/locale"
	"github.com/pledge-news/pledge/internal/pledge"
)

// promptSet is everything the prompt and the donation form show for one set of settings: the
// default's, or one experiment arm's. It is built whole before it serves (buildPromptSet) and
// never changed after, so a request only picks from it.
type promptSet struct {
	giving pledge.Settings
	// langs carry the settings' letter (heading, message, signoff, ask) in every language.
	langs   *locale.Set
	views   map[viewKey]*currencyView
	prompts map[promptKey]*prerendered
}

// lang is this set's catalogue for the language lc (from the reader's request) is in.
func (ps *promptSet) lang(lc *locale.Catalogue) *locale.Catalogue {
	if l := ps.langs.Get(lc.Code); l != nil {
		return l
	}
	return lc
}

// buildPromptSet builds the catalogues, the views and the pre-rendered prompts for st.
func (s *Server) buildPromptSet(st pledge.Settings) (*promptSet, error) {
	ps := &promptSet{giving: st}
	var err error
	if ps.langs, err = LoadLanguages(st); err != nil {
		return nil, fmt.Errorf("messages: %w", err)
	}
	if err := ps.langs.Require(codeKeys...); err != nil {
		return nil, fmt.Errorf("messages: %w", err)
	}
	if ps.views, err = buildViews(st, ps.langs); err != nil {
		return nil, err
	}
	for _, v := range ps.views {
		s.catalogues.Store(v.src, v.script)
	}
	if ps.prompts, err = s.prerenderPrompts(ps); err != nil {
		return nil, err
	}
	return ps, nil
}

// livePlan is the plan of experiments in force with its prompts: the default's (promotions
// applied) and each arm's, by arm. SetPlan swaps it whole.
type livePlan struct {
	plan *pledge.Plan
	def  *promptSet
	arms map[pledge.Arm]*promptSet
}

// buildLivePlan pre-renders p's prompts: the default from p.Settings(), and each arm of every
// experiment that runs or may still run (scheduled ones start on their day, with no work then)
// from p.VariantSettings. Settings equal to a set already built share it.
func (s *Server) buildLivePlan(p *pledge.Plan) (*livePlan, error) {
	lp := &livePlan{plan: p, arms: map[pledge.Arm]*promptSet{}}
	built := []*promptSet{s.base}
	find := func(st pledge.Settings) (*promptSet, error) {
		for _, ps := range built {
			if reflect.DeepEqual(ps.giving, st) {
				return ps, nil
			}
		}
		ps, err := s.buildPromptSet(st)
		if err != nil {
			return nil, err
		}
		built = append(built, ps)
		return ps, nil
	}
	def, skipped := p.Settings()
	for _, name := range skipped {
		s.logger.Warn("a promoted variant no longer fits the settings and is not applied", "experiment", name)
	}
	var err error
	if lp.def, err = find(def); err != nil {
		return nil, fmt.Errorf("default prompt: %w", err)
	}
	now := time.Now()
	for i := range p.Experiments {
		e := &p.Experiments[i]
		if st := p.Status(e, now); st != pledge.StatusRunning && st != pledge.StatusScheduled {
			continue
		}
		for _, v := range e.Variants {
			ps, err := find(p.VariantSettings(e, v.Name))
			if err != nil {
				return nil, fmt.Errorf("experiment %s, variant %s: prompt: %w", e.Name, v.Name, err)
			}
			lp.arms[pledge.Arm{Experiment: e.Name, Variant: v.Name}] = ps
		}
	}
	return lp, nil
}

// armSet is the reader's arm of the running experiment (the zero Arm outside experiments or
// before the reader has an id) and the prompts that arm sees (the default's for the holdback
// and outside experiments), both from the one plan in force. No database, no rendering.
func (s *Server) armSet(c echo.Context) (pledge.Arm, *promptSet) {
	return s.armOf(time.Now(), func() string { return s.viewID(c) })
}

// armOf is armSet at now for the reader whose experiment id viewID returns (asked only while
// an experiment runs).
func (s *Server) armOf(now time.Time, viewID func() string) (pledge.Arm, *promptSet) {
	lp := s.live.Load()
	if lp == nil {
		return pledge.Arm{}, s.base
	}
	e := lp.plan.Running(now)
	if e == nil {
		return pledge.Arm{}, lp.def
	}
	arm := s.assigner.Assign(e, viewID())
	if ps := lp.arms[arm]; ps != nil {
		return arm, ps
	}
	return arm, lp.def
}

// promptSetFor is the prompts the reader's arm sees (armSet without the arm).
func (s *Server) promptSetFor(c echo.Context) *promptSet {
	_, ps := s.armSet(c)
	return ps
}

// currentPlan is the plan in force (nil before SetPlan).
func (s *Server) currentPlan() *pledge.Plan {
	if lp := s.live.Load(); lp != nil {
		return lp.plan
	}
	return nil
}
