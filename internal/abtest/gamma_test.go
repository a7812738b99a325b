package abtest

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

// TestDrawsAreGonums: gammaDraw and betaDraw give, draw for draw, what gonum's distuv samplers
// give from the same stream (the experiments' figures were first computed with them), on every
// branch of the sampler: a shape below 0.2 (a Dirichlet atom's prior share), below 1, exactly 1,
// and the Beta posteriors' shapes from a few gifts to a million views.
func TestDrawsAreGonums(t *testing.T) {
	for _, a := range []float64{0.001, 0.05, 0.19999, 0.2, 0.5, 0.999, 1, 1.5, 3, 31, 971, 1e6} {
		t.Run(fmt.Sprint("gamma ", a), func(t *testing.T) {
			mine, theirs := rand.New(rand.NewPCG(16, 1)), rand.New(rand.NewPCG(16, 1))
			g := distuv.Gamma{Alpha: a, Beta: 1, Src: theirs}
			for i := range 5000 {
				if got, want := gammaDraw(a, mine), g.Rand(); got != want {
					t.Fatalf("draw %d: %v, gonum's %v", i, got, want)
				}
			}
		})
	}
	for _, ab := range [][2]float64{{1, 1}, {1, 100}, {31, 971}, {4, 2}, {1001, 1e6}} {
		t.Run(fmt.Sprint("beta ", ab), func(t *testing.T) {
			mine, theirs := rand.New(rand.NewPCG(7, 2)), rand.New(rand.NewPCG(7, 2))
			b := distuv.Beta{Alpha: ab[0], Beta: ab[1], Src: theirs}
			for i := range 5000 {
				if got, want := betaDraw(ab[0], ab[1], mine), b.Rand(); got != want {
					t.Fatalf("draw %d: %v, gonum's %v", i, got, want)
				}
			}
		})
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
