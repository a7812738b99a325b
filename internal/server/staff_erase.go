package server

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/pledge-news/pledge/internal/pledge"
)

type erasePage struct {
	Layout
	Detail *pledge.SupporterDetail
}

// handleEraseConfirm is the confirmation step before an erasure.
func (s *Server) handleEraseConfirm(c echo.Context) error {
	id, err := supporterID(c)
	if err != nil {
		return err
	}
	d, err := s.findSupporterAudited(c, id, "opened the erase confirmation")
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "staff_erase", &erasePage{Layout: s.staffLayout(c, "Erase a supporter"), Detail: d})
}

// eraseForm must carry confirm=erase: the button on the confirmation page.
type eraseForm struct {
	Confirm string `form:"confirm"`
}

func (s *Server) handleErase(c echo.Context) error {
	id, err := supporterID(c)
	if err != nil {
		return err
	}
	var f eraseForm
	if err := c.Bind(&f); err != nil || f.Confirm != "erase" {
		return pledge.Errorf(pledge.EINVALID, "Confirm the erasure with the button on the confirmation page.")
	}
	if err := s.Supporters.EraseSupporter(c.Request().Context(), staffOf(c).Staff.Email, id); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/staff/supporters/%d?erased=1", id))
}
