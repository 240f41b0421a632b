// What a running change last reported in its heartbeat (e.g. the Frigate copy's "recordings: 3 of 70
// verified"): `runbook status` shows it under the steps. Read from the server's pending activities,
// decoded with the client's data converter (the payload codec, if any).
import type { Client, WorkflowHandle } from '@temporalio/client';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow';

export interface ActivityProgress {
  activity: string;
  attempt: number;
  details: string;
}

export async function heartbeats(client: Client, handle: WorkflowHandle): Promise<ActivityProgress[]> {
  const d = await handle.describe();
  const out: ActivityProgress[] = [];
  for (const pa of d.raw.pendingActivities ?? []) {
    const payloads = pa.heartbeatDetails?.payloads ?? [];
    if (payloads.length === 0) continue;
    const [first] = await decodeArrayFromPayloads(client.options.loadedDataConverter, payloads);
    if (typeof first !== 'string' || first === '') continue;
    out.push({ activity: pa.activityType?.name ?? '?', attempt: pa.attempt ?? 1, details: first.slice(0, 300) });
  }
  return out;
}
