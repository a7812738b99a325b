package main

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/pledge-news/pledge/internal/loop"
	"github.com/pledge-news/pledge/internal/pledge"
)

// statesEvery is how often serve reads staff's decisions about experiments, so that a stop or a
// promotion made on one instance reaches every instance.
const statesEvery = time.Minute

// buildPlan makes the plan of experiments from the file's settings and experiments and staff's
// decisions in the store, and remembers the definitions so their results outlive the file.
func (m *Main) buildPlan(ctx context.Context, base pledge.Settings, es []pledge.Experiment) (*pledge.Plan, error) {
	if err := m.DB.RememberExperiments(ctx, es); err != nil {
		return nil, fmt.Errorf("experiments: %w", err)
	}
	states, err := m.DB.ExperimentStates(ctx)
	if err != nil {
		return nil, fmt.Errorf("experiments: %w", err)
	}
	return &pledge.Plan{Base: base, Experiments: es, States: states}, nil
}

// promptSettings are the prompt's default settings: the file's, with promoted variants applied.
func (m *Main) promptSettings(p *pledge.Plan) pledge.Settings {
	st, skipped := p.Settings()
	for _, name := range skipped {
		m.env.Logger.Warn("a promoted variant no longer fits the settings and is not applied", "experiment", name)
	}
	return st
}

// Reload reads PLEDGE_CONFIG again and puts its experiments in force. A broken file changes
// nothing: the configuration in force keeps serving and the error is returned (and logged by
// watchExperiments). Requests never wait: the new plan is swapped in at once, and requests
// already running finish with the old one. Settings outside experiments (the words, amounts,
// currencies) are read at start only: changed in the file, they wait for a restart, as the log
// says.
func (m *Main) Reload(ctx context.Context) error {
	base, es, err := loadConfigFile(m.Config.ConfigFile)
	if err != nil {
		return fmt.Errorf("PLEDGE_CONFIG: %w", err)
	}
	if !reflect.DeepEqual(base, m.Config.giving) {
		m.env.Logger.Warn("reload: PLEDGE_CONFIG's settings outside experiments changed; they take effect at the next restart")
	}
	// Experiments are checked against the settings in force, which the prompt still shows.
	if err := pledge.ValidateExperiments(m.Config.giving, es); err != nil {
		return fmt.Errorf("PLEDGE_CONFIG: %s: %w", m.Config.ConfigFile, err)
	}
	plan, err := m.buildPlan(ctx, m.Config.giving, es)
	if err != nil {
		return err
	}
	// The arms' prompts are rendered before the swap: one that fails keeps the plan in force.
	if err := m.Server.SetPlan(plan); err != nil {
		return fmt.Errorf("PLEDGE_CONFIG: %s: %w", m.Config.ConfigFile, err)
	}
	m.Config.experiments = es
	running := ""
	if e := plan.Running(time.Now()); e != nil {
		running = e.Name
	}
	m.env.Logger.Info("reloaded experiments", "experiments", len(es), "running", running)
	return nil
}

// watchExperiments reloads on SIGHUP and reads staff's decisions every statesEvery, until ctx ends.
func (m *Main) watchExperiments(ctx context.Context) {
	// One goroutine does both: a reload and a refresh each replace the plan in force, and neither
	// may lose the other's.
	loop.Every(ctx, statesEvery, statesEvery, m.hup, func(hup bool) {
		if hup {
			if err := m.Reload(ctx); err != nil {
				m.env.Logger.Error("reload refused: the configuration in force keeps serving", "err", err)
			}
		} else if err := m.Server.RefreshStates(ctx); err != nil {
			m.env.Logger.Error("reading experiments' states", "err", err)
		}
	})
}
