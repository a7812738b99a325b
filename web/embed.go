// Package web holds the templates and static files, embedded into the binary so that Pledge
// serves everything itself: no CDN, no external fonts or scripts.
package web

import "embed"

// FS holds templates/ and static/.
//
//go:embed templates static
var FS embed.FS
