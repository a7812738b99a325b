package abtest

import (
	"fmt"
	"math"
	"slices"
	"testing"
)

// BenchmarkEnoughDataTable prints docs/experiments.md's table of what "enough data" means at 1,000 and 100,000
// views a day (two arms sharing them): when the minimum is reached, and how often, and how soon,
// a real difference in value per view is called within 8 weeks of daily looks. Run it with
// go test ./internal/abtest -run '^$' -bench EnoughDataTable -benchtime 1x (make bench runs it
// too). It is a benchmark, not a test: it prints figures for people and asserts nothing.
func BenchmarkEnoughDataTable(b *testing.B) {
	for range b.N {
		enoughDataTable()
	}
}

func enoughDataTable() {
	for _, perDay := range []int64{1000, 100000} {
		arm := perDay / 2
		minDay := math.Max(math.Ceil(MinViews/float64(arm)), math.Ceil(MinGifts/(float64(arm)*0.005)))
		fmt.Printf("%d views a day: minimum reached on about day %.0f\n", perDay, minDay)
		for _, lift := range []float64{1.05, 1.1, 1.2, 1.5, 2} {
			s := simulation{days: 56, viewsPerArm: arm, rate: 0.005, variantRate: 0.005, variantV: lift, draws: 2000}
			var days []int
			for i := range 200 {
				if d, call := s.run(uint64(9000 + i)); call == CallBetter {
					days = append(days, d)
				}
			}
			slices.Sort(days)
			median := 0
			if len(days) > 0 {
				median = days[len(days)/2]
			}
			fmt.Printf("  +%3.0f%%: called in %3.0f%% of runs, median day %d\n", 100*(lift-1), 100*float64(len(days))/200, median)
		}
	}
}
