package abtest

import "math"

// The decision rule the report states.
const (
	// MinViews and MinGifts are the least each of two arms must have before they are compared:
	// below them "not enough data yet".
	MinViews = 1000
	MinGifts = 20
	// Threshold is how sure the posterior must be before a variant is called better (or worse).
	Threshold = 0.95
	// Alpha bounds the share of A/A tests (no real difference) that ever get a call, however
	// often the results are looked at: a call also needs the mixture likelihood ratio to reach
	// 1/Alpha.
	Alpha = 0.05
	// TauShare is the mixing distribution's spread: the differences in value per view the test
	// is tuned for, as a share of the arms' mean (±30%).
	TauShare = 0.3
)

// Calls a comparison can make.
const (
	CallTooEarly = "not enough data yet"
	CallBetter   = "better"
	CallWorse    = "worse"
	CallNone     = "no clear difference yet"
)

// Verdict is a variant's comparison with the control, and the call it supports.
type Verdict struct {
	Comparison
	// Evidence is the mixture likelihood ratio for a difference against none (always valid:
	// under no difference it exceeds 1/Alpha with probability at most Alpha, ever).
	Evidence float64 `json:"evidence"`
	Call     string  `json:"call"`
}

// Enough reports whether an arm has the minimum to be compared.
func Enough(a Arm) bool { return a.Views >= MinViews && len(a.Values) >= MinGifts }

// Judge compares variant with control on value per view. The call is "better" (or "worse")
// only when the posterior probability is at least Threshold (at most 1 - Threshold) and the
// always-valid evidence has reached 1/Alpha.
func Judge(control, variant Arm, opt Options) Verdict { return judge(control, variant, opt, true) }

// judge is Judge; without posterior, it skips the Monte Carlo when the evidence cannot support a
// call anyway (the simulations look thousands of times).
func judge(control, variant Arm, opt Options, posterior bool) Verdict {
	if !Enough(control) || !Enough(variant) {
		return Verdict{Call: CallTooEarly}
	}
	v := Verdict{Evidence: MixtureRatio(control, variant, TauShare), Call: CallNone}
	if !posterior && v.Evidence < 1/Alpha {
		return v
	}
	an := Analyse([]Arm{control, variant}, opt)
	v.Comparison = Compare(an.Arms[1], an.Arms[0])
	if v.Evidence >= 1/Alpha {
		switch {
		case v.ProbBetter >= Threshold:
			v.Call = CallBetter
		case v.ProbBetter <= 1-Threshold:
			v.Call = CallWorse
		}
	}
	return v
}

// MixtureRatio is the mixture sequential probability ratio test's statistic (Robbins 1970;
// Johari, Pekelis and Walsh, "Always valid inference", 2017) for the difference of two arms'
// mean value per view: with the estimated difference d ~ N(θ, V), V = s²_a/n_a + s²_b/n_b, and
// θ ~ N(0, τ²) under the alternative,
//
//	Λ = sqrt(V / (V + τ²)) · exp(d² τ² / (2 V (V + τ²)))
//
// Under θ = 0, Λ is a martingale with mean 1, so by Ville's inequality it ever reaches 1/α with
// probability at most α: looking every day costs nothing. τ is tauShare of the pooled mean.
func MixtureRatio(a, b Arm, tauShare float64) float64 {
	ma, va := meanVar(a)
	mb, vb := meanVar(b)
	v := va/float64(max(a.Views, 1)) + vb/float64(max(b.Views, 1))
	pooled := (ma*float64(a.Views) + mb*float64(b.Views)) / float64(max(a.Views+b.Views, 1))
	tau2 := math.Pow(tauShare*pooled, 2)
	if v <= 0 || tau2 <= 0 {
		return 1
	}
	d := mb - ma
	return math.Sqrt(v/(v+tau2)) * math.Exp(d*d*tau2/(2*v*(v+tau2)))
}

// meanVar is the mean and variance of value per view: each gift's value, zero for the rest.
func meanVar(a Arm) (mean, variance float64) {
	n := float64(max(a.Views, int64(len(a.Values))))
	if n == 0 {
		return 0, 0
	}
	var sum, sq float64
	for _, x := range a.Values {
		sum += x
		sq += x * x
	}
	mean = sum / n
	return mean, sq/n - mean*mean
}
