// Package abtest is the calculation behind an experiment's results: for each arm, Bayesian
// posteriors of its rates (Continue clicks, checkouts, gifts per view) and of its value per view,
// and the probability that each variant beats the control.
//
// Value per view is the gift rate times the mean value of a gift. The gift rate has a
// Beta(1 + gifts, 1 + views - gifts) posterior (a uniform prior). The mean gift value has the
// Bayesian bootstrap's posterior (Rubin 1981): a Dirichlet over the gifts seen, plus a prior
// worth one gift spread over the gifts of all arms, so an arm with few gifts is pulled towards
// what the experiment as a whole has seen rather than towards nothing. It makes no assumption
// about the shape of gift values (a few monthly gifts are worth many one-off ones). The two are
// combined by Monte Carlo with a fixed seed: the same data always give the same figures.
package abtest

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/mathext"
)

// Interval is a 95% credible interval: the posterior's 2.5% and 97.5% quantiles.
type Interval struct {
	Low  float64 `json:"low"`
	High float64 `json:"high"`
}

// Estimate is a posterior mean with its 95% interval.
type Estimate struct {
	Mean float64 `json:"mean"`
	Interval
}

// Scale multiplies an estimate, e.g. by 1,000 for "per thousand views".
func (e Estimate) Scale(k float64) Estimate {
	return Estimate{Mean: e.Mean * k, Interval: Interval{Low: e.Low * k, High: e.High * k}}
}

// Rate is the posterior of a proportion after k successes in n trials under a uniform prior:
// Beta(1 + k, 1 + n - k), its mean and equal-tailed 95% interval, computed exactly.
func Rate(k, n int64) Estimate {
	if k > n {
		n = k
	}
	a, b := float64(k)+1, float64(n-k)+1
	return Estimate{Mean: a / (a + b), Interval: Interval{Low: mathext.InvRegIncBeta(a, b, 0.025), High: mathext.InvRegIncBeta(a, b, 0.975)}}
}

// ProbBetterRate is P(p_b > p_a) for p_a ~ Beta(aA, bA) and p_b ~ Beta(aB, bB), in closed form
// for a whole aB (Evan Miller's sum, from the Beta function identity):
//
//	P = Σ_{i=0}^{aB-1} B(aA+i, bA+bB) / ((bB+i) B(1+i, bB) B(aA, bA))
//
// The conversion comparison that the value comparison extends; tests check the Monte Carlo
// against it.
func ProbBetterRate(aA, bA, aB, bB float64) float64 {
	lbeta := func(a, b float64) float64 {
		la, _ := math.Lgamma(a)
		lb, _ := math.Lgamma(b)
		lab, _ := math.Lgamma(a + b)
		return la + lb - lab
	}
	total := 0.0
	for i := 0.0; i < aB; i++ {
		total += math.Exp(lbeta(aA+i, bA+bB) - math.Log(bB+i) - lbeta(1+i, bB) - lbeta(aA, bA))
	}
	return total
}

// Arm is what one arm of an experiment saw: its views and the value of each gift, in minor
// units of one currency (one entry per gift).
type Arm struct {
	Name   string
	Views  int64
	Values []float64
}

// Options tune Analyse. The zero value is the defaults.
type Options struct {
	Draws int    // Monte Carlo draws per arm (default 20,000)
	Seed  uint64 // the random stream's seed (default 16, the number)
}

func (o Options) withDefaults() Options {
	if o.Draws <= 0 {
		o.Draws = 20000
	}
	if o.Seed == 0 {
		o.Seed = 16
	}
	return o
}

// ArmResult is one arm's value per view: its posterior draws and their summary.
type ArmResult struct {
	Name  string
	Value Estimate // value per view, minor units
	draws []float64
}

// Comparison is a variant against the control on value per view.
type Comparison struct {
	// ProbBetter is the posterior probability that the variant's value per view is higher.
	ProbBetter float64 `json:"prob_better"`
	// Difference is variant minus control, per view, minor units.
	Difference Estimate `json:"difference"`
}

// Analysis is the value-per-view posterior of every arm.
type Analysis struct {
	Arms []ArmResult
}

// Analyse draws each arm's value per view. Gifts seen in any arm make the prior of each arm's
// mean gift value (worth one gift in all).
func Analyse(arms []Arm, opt Options) *Analysis {
	opt = opt.withDefaults()
	rng := rand.New(rand.NewPCG(opt.Seed, 0x7e57ab1e))
	pooled := tally(nil)
	for _, a := range arms {
		pooled = tallyInto(pooled, a.Values)
	}
	out := &Analysis{}
	for _, a := range arms {
		draws := valueDraws(a, pooled, opt.Draws, rng)
		out.Arms = append(out.Arms, ArmResult{Name: a.Name, Value: summarise(draws), draws: draws})
	}
	return out
}

// Arm returns the result of the arm named name.
func (an *Analysis) Arm(name string) (ArmResult, bool) {
	for _, a := range an.Arms {
		if a.Name == name {
			return a, true
		}
	}
	return ArmResult{}, false
}

// Compare sets variant against control: the probability it is better and the difference.
func Compare(variant, control ArmResult) Comparison {
	n := min(len(variant.draws), len(control.draws))
	if n == 0 {
		return Comparison{}
	}
	diff := make([]float64, n)
	better, ties := 0, 0
	for i := range n {
		diff[i] = variant.draws[i] - control.draws[i]
		switch {
		case diff[i] > 0:
			better++
		case diff[i] == 0:
			ties++
		}
	}
	// Ties (both arms without any gift) count half: no evidence either way.
	return Comparison{ProbBetter: (float64(better) + float64(ties)/2) / float64(n), Difference: summarise(diff)}
}

// Pool merges arms into one (for the prompted arms together against the holdback).
func Pool(name string, arms ...Arm) Arm {
	out := Arm{Name: name}
	for _, a := range arms {
		out.Views += a.Views
		out.Values = append(out.Values, a.Values...)
	}
	return out
}

// valueDraws draws value per view = gift rate × mean gift value.
func valueDraws(a Arm, pooled map[float64]float64, n int, rng *rand.Rand) []float64 {
	gifts := int64(len(a.Values))
	views := max(a.Views, gifts)
	// The Dirichlet's atoms: every value any arm has seen, with this arm's count of it plus the
	// prior's pseudo-count (one gift in all, spread over every arm's gifts). Gammas of one value
	// add up, so one atom per value is exact.
	own := tally(a.Values)
	var pooledTotal float64
	for _, c := range pooled {
		pooledTotal += c
	}
	type atom struct{ value, alpha float64 }
	atoms := make([]atom, 0, len(pooled))
	for v, c := range pooled {
		atoms = append(atoms, atom{v, own[v] + c/pooledTotal})
	}
	slices.SortFunc(atoms, func(x, y atom) int { return cmp.Compare(x.value, y.value) }) // map order must not change the stream
	out := make([]float64, n)
	for i := range out {
		p := betaDraw(float64(gifts)+1, float64(views-gifts)+1, rng)
		if len(atoms) == 0 {
			out[i] = 0 // no gift anywhere yet: nothing to value
			continue
		}
		var sum, weighted float64
		for j := range atoms {
			g := gammaDraw(atoms[j].alpha, rng)
			sum += g
			weighted += g * atoms[j].value
		}
		if sum > 0 {
			out[i] = p * weighted / sum
		}
	}
	return out
}

func tally(values []float64) map[float64]float64 { return tallyInto(map[float64]float64{}, values) }

func tallyInto(m map[float64]float64, values []float64) map[float64]float64 {
	if m == nil {
		m = map[float64]float64{}
	}
	for _, v := range values {
		m[v]++
	}
	return m
}

// summarise is the mean and the 2.5% and 97.5% quantiles of draws.
func summarise(draws []float64) Estimate {
	if len(draws) == 0 {
		return Estimate{}
	}
	s := slices.Clone(draws)
	slices.Sort(s)
	var sum float64
	for _, d := range s {
		sum += d
	}
	q := func(p float64) float64 {
		// Type 7 quantile (linear interpolation), as R's and NumPy's default.
		h := p * float64(len(s)-1)
		lo := math.Floor(h)
		i := int(lo)
		if i+1 >= len(s) {
			return s[len(s)-1]
		}
		return s[i] + (h-lo)*(s[i+1]-s[i])
	}
	return Estimate{Mean: sum / float64(len(s)), Interval: Interval{Low: q(0.025), High: q(0.975)}}
}
