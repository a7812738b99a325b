package server

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
)

func supporterID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return 0, echo.ErrNotFound
	}
	return id, nil
}

// handleSupporterData answers a data request: everything held about the supporter, as JSON.
func (s *Server) handleSupporterData(c echo.Context) error {
	id, err := supporterID(c)
	if err != nil {
		return err
	}
	d, err := s.Supporters.SupporterData(c.Request().Context(), staffOf(c).Staff.Email, id)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="supporter-%d.json"`, id))
	return c.JSONPretty(http.StatusOK, d, "  ")
}
