// Package pdf renders simple documents (a title, lines of text, tables) as PDF with
// github.com/go-pdf/fpdf: the year-end statements supporters receive and staff download.
package pdf

import (
	"bytes"
	"fmt"

	"github.com/go-pdf/fpdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
)

// font is the family every document is set in: the Go fonts (golang.org/x/image/font/gofont),
// embedded as UTF-8 TrueType subsets. They cover Latin, Greek and Cyrillic, so a statement in
// Russian, or a supporter's or newsroom's name in any of those scripts, prints as written.
const font = "Go"

// Document is what a PDF shows, top to bottom: the title, the header lines, each table (its first
// row is the header row), then the footer lines.
type Document struct {
	Title  string
	Header []string
	Tables [][][]string
	Footer []string
}

// Render writes d as an A4 PDF, its text in the Go fonts (Latin, Greek and Cyrillic).
func Render(d Document) ([]byte, error) {
	f := fpdf.New("P", "mm", "A4", "")
	f.SetTitle(d.Title, true)
	f.SetCreator("Pledge", true)
	f.SetMargins(20, 20, 20)
	f.AddUTF8FontFromBytes(font, "", goregular.TTF)
	f.AddUTF8FontFromBytes(font, "B", gobold.TTF)
	if err := f.Error(); err != nil {
		return nil, fmt.Errorf("pdf: font: %w", err)
	}
	f.AddPage()
	f.SetFont(font, "B", 16)
	f.MultiCell(0, 8, d.Title, "", "L", false)
	f.Ln(2)
	f.SetFont(font, "", 11)
	for _, l := range d.Header {
		f.MultiCell(0, 6, l, "", "L", false)
	}
	width, _ := f.GetPageSize()
	left, _, right, _ := f.GetMargins()
	for _, t := range d.Tables {
		if len(t) == 0 {
			continue
		}
		f.Ln(4)
		col := (width - left - right) / float64(len(t[0]))
		for i, row := range t {
			style := ""
			if i == 0 {
				style = "B"
			}
			f.SetFont(font, style, 10)
			for _, cell := range row {
				f.CellFormat(col, 7, cell, "B", 0, "L", false, 0, "")
			}
			f.Ln(-1)
		}
	}
	f.Ln(6)
	f.SetFont(font, "", 10)
	for _, l := range d.Footer {
		if l != "" {
			f.MultiCell(0, 5, l, "", "L", false)
		}
	}
	var b bytes.Buffer
	if err := f.Output(&b); err != nil {
		return nil, fmt.Errorf("pdf: %w", err)
	}
	return b.Bytes(), nil
}
