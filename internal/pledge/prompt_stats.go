package pledge

import (
	"context"
	"strings"
	"time"
	"unicode"
)

// PromptStat counts what happened to the prompt under one article and campaign on one UTC day.
type PromptStat struct {
	Day      time.Time // the UTC day's start
	Article  string
	Campaign string
	Views    int64
	Clicks   int64
	// Title is the article's headline as embed.js last reported it ("" when it did not): the
	// store keeps one per article, replaced when it changes.
	Title string
}

// CleanTitle makes a reported headline safe to keep: plain text of at most 200 characters, no
// control characters, spaces collapsed. Templates escape it; it is never treated as HTML.
func CleanTitle(s string) string {
	var b strings.Builder
	space := false
	n := 0
	for _, r := range s {
		if n >= 200 {
			break
		}
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			n++
			space = false
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// PromptStatService adds counts to the stored prompt statistics.
type PromptStatService interface {
	// AddPromptStats adds each stat's views and clicks to the stored ones for its key.
	AddPromptStats(ctx context.Context, stats []PromptStat) error
}
