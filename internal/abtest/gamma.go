package abtest

import (
	"math"
	"math/rand/v2"
)

// gammaDraw returns a draw from Gamma(a, 1) (shape a > 0, rate 1), taking from rng exactly the
// numbers gonum's distuv.Gamma{Alpha: a, Beta: 1, Src: rng}.Rand() (v0.17.0) takes, so the
// figures are those of gonum's sampler (a test compares them draw by draw). It is that sampler,
// as gonum wrote it (BSD licence, © The Gonum Authors): distuv's other distributions bring in
// gonum's linear algebra (lapack, blas, mat), some 2 MB of `pledge serve`'s mapped binary that
// the service never runs.
func gammaDraw(a float64, rng *rand.Rand) float64 {
	// The 0.2 threshold is from https://www4.stat.ncsu.edu/~rmartin/Codes/rgamss.R, described in
	// https://arxiv.org/abs/1302.1884.
	const smallAlphaThresh = 0.2
	switch {
	case a <= 0:
		panic("gamma: alpha <= 0")
	case a == 1:
		return rng.ExpFloat64()
	case a < smallAlphaThresh:
		// Liu, Martin and Syring, "Simulating from a gamma distribution with small shape
		// parameter" (http://link.springer.com/article/10.1007/s00180-016-0692-0), in log space.
		lambda := 1/a - 1
		lr := -math.Log1p(1 / lambda / math.E)
		for {
			e := rng.ExpFloat64()
			var z float64
			if e >= -lr {
				z = e + lr
			} else {
				z = -rng.ExpFloat64() / lambda
			}
			eza := math.Exp(-z / a)
			lh := -z - eza
			var lEta float64
			if z >= 0 {
				lEta = -z
			} else {
				lEta = -1 + lambda*z
			}
			if lh-lEta > -rng.ExpFloat64() {
				return eza
			}
		}
	default:
		// Marsaglia and Tsang, "A simple method for generating gamma variables", ACM TOMS 26.3
		// (2000): 363-372.
		d := a - 1.0/3
		m := 1.0
		if a < 1 {
			d += 1.0
			m = math.Pow(rng.Float64(), 1/a)
		}
		c := 1 / (3 * math.Sqrt(d))
		for {
			x := rng.NormFloat64()
			v := 1 + x*c
			if v <= 0.0 {
				continue
			}
			v = v * v * v
			u := rng.Float64()
			if u < 1.0-0.0331*(x*x)*(x*x) {
				return m * d * v
			}
			if math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
				return m * d * v
			}
		}
	}
}

// betaDraw returns a draw from Beta(a, b) as distuv.Beta's Rand makes it: two gamma draws,
// a's first.
func betaDraw(a, b float64, rng *rand.Rand) float64 {
	ga := gammaDraw(a, rng)
	gb := gammaDraw(b, rng)
	return ga / (ga + gb)
}
