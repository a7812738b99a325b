package abtest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

// TestDrawsFollowTheirDistributions: gammaDraw and betaDraw draw from the distributions they name,
// on every path of the sampler (a shape below 1, a Dirichlet atom's tiny prior share among them;
// exactly 1; the Beta posteriors' shapes from a few gifts to a million views). The empirical CDF
// of 20,000 draws must lie within the Kolmogorov-Smirnov bound of the exact CDF (gonum's, here in
// the tests only) at the 0.1% level, and the seed is fixed, so the test cannot flake.
func TestDrawsFollowTheirDistributions(t *testing.T) {
	const n = 20000
	bound := 1.95 / math.Sqrt(n) // the KS statistic's 0.1% critical value
	check := func(t *testing.T, draw func() float64, cdf func(float64) float64) {
		xs := make([]float64, n)
		for i := range xs {
			if xs[i] = draw(); xs[i] < 0 || math.IsNaN(xs[i]) {
				t.Fatalf("draw %d: %v", i, xs[i])
			}
		}
		slices.Sort(xs)
		d := 0.0
		for i, x := range xs {
			f := cdf(x)
			d = max(d, math.Abs(f-float64(i)/n), math.Abs(float64(i+1)/n-f))
		}
		if d > bound {
			t.Fatalf("KS distance %.4f > %.4f", d, bound)
		}
	}
	for _, a := range []float64{0.05, 0.2, 0.5, 0.999, 1, 1.5, 3, 31, 971, 1e6} {
		t.Run(fmt.Sprint("gamma ", a), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(16, 1))
			check(t, func() float64 { return gammaDraw(a, rng) }, distuv.Gamma{Alpha: a, Beta: 1}.CDF)
		})
	}
	for _, ab := range [][2]float64{{1, 1}, {1, 100}, {31, 971}, {4, 2}, {1001, 1e6}, {0.3, 0.7}} {
		t.Run(fmt.Sprint("beta ", ab), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, 2))
			check(t, func() float64 { return betaDraw(ab[0], ab[1], rng) }, distuv.Beta{Alpha: ab[0], Beta: ab[1]}.CDF)
		})
	}
	// A shape far below any gift count's prior share still draws a number, not NaN: at worst 0.
	rng := rand.New(rand.NewPCG(1, 1))
	for range 1000 {
		if g := gammaDraw(1e-6, rng); g < 0 || math.IsNaN(g) || math.IsInf(g, 0) {
			t.Fatalf("gammaDraw(1e-6) = %v", g)
		}
	}
}

// TestRateIsGonumsBeta: Rate's mean and interval are distuv.Beta's mean and quantiles.
func TestRateIsGonumsBeta(t *testing.T) {
	for _, kn := range [][2]int64{{0, 0}, {0, 99}, {1, 2}, {30, 1000}, {99, 99}, {5000, 1000000}} {
		b := distuv.Beta{Alpha: float64(kn[0]) + 1, Beta: float64(kn[1]-kn[0]) + 1}
		want := Estimate{Mean: b.Mean(), Interval: Interval{Low: b.Quantile(0.025), High: b.Quantile(0.975)}}
		if got := Rate(kn[0], kn[1]); got != want {
			t.Errorf("Rate(%d, %d) = %+v, gonum's Beta gives %+v", kn[0], kn[1], got, want)
		}
	}
}
