package workflows

import (
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
)

// Custom search attributes, so that ops find runs in the Temporal UI by
// period, client or kind (e.g. BillrunPeriod = "2026-10").
var (
	PeriodAttr = temporal.NewSearchAttributeKeyKeyword("BillrunPeriod")
	ClientAttr = temporal.NewSearchAttributeKeyKeyword("BillrunClient")
	KindAttr   = temporal.NewSearchAttributeKeyKeyword("BillrunKind")
	// PhaseAttr is a bill run's phase (ingesting, checking, waiting,
	// rerating, invoicing, scheduled, done): BillrunPhase = "waiting" finds
	// the runs that wait for finance.
	PhaseAttr = temporal.NewSearchAttributeKeyKeyword("BillrunPhase")
	// PeriodsAttr lists the months (YYYY-MM) whose calls a run touched.
	PeriodsAttr = temporal.NewSearchAttributeKeyKeywordList("BillrunPeriods")
)

// SearchAttributes lists billrun's custom search attributes, for billctl migrate.
func SearchAttributes() map[string]enums.IndexedValueType {
	return map[string]enums.IndexedValueType{
		PeriodAttr.GetName():  enums.INDEXED_VALUE_TYPE_KEYWORD,
		ClientAttr.GetName():  enums.INDEXED_VALUE_TYPE_KEYWORD,
		KindAttr.GetName():    enums.INDEXED_VALUE_TYPE_KEYWORD,
		PhaseAttr.GetName():   enums.INDEXED_VALUE_TYPE_KEYWORD,
		PeriodsAttr.GetName(): enums.INDEXED_VALUE_TYPE_KEYWORD_LIST,
	}
}
