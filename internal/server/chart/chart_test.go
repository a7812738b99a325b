package chart

import (
	"encoding/xml"
	"strings"
	"testing"
)

// wellFormed parses the SVG as XML, so a broken tag or an unescaped label fails.
func wellFormed(t *testing.T, svg string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(svg))
	for {
		_, err := d.Token()
		if err != nil {
			if err.Error() == "EOF" {
				return
			}
			t.Fatalf("not well-formed: %v\n%s", err, svg)
		}
	}
}

func TestChartsAreAccessibleAndEscaped(t *testing.T) {
	evil := `<script>alert("x")</script> & co`
	c := Chart{ID: "t1", Title: "Money " + evil, Desc: "desc " + evil}
	for name, svg := range map[string]string{
		"stacked": string(StackedBars(c, []string{"1 Mar", evil}, []Series{{Name: evil, Class: "s1", Values: []float64{1, 2}}, {Name: "b", Class: "s2", Values: []float64{3, 0}}})),
		"line":    string(Line(c, []string{"a", "b", evil}, Series{Name: "MRR", Class: "s2", Values: []float64{1, 5, 3}})),
		"hbars":   string(HBars(c, []Bar{{Label: evil, Value: 10, Text: "10"}, {Label: "b", Value: 5, Text: "5"}}, true)),
		"empty":   string(HBars(c, nil, false)),
	} {
		t.Run(name, func(t *testing.T) {
			if strings.Contains(svg, "<script") {
				t.Fatal("a label was not escaped")
			}
			for _, want := range []string{`role="img"`, `aria-labelledby="t1-t t1-d"`, `<title id="t1-t">`, `<desc id="t1-d">`} {
				if !strings.Contains(svg, want) {
					t.Errorf("no %s", want)
				}
			}
			wellFormed(t, svg)
		})
	}
}

func TestStackedBarHeights(t *testing.T) {
	svg := string(StackedBars(Chart{ID: "h"}, []string{"a", "b"}, []Series{{Name: "x", Class: "s1", Values: []float64{100, 50}}}))
	// The scale tops out at 100, so the first bar fills the plot and the second half of it.
	if !strings.Contains(svg, `height="200.00"`) || !strings.Contains(svg, `height="100.00"`) {
		t.Errorf("bar heights are off:\n%s", svg)
	}
}

func TestNiceMax(t *testing.T) {
	for in, want := range map[float64]float64{0: 1, 7: 10, 12: 20, 230: 250, 4100: 5000, 1: 1} {
		if got := niceMax(in); got != want {
			t.Errorf("niceMax(%v) = %v, want %v", in, got, want)
		}
	}
}
