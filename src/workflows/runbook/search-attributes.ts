// Search attributes every run carries, so one visibility query lists the runs waiting for someone:
//   RunbookWaitingOn IS NOT NULL   (or  RunbookWaitingOn = "remove-stale-node")
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const RUNBOOK_NAME = defineSearchAttributeKey('RunbookName', SearchAttributeType.KEYWORD);
export const RUNBOOK_TARGET = defineSearchAttributeKey('RunbookTarget', SearchAttributeType.KEYWORD);
export const RUNBOOK_WAITING_ON = defineSearchAttributeKey('RunbookWaitingOn', SearchAttributeType.KEYWORD);

export const RUNBOOK_SEARCH_ATTRIBUTES = [RUNBOOK_NAME, RUNBOOK_TARGET, RUNBOOK_WAITING_ON];
