# Pinned versions of the local stack's tools, built from Go modules into .local/bin.
TEMPORAL_CLI_MODULE=github.com/temporalio/cli/cmd/temporal
TEMPORAL_CLI_VERSION=v1.5.1
VERSITYGW_MODULE=github.com/versity/versitygw/cmd/versitygw
VERSITYGW_VERSION=v1.8.0
