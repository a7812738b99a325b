package abtest

import (
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

// giftMix is a realistic spread of annualised gift values (minor units): one-off gifts of 5 to
// 50, monthly gifts of 5 and 10 (× 12), annual gifts of 100, as a newsroom's ledger shows them.
var giftMix = []struct {
	value, share float64
}{
	{500, 0.25}, {1000, 0.25}, {2500, 0.12}, {5000, 0.05},
	{6000, 0.15}, {12000, 0.08}, {10000, 0.10},
}

func drawGift(rng *rand.Rand) float64 {
	u, acc := rng.Float64(), 0.0
	for _, g := range giftMix {
		acc += g.share
		if u < acc {
			return g.value
		}
	}
	return giftMix[len(giftMix)-1].value
}

// simArm adds one day's views and gifts to an arm: gifts ~ Binomial(views, rate).
func simDay(a *Arm, views int64, rate, valueScale float64, rng *rand.Rand) {
	a.Views += views
	g := distuv.Binomial{N: float64(views), P: rate, Src: rng}.Rand()
	for range int(g) {
		a.Values = append(a.Values, drawGift(rng)*valueScale)
	}
}

// simulation is an experiment looked at every day: control and one variant, each shown to
// viewsPerArm readers a day. It returns the first day a call (better or worse) was made, or 0.
type simulation struct {
	days                  int
	viewsPerArm           int64
	rate                  float64
	variantRate, variantV float64 // the variant's gift rate and value scale
	draws                 int
}

func (s simulation) run(seed uint64) (day int, verdict string) {
	rng := rand.New(rand.NewPCG(seed, 99))
	control, variant := Arm{Name: "control"}, Arm{Name: "variant"}
	for d := 1; d <= s.days; d++ {
		simDay(&control, s.viewsPerArm, s.rate, 1, rng)
		simDay(&variant, s.viewsPerArm, s.variantRate, s.variantV, rng)
		if v := judge(control, variant, Options{Draws: s.draws, Seed: seed + uint64(d)}, false); v.Call != CallNone && v.Call != CallTooEarly {
			return d, v.Call
		}
	}
	return 0, ""
}

// TestAATestsRarelyCalled is the check that an A/A test is not detected, at the stated
// error rate, when someone looks every day: 400 simulated experiments with no difference, each
// looked at daily for 8 weeks, at a small newsroom's traffic and a large one's. A call on any day
// counts as an error; at most Alpha (5%) may err.
func TestAATestsRarelyCalled(t *testing.T) {
	for _, views := range []int64{500, 50000} {
		s := simulation{days: 56, viewsPerArm: views, rate: 0.005, variantRate: 0.005, variantV: 1, draws: 2000}
		runs, called := 400, 0
		for i := range runs {
			if d, _ := s.run(uint64(1000 + i)); d > 0 {
				called++
			}
		}
		if rate := float64(called) / float64(runs); rate > Alpha {
			t.Errorf("%d views a day per arm: %d of %d A/A tests called (%.1f%%), want at most %.0f%%", views, called, runs, 100*rate, 100*Alpha)
		} else {
			t.Logf("%d views a day per arm: %d of %d A/A tests called", views, called, runs)
		}
	}
}

// TestKnownDifferenceDetected: a variant whose gifts are worth 50% more (the same rate) at 5,000
// views a day per arm is called better in nearly every simulated run within 8 weeks, and never
// worse; one worth a third less is called worse.
func TestKnownDifferenceDetected(t *testing.T) {
	for _, tc := range []struct {
		scale float64
		want  string
	}{{1.5, CallBetter}, {2.0 / 3, CallWorse}} {
		s := simulation{days: 56, viewsPerArm: 5000, rate: 0.005, variantRate: 0.005, variantV: tc.scale, draws: 2000}
		runs, right, wrong := 100, 0, 0
		for i := range runs {
			switch _, call := s.run(uint64(5000 + i)); call {
			case tc.want:
				right++
			case "":
			default:
				wrong++
			}
		}
		if right < 90 || wrong > 0 {
			t.Errorf("value × %.2f: %d of %d runs called %s, %d the other way", tc.scale, right, runs, tc.want, wrong)
		}
	}
}
