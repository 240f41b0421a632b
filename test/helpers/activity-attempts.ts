// The activities a run made, read from its history: normal ones from ActivityTaskStarted, local ones (the
// read-only checks, issue 14) from the marker core records for each (sdk-core LOCAL_ACTIVITY_MARKER_NAME
// 'core_local_activity'; its `data` payload is plain JSON core writes past the codec: type and attempt).
import type { WorkflowHandle } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** A local activity's marker: its type and the attempt that ended it; undefined for any other event. */
export function localActivityOf(e: HistoryEvent): { type: string; attempt: number } | undefined {
  const m = e.markerRecordedEventAttributes;
  if (m?.markerName !== 'core_local_activity') return undefined;
  const data = m.details?.data?.payloads?.[0]?.data;
  if (!data) return undefined;
  const raw = JSON.parse(Buffer.from(data).toString('utf8')) as { activity_type?: string; activityType?: string; attempt?: number };
  return { type: raw.activity_type ?? raw.activityType ?? '?', attempt: raw.attempt ?? 1 };
}

/** Every activity attempt the history shows, in order: a normal activity's starts, a local one's marker. */
export async function activityAttempts(h: WorkflowHandle): Promise<{ type: string; attempt: number }[]> {
  const events = (await h.fetchHistory()).events ?? [];
  const scheduled = new Map<string, string>();
  const out: { type: string; attempt: number }[] = [];
  for (const e of events) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s) scheduled.set(String(e.eventId), s.activityType?.name ?? '?');
    const st = e.activityTaskStartedEventAttributes;
    if (st) out.push({ type: scheduled.get(String(st.scheduledEventId)) ?? '?', attempt: st.attempt ?? 0 });
    const local = localActivityOf(e);
    if (local) out.push(local);
  }
  return out;
}
