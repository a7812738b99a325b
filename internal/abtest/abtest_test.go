package abtest

import (
	"math"
	"math/rand/v2"
	"testing"
)

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.6g, want %.6g ± %.2g", what, got, want, tol)
	}
}

// TestRateClosedForms checks the Beta posterior's interval where the Beta CDF has a closed form:
// no successes in 99 trials is Beta(1, 100), whose CDF is 1 - (1-x)^100, so its quantile q is
// 1 - (1-q)^(1/100); all 99 is Beta(100, 1), CDF x^100, quantile q^(1/100).
func TestRateClosedForms(t *testing.T) {
	r := Rate(0, 99)
	near(t, "Beta(1,100) mean", r.Mean, 1.0/101, 1e-12)
	near(t, "Beta(1,100) 2.5%", r.Low, 1-math.Pow(0.975, 1.0/100), 1e-9)
	near(t, "Beta(1,100) 97.5%", r.High, 1-math.Pow(0.025, 1.0/100), 1e-9)
	near(t, "0.000253146 (by hand)", r.Low, 0.000253146032977436, 1e-12)
	r = Rate(99, 99)
	near(t, "Beta(100,1) 2.5%", r.Low, math.Pow(0.025, 1.0/100), 1e-9)
	near(t, "Beta(100,1) 97.5%", r.High, math.Pow(0.975, 1.0/100), 1e-9)
	// Beta(2, 2): symmetric, median 1/2, CDF 3x² - 2x³.
	r = Rate(1, 2)
	near(t, "Beta(2,2) symmetric", r.Low+r.High, 1, 1e-9)
	near(t, "Beta(2,2) CDF at 2.5%", 3*r.Low*r.Low-2*r.Low*r.Low*r.Low, 0.025, 1e-9)
}

// TestProbBetterRateKnownCases: P(B > A) for Beta posteriors, against integrals done by hand.
func TestProbBetterRateKnownCases(t *testing.T) {
	// A uniform, B with density 2b: P = E[B] = 2/3.
	near(t, "Beta(2,1) vs uniform", ProbBetterRate(1, 1, 2, 1), 2.0/3, 1e-12)
	// A with density 2(1-a), B with 2b: ∫ 2b (2b - b²) db = 5/6.
	near(t, "Beta(2,1) vs Beta(1,2)", ProbBetterRate(1, 2, 2, 1), 5.0/6, 1e-12)
	near(t, "equal", ProbBetterRate(31, 971, 31, 971), 0.5, 0.01) // not exactly 1/2: ties have measure 0, but the sum is exact
	// The two orders add up to one.
	p, q := ProbBetterRate(31, 971, 46, 956), ProbBetterRate(46, 956, 31, 971)
	near(t, "P(B>A) + P(A>B)", p+q, 1, 1e-9)
	if p < 0.9 || p > 0.99 {
		t.Errorf("30/1000 vs 45/1000: P = %.4f, want about 0.96", p)
	}
}

// TestValueReducesToConversion: when every gift is worth the same, value per view is the gift
// rate times that value, so the Monte Carlo probability must match the closed form.
func TestValueReducesToConversion(t *testing.T) {
	ones := func(n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = 1000
		}
		return v
	}
	a, b := Arm{Name: "control", Views: 1000, Values: ones(30)}, Arm{Name: "b", Views: 1000, Values: ones(45)}
	an := Analyse([]Arm{a, b}, Options{})
	got := Compare(an.Arms[1], an.Arms[0]).ProbBetter
	want := ProbBetterRate(31, 971, 46, 956)
	near(t, "Monte Carlo P(better)", got, want, 0.012) // 20,000 draws: standard error 0.0015
	ctl, _ := an.Arm("control")
	near(t, "control value per view (mean of Beta(31,971) × 1000)", ctl.Value.Mean, 1000*31.0/1002, 0.2)
	r := Rate(30, 1000)
	near(t, "control 2.5%", ctl.Value.Low, 1000*r.Low, 0.5)
	near(t, "control 97.5%", ctl.Value.High, 1000*r.High, 0.5)
}

func TestValueEstimateAndDeterminism(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	a := Arm{Name: "a", Views: 100000}
	var sum float64
	for range 500 {
		v := drawGift(rng)
		sum += v
		a.Values = append(a.Values, v)
	}
	an := Analyse([]Arm{a}, Options{})
	want := sum / 100000
	r := an.Arms[0].Value
	near(t, "value per view", r.Mean, want, want*0.02)
	if !(r.Low < want && want < r.High) || r.High-r.Low > want*0.4 {
		t.Errorf("interval %+v around %.4f", r, want)
	}
	if again := Analyse([]Arm{a}, Options{}).Arms[0].Value; again != r {
		t.Errorf("not repeatable: %+v then %+v", r, again)
	}
	// No gift anywhere: nothing to value, and no preference.
	z := Analyse([]Arm{{Name: "x", Views: 10}, {Name: "y", Views: 10}}, Options{})
	if c := Compare(z.Arms[1], z.Arms[0]); c.ProbBetter != 0.5 || z.Arms[0].Value.High != 0 {
		t.Errorf("no gifts: %+v %+v", c, z.Arms[0].Value)
	}
}

// TestMixtureRatioByHand: views 4 and 4, gifts [2] and [2, 2]: means 0.5 and 1, variances 0.75
// and 1, V = 0.75/4 + 1/4, τ = 0.3 × 0.75; the formula evaluated separately gives 0.97519769.
func TestMixtureRatioByHand(t *testing.T) {
	got := MixtureRatio(Arm{Views: 4, Values: []float64{2}}, Arm{Views: 4, Values: []float64{2, 2}}, 0.3)
	near(t, "Λ", got, 0.9751976916150321, 1e-12)
}

func TestJudgeNeedsEnoughData(t *testing.T) {
	few := Arm{Views: 100000, Values: make([]float64, MinGifts-1)}
	many := Arm{Views: 100000, Values: make([]float64, MinGifts)}
	if v := Judge(many, few, Options{}); v.Call != CallTooEarly {
		t.Errorf("%d gifts: %q", MinGifts-1, v.Call)
	}
	if v := Judge(Arm{Views: MinViews - 1, Values: make([]float64, MinGifts)}, many, Options{}); v.Call != CallTooEarly {
		t.Errorf("%d views: %q", MinViews-1, v.Call)
	}
}
