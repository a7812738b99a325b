package server

import (
	"errors"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/pledge-news/pledge/internal/pledge"
)

// maxWebhookBody is the largest event Pledge reads (Stripe's events are a few KiB); the global
// BodyLimit middleware enforces the same figure before the handler runs.
const maxWebhookBody = 64 << 10

// registerWebhookRoutes adds Stripe's webhook. It carries Stripe's signature instead of a CSRF
// token, so its policy has no CSRF check and no cookie is read or set.
func (s *Server) registerWebhookRoutes(e *echo.Echo) {
	s.area(e, "/webhooks", webhookPolicy).POST("/stripe", s.handleStripeWebhook())
}

// handleStripeWebhook answers 200 once the event is recorded (applied, ignored or a duplicate),
// 400 for a bad signature (nothing stored), 413 for an oversize body, 503 while the database is
// unreachable and 500 when applying failed otherwise (rolled back either way), so that Stripe
// delivers it again. It counts each delivery in pledge_webhook_events_total by event type and
// outcome (applied, duplicate, ignored, failed; rejected for a bad signature).
func (s *Server) handleStripeWebhook() echo.HandlerFunc {
	events := func(typ, outcome string) {
		s.metrics.count("pledge_webhook_events_total", "outcome", outcome, "type", typ)
	}
	return func(c echo.Context) error {
		if s.Webhooks == nil {
			return pledge.Errorf(pledge.EUNAVAILABLE, "Webhooks are not configured.")
		}
		// The body comes through BodyLimit's reader, which fails past 64 KiB; the LimitReader
		// keeps the bound even if that middleware moves.
		payload, err := io.ReadAll(io.LimitReader(c.Request().Body, maxWebhookBody+1))
		var he *echo.HTTPError
		if errors.As(err, &he) || len(payload) > maxWebhookBody {
			return echo.ErrStatusRequestEntityTooLarge
		} else if err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, "The body could not be read.")
		}
		res, err := s.Webhooks.Receive(c.Request().Context(), payload, c.Request().Header.Get("Stripe-Signature"))
		switch {
		case pledge.ErrorCode(err) == pledge.EUNAUTHORIZED:
			events("unverified", "rejected")
			s.logger.Warn("webhook rejected", "reason", pledge.ErrorMessage(err))
			return c.JSON(http.StatusBadRequest, map[string]string{"error": pledge.ErrorMessage(err)})
		case err != nil:
			events(res.Type, string(pledge.OutcomeFailed))
			s.logger.Error("webhook event failed", "event_id", res.EventID, "type", res.Type, "err", err)
			status := http.StatusInternalServerError
			if pledge.ErrorCode(err) == pledge.EUNAVAILABLE {
				status = http.StatusServiceUnavailable
			}
			return c.JSON(status, map[string]string{"error": "not applied; retry"})
		}
		events(res.Type, string(res.Outcome))
		return c.JSON(http.StatusOK, map[string]string{"outcome": string(res.Outcome)})
	}
}
