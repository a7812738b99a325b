// Package chart draws the staff reports' charts as small, self-contained SVG: no script, no
// external resources, colours from classes (styled by staff.css), and an accessible name and
// description on each. Every chart is meant to sit beside a table of the same numbers.
package chart

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strings"
)

// Series is one named row of values; Class picks its colour in the stylesheet.
type Series struct {
	Name   string
	Class  string
	Values []float64
}

// Chart is what every chart needs: an id unique on the page (for aria references), an accessible
// title and description, and how to write a value on the axis.
type Chart struct {
	ID     string
	Title  string
	Desc   string
	Format func(float64) string
}

const (
	width   = 720.0
	height  = 260.0
	padL    = 64.0
	padR    = 12.0
	padT    = 30.0
	padB    = 30.0
	plotW   = width - padL - padR
	plotH   = height - padT - padB
	barGap  = 0.22
	maxTick = 4
)

func esc(s string) string { return html.EscapeString(s) }

func (c Chart) format(v float64) string {
	if c.Format == nil {
		return fmt.Sprintf("%g", v)
	}
	return c.Format(v)
}

// open starts the svg element with its accessible name.
func (c Chart) open(b *strings.Builder, w, h float64, class string) {
	fmt.Fprintf(b, `<svg class="chart %s" viewBox="0 0 %.0f %.0f" role="img" aria-labelledby="%s-t %s-d" xmlns="http://www.w3.org/2000/svg">`,
		class, w, h, esc(c.ID), esc(c.ID))
	fmt.Fprintf(b, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, esc(c.ID), esc(c.Title), esc(c.ID), esc(c.Desc))
}

// niceMax rounds v up to 1, 2 or 5 times a power of ten, so the gridlines fall on round numbers.
func niceMax(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

// grid draws horizontal gridlines with their values and returns the y scale.
func (c Chart) grid(b *strings.Builder, top float64) func(float64) float64 {
	y := func(v float64) float64 { return padT + plotH - v/top*plotH }
	b.WriteString(`<g class="grid" aria-hidden="true">`)
	for i := 0; i <= maxTick; i++ {
		v := top * float64(i) / maxTick
		fmt.Fprintf(b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f"/>`, padL, width-padR, y(v), y(v))
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`, padL-6, y(v)+4, esc(c.format(v)))
	}
	b.WriteString(`</g>`)
	return y
}

// xLabels writes a few of the labels under the plot, evenly spaced.
func xLabels(b *strings.Builder, labels []string, x func(i int) float64) {
	n := len(labels)
	if n == 0 {
		return
	}
	step := max(1, int(math.Ceil(float64(n)/8)))
	b.WriteString(`<g class="axis" aria-hidden="true">`)
	for i := 0; i < n; i += step {
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, x(i), height-10, esc(labels[i]))
	}
	b.WriteString(`</g>`)
}

// StackedBars draws one bar per label with the series stacked in order (bottom first).
func StackedBars(c Chart, labels []string, series []Series) template.HTML {
	var b strings.Builder
	c.open(&b, width, height, "bars")
	var top float64
	for i := range labels {
		var sum float64
		for _, s := range series {
			if i < len(s.Values) {
				sum += s.Values[i]
			}
		}
		top = max(top, sum)
	}
	top = niceMax(top)
	y := c.grid(&b, top)
	slot := plotW / float64(max(1, len(labels)))
	x := func(i int) float64 { return padL + slot*(float64(i)+0.5) }
	b.WriteString(`<g class="marks">`)
	for i, l := range labels {
		base := 0.0
		for _, s := range series {
			if i >= len(s.Values) || s.Values[i] <= 0 {
				continue
			}
			v := s.Values[i]
			y0, y1 := y(base), y(base+v)
			fmt.Fprintf(&b, `<rect class="%s" x="%.2f" y="%.2f" width="%.2f" height="%.2f"><title>%s · %s: %s</title></rect>`,
				esc(s.Class), padL+slot*float64(i)+slot*barGap/2, y1, slot*(1-barGap), math.Max(0.5, y0-y1),
				esc(l), esc(s.Name), esc(c.format(v)))
			base += v
		}
	}
	b.WriteString(`</g>`)
	xLabels(&b, labels, x)
	b.WriteString(legend(series))
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// legend draws the series names in the top right corner.
func legend(series []Series) string {
	var b strings.Builder
	b.WriteString(`<g class="legend" aria-hidden="true">`)
	x := padL
	for _, s := range series {
		fmt.Fprintf(&b, `<rect class="%s" x="%.1f" y="4" width="10" height="10" rx="2"/><text x="%.1f" y="13">%s</text>`,
			esc(s.Class), x, x+14, esc(s.Name))
		x += 24 + 7*float64(len([]rune(s.Name)))
	}
	b.WriteString(`</g>`)
	return b.String()
}

// Line draws one series as a line with a soft area under it.
func Line(c Chart, labels []string, s Series) template.HTML {
	var b strings.Builder
	c.open(&b, width, height, "line")
	var top float64
	for _, v := range s.Values {
		top = max(top, v)
	}
	top = niceMax(top)
	y := c.grid(&b, top)
	n := len(s.Values)
	x := func(i int) float64 {
		if n <= 1 {
			return padL + plotW/2
		}
		return padL + plotW*float64(i)/float64(n-1)
	}
	if n > 0 {
		var pts strings.Builder
		for i, v := range s.Values {
			fmt.Fprintf(&pts, "%.2f,%.2f ", x(i), y(v))
		}
		fmt.Fprintf(&b, `<polygon class="area %s" points="%.2f,%.2f %s%.2f,%.2f"/>`, esc(s.Class), x(0), y(0), pts.String(), x(n-1), y(0))
		fmt.Fprintf(&b, `<polyline class="stroke %s" points="%s"/>`, esc(s.Class), strings.TrimSpace(pts.String()))
		last := s.Values[n-1]
		fmt.Fprintf(&b, `<circle class="dot %s" cx="%.2f" cy="%.2f" r="4"><title>%s: %s</title></circle>`,
			esc(s.Class), x(n-1), y(last), esc(labels[min(n-1, len(labels)-1)]), esc(c.format(last)))
	}
	xLabels(&b, labels, x)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// Bar is one horizontal bar: a label, a value, and the value as written for people.
type Bar struct {
	Label string
	Value float64
	Text  string
	Class string
}

// HBars draws horizontal bars, one per row, largest scale first; with funnel set, each bar also
// shows its share of the first (the step-to-step drop of a funnel).
func HBars(c Chart, bars []Bar, funnel bool) template.HTML {
	var b strings.Builder
	const rowH, labelW, textW = 30.0, 230.0, 150.0
	h := 8 + rowH*float64(len(bars)) + 6
	c.open(&b, width, h, "hbars")
	var top float64
	for _, r := range bars {
		top = max(top, r.Value)
	}
	if top <= 0 {
		top = 1
	}
	barW := width - labelW - textW - padR
	for i, r := range bars {
		yy := 8 + rowH*float64(i)
		label := r.Label
		if len([]rune(label)) > 34 {
			label = string([]rune(label)[:33]) + "…"
		}
		text := r.Text
		if funnel && i > 0 && bars[0].Value > 0 {
			text += fmt.Sprintf(" (%.1f%%)", 100*r.Value/bars[0].Value)
		}
		class := r.Class
		if class == "" {
			class = "s1"
		}
		fmt.Fprintf(&b, `<text class="label" x="%.1f" y="%.1f" text-anchor="end">%s</text>`, labelW-8, yy+rowH/2+4, esc(label))
		fmt.Fprintf(&b, `<rect class="track" x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="3"/>`, labelW, yy+6, barW, rowH-12)
		fmt.Fprintf(&b, `<rect class="%s" x="%.1f" y="%.1f" width="%.2f" height="%.1f" rx="3"><title>%s: %s</title></rect>`,
			esc(class), labelW, yy+6, math.Max(1, barW*r.Value/top), rowH-12, esc(r.Label), esc(text))
		fmt.Fprintf(&b, `<text class="value" x="%.1f" y="%.1f">%s</text>`, labelW+barW+8, yy+rowH/2+4, esc(text))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
