package cli

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/billrun/billrun/internal/catalog"
	"github.com/billrun/billrun/workflows"
)

// Schedules are Temporal Schedules whose action is ScheduledBillRun; their
// IDs carry this prefix, so that billctl lists only its own.
const schedulePrefix = "billrun-"

func (a *app) scheduleCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "schedule", Short: "Automatic bill runs of the month before, on a day of each month (Temporal Schedules)"}
	cmd.AddCommand(a.scheduleCreateCmd(), a.scheduleListCmd(), a.scheduleDeleteCmd())
	return cmd
}

func (a *app) scheduleCreateCmd() *cobra.Command {
	var day, hour int
	var tz, state, template string
	var lateFiles time.Duration
	cmd := &cobra.Command{
		Use:     "create NAME [--day 1-28] [--hour 0-23] [--tz ZONE] [--state draft|issued] [--template NAME] [--late-files DURATION]",
		Example: `  billctl schedule create monthly --day 2 --hour 6 --tz Europe/Berlin --state issued`,
		Short:   "Start the bill run of the month before on the given day and hour of every month",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if err := catalog.CheckName(args[0]); err != nil {
				return fmt.Errorf("schedule name: %w", err)
			}
			if day < 1 || day > 28 {
				return fmt.Errorf("--day %d: want 1 to 28, a day every month has", day)
			}
			if hour < 0 || hour > 23 {
				return fmt.Errorf("--hour %d: want 0 to 23", hour)
			}
			if _, err := time.LoadLocation(tz); err != nil {
				return fmt.Errorf("--tz %q: %w", tz, err)
			}
			if err := checkInvoiceFlags(state, template); err != nil {
				return err
			}
			if err := checkLateFiles(lateFiles); err != nil {
				return err
			}
			c, err := a.temporalClient(ctx)
			if err != nil {
				return err
			}
			_, err = c.ScheduleClient().Create(ctx, client.ScheduleOptions{
				ID: schedulePrefix + args[0],
				Spec: client.ScheduleSpec{
					Calendars: []client.ScheduleCalendarSpec{{DayOfMonth: []client.ScheduleRange{{Start: day}},
						Hour: []client.ScheduleRange{{Start: hour}}}},
					TimeZoneName: tz,
				},
				Action: workflows.ScheduleAction(workflows.Client{Client: c, TaskQueue: a.cfg.TaskQueue}, args[0],
					workflows.ScheduledBillRunInput{TimeZone: tz, Issue: state == "issued", Template: template, LateFiles: lateFiles}),
			})
			if err != nil {
				return fmt.Errorf("create schedule %s: %w", args[0], err)
			}
			fmt.Fprintf(a.err, "schedule %s: the bill run of the month before, on day %d at %02d:00 %s\n", args[0], day, hour, tz)
			return nil
		},
	}
	cmd.Flags().IntVar(&day, "day", 1, "day of the month, 1 to 28")
	cmd.Flags().IntVar(&hour, "hour", 6, "hour of the day, 0 to 23")
	cmd.Flags().StringVar(&tz, "tz", "UTC", "time zone of the day and hour, and of the month billed")
	cmd.Flags().StringVar(&state, "state", "draft", "invoices as draft or issued")
	cmd.Flags().StringVar(&template, "template", "", "default or extended (default: each client's)")
	cmd.Flags().DurationVar(&lateFiles, "late-files", 0, "the runs wait this long after each client's period ends before invoicing it (e.g. 6h)")
	return cmd
}

func (a *app) scheduleListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "billrun's schedules, when they run next and what they last started",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			c, err := a.temporalClient(ctx)
			if err != nil {
				return err
			}
			it, err := c.ScheduleClient().List(ctx, client.ScheduleListOptions{})
			if err != nil {
				return fmt.Errorf("list schedules: %w", err)
			}
			t := table{header: []string{"name", "day", "hour", "tz", "paused", "next", "last"}}
			var doc []map[string]any
			for it.HasNext() {
				e, err := it.Next()
				if err != nil {
					return fmt.Errorf("list schedules: %w", err)
				}
				name, ok := strings.CutPrefix(e.ID, schedulePrefix)
				if !ok {
					continue
				}
				// Describe, not the list entry: listings lag behind changes.
				d, err := c.ScheduleClient().GetHandle(ctx, e.ID).Describe(ctx)
				if err != nil {
					continue // deleted meanwhile
				}
				day, hour := "", ""
				if cal := d.Schedule.Spec.Calendars; len(cal) == 1 && len(cal[0].DayOfMonth) == 1 && len(cal[0].Hour) == 1 {
					day, hour = strconv.Itoa(cal[0].DayOfMonth[0].Start), strconv.Itoa(cal[0].Hour[0].Start)
				}
				next, last := "", ""
				if n := d.Info.NextActionTimes; len(n) > 0 {
					next = n[0].UTC().Format(time.RFC3339)
				}
				if r := d.Info.RecentActions; len(r) > 0 {
					last = r[len(r)-1].ScheduleTime.UTC().Format(time.RFC3339)
				}
				paused := strconv.FormatBool(d.Schedule.State.Paused)
				t.rows = append(t.rows, []string{name, day, hour, d.Schedule.Spec.TimeZoneName, paused, next, last})
				doc = append(doc, map[string]any{"name": name, "day": day, "hour": hour, "tz": d.Schedule.Spec.TimeZoneName,
					"paused": d.Schedule.State.Paused, "next": next, "last": last})
			}
			if doc == nil {
				doc = []map[string]any{}
			}
			t.json = doc
			return a.print(t)
		},
	}
}

func (a *app) scheduleDeleteCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME",
		Short: "Stop a schedule; bill runs it started go on",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.temporalClient(cmd.Context())
			if err != nil {
				return err
			}
			if err := c.ScheduleClient().GetHandle(cmd.Context(), schedulePrefix+args[0]).Delete(cmd.Context()); err != nil {
				return fmt.Errorf("delete schedule %s: %w", args[0], err)
			}
			return nil
		},
	}
}
