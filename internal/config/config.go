// Package config reads the settings billctl and the worker share from the
// environment (interfaces.md): DATABASE_URL, TEMPORAL_ADDRESS,
// TEMPORAL_NAMESPACE, TEMPORAL_TASK_QUEUE, S3_ENDPOINT, S3_BUCKET, and AWS
// credentials as the AWS SDK reads them.
package config

import "os"

// Config is the shared configuration.
type Config struct {
	DatabaseURL       string
	TemporalAddress   string
	TemporalNamespace string
	TaskQueue         string
	S3Endpoint        string // "" for AWS itself
	S3Bucket          string
}

// FromEnv reads the environment, with the documented defaults.
func FromEnv() Config {
	return Config{
		DatabaseURL:       os.Getenv("DATABASE_URL"),
		TemporalAddress:   or(os.Getenv("TEMPORAL_ADDRESS"), "127.0.0.1:7233"),
		TemporalNamespace: or(os.Getenv("TEMPORAL_NAMESPACE"), "default"),
		TaskQueue:         or(os.Getenv("TEMPORAL_TASK_QUEUE"), "billrun"),
		S3Endpoint:        os.Getenv("S3_ENDPOINT"),
		S3Bucket:          or(os.Getenv("S3_BUCKET"), "billrun"),
	}
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
