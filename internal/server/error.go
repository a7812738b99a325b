package server

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/pledge-news/pledge/internal/pledge"
)

// codes maps domain error codes to HTTP statuses.
var codes = map[string]int{
	pledge.EINVALID:      http.StatusUnprocessableEntity,
	pledge.ENOTFOUND:     http.StatusNotFound,
	pledge.ECONFLICT:     http.StatusConflict,
	pledge.EUNAUTHORIZED: http.StatusUnauthorized,
	pledge.EFORBIDDEN:    http.StatusForbidden,
	pledge.ERATELIMIT:    http.StatusTooManyRequests,
	pledge.EUNAVAILABLE:  http.StatusServiceUnavailable,
	pledge.EINTERNAL:     http.StatusInternalServerError,
}

// headings are the titles of error pages, by status.
var headings = map[int]string{
	http.StatusBadRequest:            "That request did not make sense",
	http.StatusUnauthorized:          "Please sign in",
	http.StatusForbidden:             "You can't do that",
	http.StatusNotFound:              "Page not found",
	http.StatusMethodNotAllowed:      "That isn't allowed here",
	http.StatusRequestEntityTooLarge: "That was too much to send",
	http.StatusUnprocessableEntity:   "Please check what you entered",
	http.StatusTooManyRequests:       "Too many attempts",
	http.StatusServiceUnavailable:    "We can't do that right now",
	http.StatusInternalServerError:   "Something went wrong",
}

// errorPage is the HTML error page.
type errorPage struct {
	Layout
	Heading string
	Message string
	Retry   string
}

// apiError is the JSON error body.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field,omitempty"`
	} `json:"error"`
}

// classify turns any error into a status, a code and a message safe to show.
func classify(err error) (status int, code, message string) {
	var he *echo.HTTPError
	if errors.As(err, &he) {
		status = he.Code
		code = strings.ToLower(strings.ReplaceAll(http.StatusText(status), " ", "_"))
		message = http.StatusText(status) + "."
		if m, ok := he.Message.(string); ok && status < 500 {
			message = m
		}
		switch status {
		case http.StatusNotFound:
			message = "There is no page at this address."
		case http.StatusRequestEntityTooLarge:
			message = "The request was larger than this service accepts."
		}
		return status, code, message
	}
	code = pledge.ErrorCode(err)
	status, ok := codes[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	return status, code, pledge.ErrorMessage(err)
}

// handleError is echo's one HTTPErrorHandler: an HTML page for browsers, JSON for API clients,
// a log line for internal errors only, and never an internal error's text in the response.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, code, message := classify(err)
	if status >= 500 {
		s.logger.Error("request failed", "err", err, "route", c.Path(), "method", c.Request().Method,
			"request_id", c.Response().Header().Get(echo.HeaderXRequestID))
	}
	if c.Request().Method == http.MethodHead {
		err = c.NoContent(status)
	} else if wantsHTML(c.Request()) {
		lc := s.lang(c)
		heading := headings[status]
		if k := "error.heading." + strconv.Itoa(status); lc.Has(k) {
			heading = lc.T(k)
		} else if heading == "" {
			heading = http.StatusText(status)
		}
		switch {
		case status == http.StatusNotFound:
			message = lc.T("error.not_found")
		case status == http.StatusRequestEntityTooLarge:
			message = lc.T("error.too_large")
		case status >= 500 && code == pledge.EINTERNAL:
			message = lc.T("error.internal")
		case pledge.ErrorCode(err) != pledge.EINTERNAL:
			message = lc.Error(err)
		}
		err = s.render(c, status, "error", &errorPage{Layout: Layout{Title: heading, L: lc}, Heading: heading, Message: message})
	} else {
		var body apiError
		if pledge.ErrorKey(err) != "" { // a reader's error: in their language
			message = s.lang(c).Error(err)
		}
		body.Error.Code, body.Error.Message, body.Error.Field = code, message, pledge.ErrorField(err)
		err = c.JSON(status, body)
	}
	if err != nil {
		s.logger.Error("writing error response", "err", err)
	}
}

// wantsHTML reports whether the client asked for a web page rather than data.
func wantsHTML(r *http.Request) bool {
	accept := r.Header.Get(echo.HeaderAccept)
	return strings.Contains(accept, "text/html") || strings.Contains(accept, "application/xhtml")
}
