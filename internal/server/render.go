package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"path"
	"regexp"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/pledge-news/pledge/internal/locale"
)

// Layout is what every page's template shows around its content. Each page's data is a struct
// that embeds Layout; templates read it as .Layout.
type Layout struct {
	// L is the reader's language: templates write {{.Layout.L.T "key"}}. render sets it from the
	// request when the handler has not.
	L         *locale.Catalogue
	Title     string
	Org       string
	CSRF      string
	Demo      bool
	RequestID string
	Staff     *StaffView
	// Num is a staff page's number format, in the staff member's language (staffLayout).
	Num   numberFormat
	Flash string
	// Catalogue is the donation form's catalogue script (currencyView.src), which prompt.js reads:
	// the page loads it before prompt.js.
	Catalogue string
}

// StaffView is the signed-in staff member shown in the staff pages' header.
type StaffView struct {
	Email string
	Admin bool
}

// page is implemented by every page struct through its embedded Layout.
type page interface{ layout() *Layout }

func (l *Layout) layout() *Layout { return l }

// renderer holds every page parsed at start: layout + partials + the page, so that a broken
// template stops start-up instead of failing one request.
type renderer struct {
	// base is the layout and the partials, never executed itself: each page is a clone of it
	// with the page's file parsed in.
	base  *template.Template
	fsys  fs.FS
	files map[string]string // page name -> its file
	// pages are the pages built so far. A page is built on its first use, not at start: a clone
	// copies the layout and every partial, some 80 KB a page, and a reader-facing instance
	// serves a handful of the forty pages. Every page is built once at start all the same (and
	// let go), so that a broken template stops start-up instead of failing one request.
	mu     sync.Mutex
	pages  map[string]*template.Template
	assets map[string]string // static path -> content hash
}

func newRenderer(fsys fs.FS, funcs template.FuncMap) (*renderer, error) {
	r := &renderer{fsys: fsys, files: map[string]string{}, pages: map[string]*template.Template{}, assets: map[string]string{}}
	static, err := fs.Sub(fsys, "static")
	if err != nil {
		return nil, err
	}
	err = fs.WalkDir(static, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(static, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		r.assets[p] = hex.EncodeToString(sum[:6])
		return nil
	})
	if err != nil {
		return nil, err
	}
	all := template.FuncMap{"asset": r.asset}
	for k, v := range funcs {
		all[k] = v
	}
	base := template.New("").Funcs(all)
	if err = parseSqueezed(base, fsys, "templates/layout.html"); err != nil {
		return nil, err
	}
	if partials, _ := fs.Glob(fsys, "templates/partials/*.html"); len(partials) > 0 {
		if err = parseSqueezed(base, fsys, partials...); err != nil {
			return nil, err
		}
	}
	pages, err := fs.Glob(fsys, "templates/pages/*.html")
	if err != nil {
		return nil, err
	}
	r.base = base
	for _, p := range pages {
		r.files[strings.TrimSuffix(path.Base(p), ".html")] = p
		if _, err := r.build(p); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// build parses a page's file into a clone of the layout and partials.
func (r *renderer) build(file string) (*template.Template, error) {
	t, err := r.base.Clone()
	if err != nil {
		return nil, err
	}
	if err := parseSqueezed(t, r.fsys, file); err != nil {
		return nil, fmt.Errorf("template %s: %w", file, err)
	}
	return t, nil
}

// page returns a page's template, built on its first use.
func (r *renderer) page(name string) (*template.Template, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := r.pages[name]; ok {
		return t, nil
	}
	file, ok := r.files[name]
	if !ok {
		return nil, fmt.Errorf("no template %q", name)
	}
	t, err := r.build(file)
	if err != nil {
		return nil, err
	}
	r.pages[name] = t
	return t, nil
}

// indent is a line break with the white space around it: the templates' indentation and blank
// lines.
var indent = regexp.MustCompile(`[ \t\r]*\n[ \t\r\n]*`)

// parseSqueezed parses template files into t as ParseFS does (each named by its base name), with
// each line break and the white space around it squeezed to one line break: the markup stays
// readable in the source and the pages (the prompt on every article view) carry no indentation.
// HTML treats the two alike, outside <pre> and <textarea>, which no template uses.
func parseSqueezed(t *template.Template, fsys fs.FS, files ...string) error {
	for _, f := range files {
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return err
		}
		if _, err := t.New(path.Base(f)).Parse(indent.ReplaceAllString(string(b), "\n")); err != nil {
			return err
		}
	}
	return nil
}

// asset returns the URL of a static file with its content hash, so it can be cached for good.
func (r *renderer) asset(p string) (string, error) {
	h, ok := r.assets[p]
	if !ok {
		return "", fmt.Errorf("no static file %q", p)
	}
	return "/static/" + p + "?v=" + h, nil
}

// execute renders a page (through "layout") or, with a name of the form "page#block", one block of
// a page without the layout (fragments such as the prompt).
func (r *renderer) execute(w io.Writer, name string, data any) error {
	pageName, block, ok := strings.Cut(name, "#")
	if !ok {
		block = "layout"
	}
	t, err := r.page(pageName)
	if err != nil {
		return err
	}
	return t.ExecuteTemplate(w, block, data)
}

// render writes a page with the given status, filling the Layout fields every page shares. The
// page is rendered into a buffer first, so a template error never sends half a page.
func (s *Server) render(c echo.Context, status int, name string, data page) error {
	l := data.layout()
	l.Org = s.cfg.Giving.Org
	if l.L == nil {
		l.L = s.lang(c)
	}
	l.Demo = s.cfg.Demo
	l.RequestID = c.Response().Header().Get(echo.HeaderXRequestID)
	if l.CSRF == "" {
		l.CSRF = csrfToken(c)
	}
	if g, ok := data.(*givingForm); ok {
		g.syncRemind()
	}
	var buf bytes.Buffer
	if err := s.renderer.execute(&buf, name, data); err != nil {
		return err
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// csrfToken returns the token the CSRF middleware put in the context. A browser that sends
// Sec-Fetch-Site is checked by that header instead; its forms carry echo's marker value.
func csrfToken(c echo.Context) string {
	if t, ok := c.Get("csrf").(string); ok {
		return t
	}
	return middleware.CSRFUsingSecFetchSite
}
