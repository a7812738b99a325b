package abtest

import (
	"math"
	"math/rand/v2"
)

// gammaDraw returns a draw from Gamma(a, 1) (shape a > 0, rate 1), by Marsaglia and Tsang's
// squeeze method ("A simple method for generating gamma variables", ACM TOMS 26(3), 2000). A
// shape below 1 is drawn as Gamma(a+1)·U^(1/a) (the paper's section 6), in logarithms so that a
// Dirichlet atom's tiny prior share does not underflow before it must. distuv's samplers would do
// as well, but bring gonum's linear algebra (lapack, blas, mat) into the binary with them.
func gammaDraw(a float64, rng *rand.Rand) float64 {
	if a < 1 {
		u := 1 - rng.Float64() // in (0, 1]: its logarithm is finite
		return math.Exp(math.Log(gammaDraw(a+1, rng)) + math.Log(u)/a)
	}
	d := a - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := rng.Float64()
		if u < 1-0.0331*x*x*x*x || math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return d * v
		}
	}
}

// betaDraw returns a draw from Beta(a, b): X/(X+Y) for X ~ Gamma(a), Y ~ Gamma(b).
func betaDraw(a, b float64, rng *rand.Rand) float64 {
	x := gammaDraw(a, rng)
	return x / (x + gammaDraw(b, rng))
}
