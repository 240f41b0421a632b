// A run's event history, decoded into what a report needs: who started it with what, every activity
// with its times and attempts (a local activity from its marker), the decisions sent by signal or update, the gates as the
// RunbookWaitingOn search attribute opened and closed them, the phases it started, and how it ended.
// Payloads go through the client's data converter (and so the payload codec, when one is set).
import { CancelledFailure, TimeoutFailure, defaultPayloadConverter, type LoadedDataConverter } from '@temporalio/common';
import { decodeArrayFromPayloads, decodeOptionalFailureToOptionalError } from '@temporalio/common/lib/internal-non-workflow';
import { temporal } from '@temporalio/proto';
import { RUNBOOK_WAITING_ON } from '../workflows/runbook/search-attributes';

type IHistory = temporal.api.history.v1.IHistory;
type IEvent = temporal.api.history.v1.IHistoryEvent;
const T = temporal.api.enums.v1.EventType;

export type CloseStatus = 'running' | 'completed' | 'failed' | 'cancelled' | 'terminated' | 'timed-out' | 'continued-as-new';

export interface ActivityRecord {
  activityId: string;
  type: string;
  scheduledAt: string;
  closedAt?: string;
  /** The attempt that closed it (Temporal retries an activity by itself before the workflow hears of it). */
  attempt?: number;
  outcome: 'running' | 'completed' | 'failed' | 'timed-out' | 'cancelled';
  failure?: string;
  /** Why the attempt before the last one failed, when there was one. */
  lastFailure?: string;
  /** What it returned (e.g. verifyStart's verified key). */
  result?: unknown;
  /** A local activity (a read-only check): run by the worker inside a workflow task and recorded as a
   * marker, so its earlier failed attempts leave no trace unless one waited on a timer. */
  local?: boolean;
}

export interface SignalRecord {
  name: string;
  at: string;
  input: unknown;
  identity?: string;
}

export interface UpdateRecord {
  name: string;
  acceptedAt: string;
  input: unknown;
  completedAt?: string;
  /** The update's answer: for `decide`, the Decision that counted. */
  result?: unknown;
  error?: string;
}

export interface GateWindow {
  step: string;
  openedAt: string;
  closedAt?: string;
}

export interface ChildRecord {
  workflowId: string;
  runId?: string;
  workflowType: string;
  initiatedAt: string;
  closedAt?: string;
  status: CloseStatus;
}

export interface RunHistory {
  workflowId: string;
  runId: string;
  workflowType: string;
  startedAt: string;
  /** The client identity that started the run: typed by the client, never verified. */
  startIdentity?: string;
  input: unknown;
  parent?: { workflowId: string; runId: string };
  status: CloseStatus;
  closedAt?: string;
  /** A completed run's return value (a RunbookResult). */
  result?: unknown;
  /** Why the run failed, was terminated or timed out. */
  failure?: string;
  activities: ActivityRecord[];
  signals: SignalRecord[];
  updates: UpdateRecord[];
  gates: GateWindow[];
  children: ChildRecord[];
}

export async function decodeHistory(history: IHistory, converter: LoadedDataConverter, ids: { workflowId?: string; runId?: string } = {}): Promise<RunHistory> {
  const events = history.events ?? [];
  const first = events[0]?.workflowExecutionStartedEventAttributes;
  if (!first) throw new Error('the history has no start event');
  const payloads = async (p: temporal.api.common.v1.IPayloads | null | undefined) => decodeArrayFromPayloads(converter, p?.payloads ?? []);
  const failure = async (f: temporal.api.failure.v1.IFailure | null | undefined) => messageOf(await decodeOptionalFailureToOptionalError(converter, f ?? undefined));
  const run: RunHistory = {
    workflowId: ids.workflowId ?? first.workflowId ?? '',
    runId: ids.runId ?? first.originalExecutionRunId ?? first.firstExecutionRunId ?? '',
    workflowType: first.workflowType?.name ?? '',
    startedAt: at(events[0]!),
    startIdentity: first.identity ?? undefined,
    input: (await payloads(first.input))[0],
    parent: first.parentWorkflowExecution?.workflowId
      ? { workflowId: first.parentWorkflowExecution.workflowId, runId: first.parentWorkflowExecution.runId ?? '' }
      : undefined,
    status: 'running',
    activities: [],
    signals: [],
    updates: [],
    gates: [],
    children: [],
  };
  const activities = new Map<string, ActivityRecord>();
  const updates = new Map<string, UpdateRecord>();
  const children = new Map<string, ChildRecord>();
  /** When the current workflow task started: a local activity runs inside it. */
  let taskStartedAt = run.startedAt;
  /** A local activity that failed and waits on a timer before its next attempt, by type. */
  const backingOff = new Map<string, { failure?: string; scheduledAt: string }>();
  for (const e of events) {
    const time = at(e);
    switch (e.eventType) {
      case T.EVENT_TYPE_WORKFLOW_TASK_STARTED:
        taskStartedAt = time;
        break;
      case T.EVENT_TYPE_MARKER_RECORDED: {
        const a = e.markerRecordedEventAttributes!;
        if (a.markerName !== LOCAL_ACTIVITY_MARKER) break;
        const data = await localActivityData(a.details?.['data'], converter);
        const type = data.activityType ?? '';
        const err = a.failure ? await decodeOptionalFailureToOptionalError(converter, a.failure) : undefined;
        const message = messageOf(err);
        const earlier = backingOff.get(type);
        const scheduledAt = data.originalScheduleTime ?? earlier?.scheduledAt ?? taskStartedAt;
        if (data.backoff) {
          // not the end: the next attempt runs after a timer, as a new marker of the same activity
          backingOff.set(type, { failure: message, scheduledAt });
          break;
        }
        backingOff.delete(type);
        const outcome: ActivityRecord['outcome'] = !err ? 'completed' : err instanceof CancelledFailure ? 'cancelled' : err instanceof TimeoutFailure || hasCause(err, TimeoutFailure) ? 'timed-out' : 'failed';
        // core's complete time is "perceived": the workflow task's start plus the activity's run time
        const took = data.completeTime ? Date.parse(data.completeTime) - Date.parse(taskStartedAt) : NaN;
        const closedAt = Number.isFinite(took) && took >= 0 ? new Date(Date.parse(scheduledAt) + took).toISOString() : time;
        const rec: ActivityRecord = { activityId: data.activityId ?? '', type, scheduledAt, closedAt, attempt: data.attempt, outcome, local: true };
        if (message) rec.failure = message;
        if (earlier?.failure) rec.lastFailure = earlier.failure;
        if (!err) rec.result = (await payloads(a.details?.['result']))[0];
        run.activities.push(rec);
        break;
      }
      case T.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: {
        const a = e.activityTaskScheduledEventAttributes!;
        const rec: ActivityRecord = { activityId: a.activityId ?? '', type: a.activityType?.name ?? '', scheduledAt: time, outcome: 'running' };
        activities.set(String(e.eventId), rec);
        run.activities.push(rec);
        break;
      }
      case T.EVENT_TYPE_ACTIVITY_TASK_STARTED: {
        const a = e.activityTaskStartedEventAttributes!;
        const rec = activities.get(String(a.scheduledEventId));
        if (rec) {
          rec.attempt = a.attempt ?? undefined;
          if (a.lastFailure) rec.lastFailure = await failure(a.lastFailure);
        }
        break;
      }
      case T.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: {
        const a = e.activityTaskCompletedEventAttributes!;
        const rec = activities.get(String(a.scheduledEventId));
        close(rec, time, 'completed');
        if (rec) rec.result = (await payloads(a.result))[0];
        break;
      }
      case T.EVENT_TYPE_ACTIVITY_TASK_FAILED: {
        const a = e.activityTaskFailedEventAttributes!;
        close(activities.get(String(a.scheduledEventId)), time, 'failed', await failure(a.failure));
        break;
      }
      case T.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: {
        const a = e.activityTaskTimedOutEventAttributes!;
        close(activities.get(String(a.scheduledEventId)), time, 'timed-out', await failure(a.failure));
        break;
      }
      case T.EVENT_TYPE_ACTIVITY_TASK_CANCELED:
        close(activities.get(String(e.activityTaskCanceledEventAttributes!.scheduledEventId)), time, 'cancelled');
        break;
      case T.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: {
        const a = e.workflowExecutionSignaledEventAttributes!;
        run.signals.push({ name: a.signalName ?? '', at: time, input: (await payloads(a.input))[0], identity: a.identity ?? undefined });
        break;
      }
      case T.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED: {
        const a = e.workflowExecutionUpdateAcceptedEventAttributes!;
        const req = a.acceptedRequest;
        const rec: UpdateRecord = { name: req?.input?.name ?? '', acceptedAt: time, input: (await payloads(req?.input?.args))[0] };
        updates.set(req?.meta?.updateId ?? a.protocolInstanceId ?? String(e.eventId), rec);
        run.updates.push(rec);
        break;
      }
      case T.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED: {
        const a = e.workflowExecutionUpdateCompletedEventAttributes!;
        const rec = updates.get(a.meta?.updateId ?? '');
        if (rec) {
          rec.completedAt = time;
          if (a.outcome?.failure) rec.error = await failure(a.outcome.failure);
          else rec.result = (await payloads(a.outcome?.success))[0];
        }
        break;
      }
      case T.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: {
        const field = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.[RUNBOOK_WAITING_ON.name];
        if (!field) break;
        const value = searchAttributeValue(field);
        const open = run.gates.find((g) => g.closedAt === undefined);
        if (open) open.closedAt = time;
        if (typeof value === 'string' && value) run.gates.push({ step: value, openedAt: time });
        break;
      }
      case T.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED: {
        const a = e.startChildWorkflowExecutionInitiatedEventAttributes!;
        const rec: ChildRecord = { workflowId: a.workflowId ?? '', workflowType: a.workflowType?.name ?? '', initiatedAt: time, status: 'running' };
        children.set(String(e.eventId), rec);
        run.children.push(rec);
        break;
      }
      case T.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
        childEvent(e.childWorkflowExecutionStartedEventAttributes, undefined);
        break;
      case T.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED:
        childEvent(e.childWorkflowExecutionCompletedEventAttributes, 'completed');
        break;
      case T.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED:
        childEvent(e.childWorkflowExecutionFailedEventAttributes, 'failed');
        break;
      case T.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED:
        childEvent(e.childWorkflowExecutionCanceledEventAttributes, 'cancelled');
        break;
      case T.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED:
        childEvent(e.childWorkflowExecutionTerminatedEventAttributes, 'terminated');
        break;
      case T.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT:
        childEvent(e.childWorkflowExecutionTimedOutEventAttributes, 'timed-out');
        break;
      case T.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
        run.status = 'completed';
        run.closedAt = time;
        run.result = (await payloads(e.workflowExecutionCompletedEventAttributes?.result))[0];
        break;
      case T.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
        run.status = 'failed';
        run.closedAt = time;
        run.failure = await failure(e.workflowExecutionFailedEventAttributes?.failure);
        break;
      case T.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
        run.status = 'cancelled';
        run.closedAt = time;
        break;
      case T.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
        run.status = 'terminated';
        run.closedAt = time;
        run.failure = `terminated${e.workflowExecutionTerminatedEventAttributes?.reason ? `: ${e.workflowExecutionTerminatedEventAttributes.reason}` : ''}`;
        break;
      case T.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
        run.status = 'timed-out';
        run.closedAt = time;
        run.failure = 'the run timed out';
        break;
      case T.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
        run.status = 'continued-as-new';
        run.closedAt = time;
        break;
    }

    function childEvent(a: { initiatedEventId?: Long | number | null; workflowExecution?: temporal.api.common.v1.IWorkflowExecution | null } | null | undefined, status: CloseStatus | undefined) {
      const rec = a ? children.get(String(a.initiatedEventId)) : undefined;
      if (!rec) return;
      rec.runId = a?.workflowExecution?.runId ?? rec.runId;
      if (status) {
        rec.status = status;
        rec.closedAt = time;
      }
    }
  }
  // the gate a run closed on (a rejection, an expiry) closes with it
  const open = run.gates.find((g) => g.closedAt === undefined);
  if (open && run.closedAt) open.closedAt = run.closedAt;
  return run;
}

type Long = { toString(): string };

/** The marker core records for each local activity (sdk-core LOCAL_ACTIVITY_MARKER_NAME). */
const LOCAL_ACTIVITY_MARKER = 'core_local_activity';

interface LocalActivityData {
  activityId?: string;
  activityType?: string;
  attempt?: number;
  completeTime?: string;
  originalScheduleTime?: string;
  backoff?: boolean;
}

/** The marker's `data`: core's LocalActivityMarkerData as plain JSON (core writes it past the codec;
 * a history whose payloads were all encoded afterwards is read through the codec). */
async function localActivityData(p: temporal.api.common.v1.IPayloads | null | undefined, converter: LoadedDataConverter): Promise<LocalActivityData> {
  let payload = p?.payloads?.[0];
  if (!payload?.data) return {};
  const json = (q: temporal.api.common.v1.IPayload) => {
    try {
      return JSON.parse(new TextDecoder().decode(q.data!)) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  };
  let raw = json(payload);
  if (!raw && converter.payloadCodecs.length) {
    for (const codec of [...converter.payloadCodecs].reverse()) [payload] = (await codec.decode([payload as never])) as temporal.api.common.v1.IPayload[];
    raw = payload?.data ? json(payload) : undefined;
  }
  if (!raw || typeof raw !== 'object') return {};
  const pick = (snake: string, camel: string) => raw[snake] ?? raw[camel];
  const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
  const backoff = pick('backoff', 'backoff');
  return {
    activityId: str(pick('activity_id', 'activityId')),
    activityType: str(pick('activity_type', 'activityType')),
    attempt: typeof raw.attempt === 'number' ? raw.attempt : undefined,
    completeTime: timestamp(pick('complete_time', 'completeTime')),
    originalScheduleTime: timestamp(pick('original_schedule_time', 'originalScheduleTime')),
    backoff: backoff !== undefined && backoff !== null,
  };
}

/** A protobuf timestamp as JSON: an RFC 3339 string or {seconds, nanos}. */
function timestamp(v: unknown): string | undefined {
  if (typeof v === 'string') {
    const ms = Date.parse(v);
    return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
  }
  if (v && typeof v === 'object' && 'seconds' in v) {
    const t = v as { seconds?: number | string; nanos?: number };
    const ms = Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
    return Number.isFinite(ms) && ms > 0 ? new Date(ms).toISOString() : undefined;
  }
  return undefined;
}

function hasCause(err: Error, type: abstract new (...args: never[]) => Error): boolean {
  for (let e: unknown = err; e instanceof Error; e = (e as Error).cause) if (e instanceof type) return true;
  return false;
}

function close(rec: ActivityRecord | undefined, time: string, outcome: ActivityRecord['outcome'], failure?: string): void {
  if (!rec) return;
  rec.closedAt = time;
  rec.outcome = outcome;
  if (failure) rec.failure = failure;
}

function at(e: IEvent): string {
  const t = e.eventTime;
  if (!t) return '';
  const ms = Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
  return new Date(ms).toISOString();
}

/** A search attribute's value (never encrypted: plain JSON, or the SDK's null). */
function searchAttributeValue(p: temporal.api.common.v1.IPayload): unknown {
  try {
    const v = defaultPayloadConverter.fromPayload(p as never);
    return Array.isArray(v) ? v[0] : v;
  } catch {
    return undefined;
  }
}

/** An error's message with its causes (an ActivityFailure says little; its cause says why). */
function messageOf(err: Error | undefined): string | undefined {
  if (!err) return undefined;
  const parts: string[] = [];
  for (let e: unknown = err; e instanceof Error && parts.length < 6; e = e.cause) {
    if (e.message && !parts.includes(e.message) && !/^(Activity task failed|Workflow execution failed|Child Workflow execution failed)$/i.test(e.message)) parts.push(e.message);
  }
  return parts.join(': ') || err.message;
}
