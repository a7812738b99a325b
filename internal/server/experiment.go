package server

import (
	"cmp"
	"context"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pledge-news/pledge/internal/abtest"
	"github.com/pledge-news/pledge/internal/pledge"
)

// SetPlan puts a plan of experiments in force, at once for every request that starts after it;
// requests already running finish with the plan they began with. Reloads (SIGHUP) and staff's
// decisions call it. Before the swap it pre-renders the prompt for the default (p.Settings(),
// promotions applied) and for each arm of every running or scheduled experiment
// (p.VariantSettings), so handlePrompt only picks the page by arm. If that fails the plan in
// force stays, and the error says why.
func (s *Server) SetPlan(p *pledge.Plan) error {
	lp, err := s.buildLivePlan(p)
	if err != nil {
		return err
	}
	s.live.Store(lp)
	return nil
}

// Plan returns the plan in force (nil before SetPlan).
func (s *Server) Plan() *pledge.Plan { return s.currentPlan() }

// experimentArm is the arm of the running experiment this reader is in, from the experiment id
// in the signed view cookie (made by countPromptView); the zero Arm outside experiments or
// before the reader has one. No database: the arm is a keyed hash of the id. handlePrompt and
// handleDonateSubmit take it with the arm's prompts from armSet.
func (s *Server) experimentArm(c echo.Context) pledge.Arm {
	arm, _ := s.armSet(c)
	return arm
}

// registerExperimentRoutes registers the staff's experiment pages: everyone on staff reads the
// results; admins stop an experiment and promote a variant.
func (s *Server) registerExperimentRoutes(e *echo.Echo) {
	g := s.area(e, "/staff/experiments", staffPolicy, noStore, s.requireStaff)
	g.GET("", s.handleExperiments)
	g.GET("/:name", s.handleExperiment)
	g.POST("/:name/stop", s.handleExperimentStop, s.requireAdmin)
}

type experimentsPage struct {
	Layout
	Rows []experimentRow
}

type experimentRow struct {
	Name, Status, Days string
	Variants           []string
	Holdback           float64
	Promoted           string
}

// experiments lists the configured experiments, then the ones only the store remembers.
func (s *Server) experiments(ctx context.Context) ([]pledge.Experiment, error) {
	var out []pledge.Experiment
	if p := s.currentPlan(); p != nil {
		out = append(out, p.Experiments...)
	}
	if s.Experiments == nil {
		return out, nil
	}
	kept, err := s.Experiments.RememberedExperiments(ctx)
	if err != nil {
		return nil, err
	}
	var extra []pledge.Experiment
	for name, e := range kept {
		if !slices.ContainsFunc(out, func(x pledge.Experiment) bool { return x.Name == name }) {
			extra = append(extra, e)
		}
	}
	slices.SortFunc(extra, func(a, b pledge.Experiment) int { return cmp.Compare(a.Name, b.Name) })
	return append(out, extra...), nil
}

// status is where e stands; one no longer configured has ended unless staff stopped it.
func (s *Server) status(e *pledge.Experiment) string {
	p := s.currentPlan()
	if p == nil {
		p = &pledge.Plan{}
	}
	st := p.Status(e, time.Now())
	if _, configured := p.Find(e.Name); !configured && st != pledge.StatusStopped && st != pledge.StatusPromoted {
		return pledge.StatusEnded
	}
	return st
}

func days(e *pledge.Experiment) string {
	from, to := "the start", "stopped"
	if !e.Start.IsZero() {
		from = e.Start.Format(time.DateOnly)
	}
	if !e.End.IsZero() {
		to = e.End.AddDate(0, 0, -1).Format(time.DateOnly)
	}
	return from + " to " + to
}

func (s *Server) handleExperiments(c echo.Context) error {
	es, err := s.experiments(c.Request().Context())
	if err != nil {
		return err
	}
	p := &experimentsPage{Layout: s.staffLayout(c, "Experiments")}
	plan := s.currentPlan()
	for i := range es {
		e := &es[i]
		row := experimentRow{Name: e.Name, Status: s.status(e), Days: days(e), Holdback: e.HoldbackShare}
		for _, v := range e.Variants {
			row.Variants = append(row.Variants, v.Name)
		}
		if plan != nil {
			row.Promoted = plan.States[e.Name].Promoted
		}
		p.Rows = append(p.Rows, row)
	}
	return s.render(c, http.StatusOK, "staff_experiments", p)
}

type experimentPage struct {
	Layout
	Experiment *pledge.Experiment
	Days       string
	State      pledge.ExperimentState
	Report     *abtest.Report
	Currencies []pledge.Currency
	CanStop    bool
	Done       string
}

// findExperiment returns the configured or remembered experiment named name.
func (s *Server) findExperiment(ctx context.Context, name string) (*pledge.Experiment, error) {
	es, err := s.experiments(ctx)
	if err != nil {
		return nil, err
	}
	for i := range es {
		if es[i].Name == name {
			return &es[i], nil
		}
	}
	return nil, pledge.Errorf(pledge.ENOTFOUND, "No experiment is called %s.", name)
}

func (s *Server) handleExperiment(c echo.Context) error {
	ctx := c.Request().Context()
	e, err := s.findExperiment(ctx, c.Param("name"))
	if err != nil {
		return err
	}
	counts, err := s.Experiments.ExperimentCounts(ctx, e.Name)
	if err != nil {
		return err
	}
	status := s.status(e)
	r := abtest.Build(e, status, counts, s.cfg.Giving.Catalogue.Default)
	p := &experimentPage{Layout: s.staffLayout(c, "Experiment "+e.Name), Experiment: e, Days: days(e), Report: r,
		CanStop: staffOf(c).Staff.Admin() && status != pledge.StatusStopped && status != pledge.StatusPromoted,
		Done:    c.QueryParam("done")}
	if plan := s.currentPlan(); plan != nil {
		p.State = plan.States[e.Name]
	}
	for cur := range r.Arms[0].Currencies {
		p.Currencies = append(p.Currencies, cur)
	}
	slices.Sort(p.Currencies)
	return s.render(c, http.StatusOK, "staff_experiment", p)
}

// stopForm is the stop button's form: confirm=stop, and the variant to promote ("" for none).
type stopForm struct {
	Confirm string `form:"confirm"`
	Promote string `form:"promote"`
}

// handleExperimentStop stops an experiment, promoting a variant to the default if asked. The
// decision is stored and audited in one transaction, and the plan in force changes at once here
// (other instances pick it up within a minute). Results are never touched.
func (s *Server) handleExperimentStop(c echo.Context) error {
	ctx := c.Request().Context()
	e, err := s.findExperiment(ctx, c.Param("name"))
	if err != nil {
		return err
	}
	var f stopForm
	if err := c.Bind(&f); err != nil || f.Confirm != "stop" {
		return pledge.Errorf(pledge.EINVALID, "Stop the experiment with the button on its page.")
	}
	st := pledge.ExperimentState{Promoted: f.Promote}
	if f.Promote != "" {
		v, ok := e.Variant(f.Promote)
		if !ok {
			return pledge.Errorf(pledge.EINVALID, "%s has no variant called %s.", e.Name, f.Promote)
		}
		st.Override = v.Override
	}
	if err := s.Experiments.StopExperiment(ctx, staffOf(c).Staff.Email, e.Name, st); err != nil {
		return err
	}
	if err := s.RefreshStates(ctx); err != nil {
		s.logger.Error("refreshing experiments after a stop", "err", err)
	}
	done := "stopped"
	if f.Promote != "" {
		done = "promoted"
	}
	return c.Redirect(http.StatusSeeOther, "/staff/experiments/"+url.PathEscape(e.Name)+"?done="+done)
}

// RefreshStates reads staff's decisions from the store and, if they changed, puts a plan with
// them in force. serve calls it every minute, so every instance follows a stop made on one.
func (s *Server) RefreshStates(ctx context.Context) error {
	if s.Experiments == nil {
		return nil
	}
	states, err := s.Experiments.ExperimentStates(ctx)
	if err != nil {
		return err
	}
	old := s.currentPlan()
	if old == nil {
		old = &pledge.Plan{Base: s.cfg.Giving}
	}
	if sameStates(old.States, states) {
		return nil
	}
	next := *old
	next.States = states
	return s.SetPlan(&next)
}

func sameStates(a, b map[string]pledge.ExperimentState) bool {
	if len(a) != len(b) {
		return false
	}
	for k, x := range a {
		y, ok := b[k]
		if !ok || !x.StoppedAt.Equal(y.StoppedAt) || x.Promoted != y.Promoted {
			return false
		}
	}
	return true
}
