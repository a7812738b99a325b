package server

import (
	"math"
	"os"
	"regexp"
	"strconv"
	"testing"
)

// TestFocusRingContrast: the focus ring must stand out at 3:1 against the white card (WCAG 2.2
// 1.4.11); the orange it had was 2:1.
func TestFocusRingContrast(t *testing.T) {
	b, err := os.ReadFile("../../web/static/css/pledge.css")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`--focus:\s*#([0-9a-fA-F]{6})`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no --focus colour in pledge.css")
	}
	lum := func(hex string) float64 {
		var l float64
		for i, w := range []float64{0.2126, 0.7152, 0.0722} {
			v, _ := strconv.ParseUint(hex[2*i:2*i+2], 16, 8)
			c := float64(v) / 255
			if c <= 0.04045 {
				c /= 12.92
			} else {
				c = math.Pow((c+0.055)/1.055, 2.4)
			}
			l += w * c
		}
		return l
	}
	if ratio := 1.05 / (lum(string(m[1])) + 0.05); ratio < 3 {
		t.Fatalf("focus ring #%s on white: %.2f:1, want at least 3:1", m[1], ratio)
	}
}
