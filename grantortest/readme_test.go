package grantortest_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/grantor-dev/grantor/grantortest"
	"github.com/grantor-dev/grantor/resource"
)

// TestListInvoices is the test README.md shows: an application's API
// handler behind the resource middleware, with real tokens of a real
// Provider and one fake clock.
func TestListInvoices(t *testing.T) {
	srv := grantortest.NewServer(t) // a Provider over a memory store, on httptest
	api := resource.Middleware(resource.Config{Validator: srv.Validator()})(listInvoices)
	token := srv.AccessToken(t, "alice", "invoices:read")

	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, grantortest.NewRequest("GET", "/invoices", token))
	assert.Equal(t, "invoices of alice", rec.Body.String())

	srv.Clock.Advance(time.Hour) // the Provider, its store and the validator share the clock
	rec = httptest.NewRecorder()
	api.ServeHTTP(rec, grantortest.NewRequest("GET", "/invoices", token))
	assert.Equal(t, http.StatusUnauthorized, rec.Code)
}
