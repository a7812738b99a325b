package server

import (
	"html/template"
	"testing"
)

func TestLetterMarkup(t *testing.T) {
	origins := []string{"https://news.example"}
	for _, tt := range []struct {
		name, in string
		want     []template.HTML
	}{
		{"paragraphs", "Dear readers,\n\nWe refuse.\n\n\n\nThank you.", []template.HTML{"Dear readers,", "We refuse.", "Thank you."}},
		{"bold and italic", "We **refuse** to be *silenced*.", []template.HTML{"We <strong>refuse</strong> to be <em>silenced</em>."}},
		{"link to an origin", "[Read why](https://news.example/why).", []template.HTML{`<a href="https://news.example/why" target="_top">Read why</a>.`}},
		{"foreign link is text", "[x](https://evil.example/)", []template.HTML{"[x](https://evil.example/)"}},
		{"script link is text", "[x](javascript:alert(1))", []template.HTML{"[x](javascript:alert(1))"}},
		{"html is escaped", `<script>alert("x")</script> & <b>`, []template.HTML{"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;"}},
		{"attribute escape", `[a](https://news.example/"onmouseover=x)`, []template.HTML{`<a href="https://news.example/&#34;onmouseover=x" target="_top">a</a>`}},
		{"unclosed stars", "5 * 3 and **open", []template.HTML{"5 * 3 and **open"}},
		{"line break", "Yours,\nThe editors", []template.HTML{"Yours,<br>The editors"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := letterParagraphs(tt.in, origins)
			if len(got) != len(tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("paragraph %d = %q, want %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}
