// Package config reads the settings billctl and the worker share from the
// environment (interfaces.md): DATABASE_URL, TEMPORAL_ADDRESS,
// TEMPORAL_NAMESPACE, TEMPORAL_TASK_QUEUE, S3_ENDPOINT, S3_BUCKET, AWS
// credentials as the AWS SDK reads them; and billrun's own BILLRUN_ISSUER_*
// and BILLRUN_INVOICE_NUMBER_TEMPLATE for invoices.
package config

import (
	"os"
	"runtime/debug"

	"github.com/billrun/billrun/workflows"
)

// Config is the shared configuration.
type Config struct {
	DatabaseURL string
	// ReplicaDatabaseURL is a streaming replica of it that billctl's
	// reports and the console's pages read (BILLRUN_REPLICA_DATABASE_URL,
	// optional): workflows and every write use DatabaseURL.
	ReplicaDatabaseURL string
	// TemporalAddress and TemporalNamespace override the connection the
	// Temporal CLI's settings give (temporalclient.Resolve); "" keeps it.
	TemporalAddress   string
	TemporalNamespace string
	// TemporalUI is the Temporal Web UI's address (BILLRUN_TEMPORAL_UI), for
	// links to runs; "" is the local dev server's when Temporal is local.
	TemporalUI string
	TaskQueue  string
	// ConsoleUsers is the console's users file (BILLRUN_CONSOLE_USERS).
	ConsoleUsers string
	S3Endpoint   string // "" for AWS itself
	S3Bucket     string
	// Invoices: who sends them (BILLRUN_ISSUER_*) and how they are numbered.
	SellerName     string
	SellerAddress  string
	SellerTaxID    string
	SellerEmail    string
	NumberTemplate string
	// The worker's operations: metrics and health on MetricsAddr
	// (BILLRUN_METRICS_ADDR, "" for none), how long a stopping worker lets
	// activities finish (BILLRUN_WORKER_STOP_TIMEOUT, default 30s; match
	// the Kubernetes grace period), and its log format (BILLRUN_LOG_FORMAT:
	// text or json).
	MetricsAddr, WorkerStopTimeout, LogFormat string
	// Profiling serves Go's /debug/pprof/ beside the metrics
	// (BILLRUN_PPROF=1): for finding where a slow run spends its time, off by
	// default since a profile shows the process's memory.
	Profiling bool
	// DeploymentName puts the worker under Temporal's Worker Deployment
	// Versioning (BILLRUN_DEPLOYMENT_NAME; "" for none): its build ID is
	// Version(), and a bill run stays on the build it started on.
	DeploymentName string
	// Credit and debit notes: BILLRUN_CREDIT_NOTE_NUMBER_TEMPLATE, BILLRUN_DEBIT_NOTE_NUMBER_TEMPLATE.
	CreditNoteTemplate, DebitNoteTemplate string
}

// FromEnv reads the environment, with the documented defaults.
func FromEnv() Config {
	return Config{
		DatabaseURL:        os.Getenv("DATABASE_URL"),
		ReplicaDatabaseURL: os.Getenv("BILLRUN_REPLICA_DATABASE_URL"),
		TemporalAddress:    os.Getenv("TEMPORAL_ADDRESS"),
		TemporalNamespace:  os.Getenv("TEMPORAL_NAMESPACE"),
		TemporalUI:         os.Getenv("BILLRUN_TEMPORAL_UI"),
		ConsoleUsers:       os.Getenv("BILLRUN_CONSOLE_USERS"),
		MetricsAddr:        os.Getenv("BILLRUN_METRICS_ADDR"),
		WorkerStopTimeout:  or(os.Getenv("BILLRUN_WORKER_STOP_TIMEOUT"), "30s"),
		LogFormat:          or(os.Getenv("BILLRUN_LOG_FORMAT"), "text"),
		Profiling:          os.Getenv("BILLRUN_PPROF") == "1",
		DeploymentName:     os.Getenv("BILLRUN_DEPLOYMENT_NAME"),
		TaskQueue:          or(os.Getenv("TEMPORAL_TASK_QUEUE"), workflows.DefaultTaskQueue),
		S3Endpoint:         os.Getenv("S3_ENDPOINT"),
		S3Bucket:           or(os.Getenv("S3_BUCKET"), "billrun"),
		SellerName:         or(os.Getenv("BILLRUN_ISSUER_NAME"), "billrun"),
		SellerAddress:      os.Getenv("BILLRUN_ISSUER_ADDRESS"),
		SellerTaxID:        os.Getenv("BILLRUN_ISSUER_TAX_ID"),
		SellerEmail:        os.Getenv("BILLRUN_ISSUER_EMAIL"),
		NumberTemplate:     or(os.Getenv("BILLRUN_INVOICE_NUMBER_TEMPLATE"), "INV-{YYYY}-{SEQ:6}"),
		CreditNoteTemplate: or(os.Getenv("BILLRUN_CREDIT_NOTE_NUMBER_TEMPLATE"), "CN-{YYYY}-{SEQ:6}"),
		DebitNoteTemplate:  or(os.Getenv("BILLRUN_DEBIT_NOTE_NUMBER_TEMPLATE"), "DN-{YYYY}-{SEQ:6}"),
	}
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// version is set at build by the Makefile and the Dockerfile:
// -ldflags "-X github.com/billrun/billrun/internal/config.version=…".
var version string

// Version is the binary's version: the one set at build, else as Go
// recorded it (a release's module version, or a checkout's commit, with
// "+dirty" for uncommitted changes).
func Version() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if (v == "" || v == "(devel)") && rev != "" {
		return rev[:min(12, len(rev))] + dirty
	}
	if v == "" {
		return "(devel)"
	}
	return v
}
