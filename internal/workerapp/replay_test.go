package workerapp_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/billrun/billrun/internal/workerapp"
)

// histories are recorded runs of every workflow, replayed by make test
// against today's workflow code (workflows/doc.go has the rule for
// changing it): a change that would fail a run in flight fails here first.
var histories = filepath.Join("..", "..", "testdata", "histories")

// recordedKinds are the runs the committed histories must cover.
var recordedKinds = []string{"BillRun", "Ingest", "InvoiceRun", "Invoice", "Rerate", "Adjust", "InvoiceState"}

// TestRecordedHistoriesReplayOnTodaysCode replays every committed history.
func TestRecordedHistoriesReplayOnTodaysCode(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(histories, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			kinds[workflowType(t, f)]++
			if err := replay(f); err != nil {
				t.Fatalf("%s no longer replays: %v", f, err)
			}
		})
	}
	for _, k := range recordedKinds {
		if kinds[k] == 0 {
			t.Errorf("no recorded history of %s in %s", k, histories)
		}
	}
	if kinds["Ingest"] < 2 {
		t.Errorf("no ingestion that continued as new is recorded")
	}
}

// replay replays a recorded history as the run it was: child workflow IDs
// are built from the run's own ID, which the .id file beside it keeps.
func replay(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	if err != nil {
		return err
	}
	id, err := os.ReadFile(strings.TrimSuffix(path, ".json") + ".id")
	if err != nil {
		return err
	}
	wid, rid, _ := strings.Cut(strings.TrimSpace(string(id)), " ")
	return replayRun(h, wid, rid)
}

func replayRun(h *historypb.History, workflowID, runID string) error {
	r := worker.NewWorkflowReplayer()
	workerapp.RegisterWorkflows(r)
	return r.ReplayWorkflowHistoryWithOptions(nil, h, worker.ReplayWorkflowHistoryOptions{
		OriginalExecution: workflow.Execution{ID: workflowID, RunID: runID}})
}

func workflowType(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Events []struct {
			Attrs *struct {
				WorkflowType struct{ Name string } `json:"workflowType"`
			} `json:"workflowExecutionStartedEventAttributes"`
		} `json:"events"`
	}
	if err := json.Unmarshal(b, &h); err != nil || len(h.Events) == 0 || h.Events[0].Attrs == nil {
		t.Fatalf("%s is not a workflow history: %v", path, err)
	}
	return h.Events[0].Attrs.WorkflowType.Name
}

// keepHistories replays every run of the test's task queue on today's code
// and, when BILLRUN_RECORD_HISTORIES is set, writes them to testdata as
// name-Type-N.json: how the committed histories were made.
func keepHistories(t *testing.T, c client.Client, queue, name string) {
	t.Helper()
	var execs []*workflowservice.ListWorkflowExecutionsResponse
	// Visibility lags the runs a little: list until two listings agree.
	count := -1
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: fmt.Sprintf("TaskQueue = '%s'", queue)})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Executions) == count {
			break
		}
		count, execs = len(resp.Executions), []*workflowservice.ListWorkflowExecutionsResponse{resp}
	}
	runs := execs[0].Executions
	sort.Slice(runs, func(i, j int) bool { return runs[i].StartTime.AsTime().Before(runs[j].StartTime.AsTime()) })
	n := map[string]int{}
	for _, r := range runs {
		if r.Status == enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
			continue
		}
		it := c.GetWorkflowHistory(ctx, r.Execution.WorkflowId, r.Execution.RunId, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		h := &historypb.History{}
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				t.Fatal(err)
			}
			h.Events = append(h.Events, e)
		}
		if err := replayRun(h, r.Execution.WorkflowId, r.Execution.RunId); err != nil {
			t.Fatalf("run %s of %s does not replay: %v", r.Execution.RunId, r.Execution.WorkflowId, err)
		}
		dir := os.Getenv("BILLRUN_RECORD_HISTORIES")
		if dir == "" {
			continue
		}
		typ := r.Type.Name
		n[typ]++
		b, err := protojson.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, fmt.Sprintf("%s-%s-%d.json", name, strings.ToLower(typ), n[typ]))
		if err := os.WriteFile(file, b, 0o644); err != nil {
			t.Fatal(err)
		}
		id := r.Execution.WorkflowId + " " + r.Execution.RunId + "\n"
		if err := os.WriteFile(strings.TrimSuffix(file, ".json")+".id", []byte(id), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("recorded %s", file)
	}
}
