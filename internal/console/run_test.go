package console_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/billrun/billrun/workflows"
)

// TestARunThatWasStoppedShowsHowItEnded: a bill run terminated in the
// Temporal UI answers no query; its page says how it ended, at once.
func TestARunThatWasStoppedShowsHowItEnded(t *testing.T) {
	m := newMonth(t)
	id := workflows.BillRunWorkflowID("1999-01") + "-" + m.queue
	if _, err := m.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: m.queue + "-nobody"}, workflows.BillRun,
		workflows.BillRunInput{Period: "1999-01"}); err != nil {
		t.Fatal(err)
	}
	if err := m.c.TerminateWorkflow(ctx, id, "", "stopped by ops"); err != nil {
		t.Fatal(err)
	}
	s := newSession(t, m.url)
	if resp := s.post("/login", url.Values{"csrf": {s.token()}, "user": {"victor"}, "password": {viewerPassword}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", resp.StatusCode)
	}
	start := time.Now()
	resp, err := s.c.Get(m.url + "/runs/" + id)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if took := time.Since(start); resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `id="phase">terminated<`) || took > 2*time.Second {
		t.Fatalf("%d after %v: %.600s", resp.StatusCode, took, body)
	}
}

func TestTheConsoleAnswersItsProbesUnsigned(t *testing.T) {
	m := newMonth(t)
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(m.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", path, resp.StatusCode)
		}
	}
}
