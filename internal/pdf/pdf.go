// Package pdf renders simple documents (a title, lines of text, tables) as PDF with
// github.com/go-pdf/fpdf: the year-end statements supporters receive and staff download.
package pdf

import (
	"bytes"
	"fmt"

	"github.com/go-pdf/fpdf"
)

// Document is what a PDF shows, top to bottom: the title, the header lines, each table (its first
// row is the header row), then the footer lines.
type Document struct {
	Title  string
	Header []string
	Tables [][][]string
	Footer []string
}

// Render writes d as an A4 PDF. Text uses the core Helvetica font, which covers Western European
// scripts (code page 1252): characters outside it are replaced.
func Render(d Document) ([]byte, error) {
	f := fpdf.New("P", "mm", "A4", "")
	f.SetTitle(d.Title, true)
	f.SetCreator("Pledge", true)
	f.SetMargins(20, 20, 20)
	f.AddPage()
	tr := f.UnicodeTranslatorFromDescriptor("")
	f.SetFont("Helvetica", "B", 16)
	f.MultiCell(0, 8, tr(d.Title), "", "L", false)
	f.Ln(2)
	f.SetFont("Helvetica", "", 11)
	for _, l := range d.Header {
		f.MultiCell(0, 6, tr(l), "", "L", false)
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
			f.SetFont("Helvetica", style, 10)
			for _, cell := range row {
				f.CellFormat(col, 7, tr(cell), "B", 0, "L", false, 0, "")
			}
			f.Ln(-1)
		}
	}
	f.Ln(6)
	f.SetFont("Helvetica", "", 10)
	for _, l := range d.Footer {
		if l != "" {
			f.MultiCell(0, 5, tr(l), "", "L", false)
		}
	}
	var b bytes.Buffer
	if err := f.Output(&b); err != nil {
		return nil, fmt.Errorf("pdf: %w", err)
	}
	return b.Bytes(), nil
}
