// The incident report as data: built from a run's history, its result (a finished run) or its status
// (a running one), and its phases' records. Renderers (markdown.ts, html.ts) only lay it out. Every
// string in it has been through the exec layer's redaction before a renderer sees it.
import { redact } from '../activities/exec/redact';
import type { Decision, OpenGate, PendingTimer, RunbookResult, StepPlan, StepStatus } from '../workflows/runbook/types';
import type { RunRecord } from './gather';
import type { ActivityRecord } from './history';

/** Runs recorded before the failed-step gate have no `failures`; StepStatus says it is optional. */
type ReportedStep = StepStatus;

export interface DecisionRow {
  step: string;
  decision: string;
  by: string;
  key?: string;
  via?: string;
  at: string;
  digest?: string;
  comment?: string;
}

export interface TimelineRow {
  step: string;
  title: string;
  kind: string;
  state: string;
  start?: string;
  end?: string;
  durationMs?: number;
  notes: string[];
}

export interface GateRow {
  openedAt: string;
  closedAt?: string;
  waitedMs?: number;
}

export interface ChangeRow {
  step: string;
  title: string;
  state: string;
  irreversible: boolean;
  noGate?: string;
  plan?: StepPlan;
  decisions: DecisionRow[];
  gates: GateRow[];
  /** Why its gate re-opened ("the plan changed after approval ..."). */
  reopened: string[];
  /** The commands' output and the facts that justify the outcome (the step's evidence). */
  output: string[];
  error?: string;
}

export interface FailureRow {
  step?: string;
  at?: string;
  what: string;
  resolution: string;
}

export interface SoakCheck {
  n: number;
  at: string;
  healthy: boolean;
  detail: string;
}

export interface SoakRow {
  step: string;
  title: string;
  state: string;
  checks: SoakCheck[];
  /** Evidence lines that are not checks: "X said go on after the failed check", the end. */
  notes: string[];
}

export interface PhaseRow {
  step: string;
  title: string;
  state: string;
  workflowId?: string;
  report?: Report;
}

export interface Report {
  workflowId: string;
  runId: string;
  workflowType: string;
  runbook: string;
  target: string;
  /** The run's state: completed, rejected, aborted, expired, failed, running, waiting, cancelled... */
  state: string;
  summary?: string;
  dryRun: boolean;
  startedAt: string;
  endedAt?: string;
  durationMs?: number;
  asked: {
    requestedBy?: string;
    /** The starter whose signed start the worker verified: "alice (SHA256:…)". */
    startedBy?: string;
    /** The client identity Temporal recorded for the start: typed by the client, never verified. */
    clientIdentity?: string;
    input: Record<string, unknown>;
    identity?: string;
  };
  checks: { step: string; title: string; kind: string; state: string; evidence: string[] }[];
  manual: { step: string; title: string; state: string; evidence: string[]; decision?: DecisionRow }[];
  timeline: TimelineRow[];
  changes: ChangeRow[];
  decisions: DecisionRow[];
  refused: (DecisionRow & { reason: string })[];
  refusedCount: number;
  failures: FailureRow[];
  soaks: SoakRow[];
  phases: PhaseRow[];
  activities: ActivityRecord[];
  openGate?: OpenGate & { kind: string };
  timer?: PendingTimer;
  /** Where each part came from, and what could not be read. */
  sources: string[];
}

const KIT_ACTIVITIES = new Set(['approvalPolicy', 'notifyGate', 'verifyDecision', 'verifyStart']);
const SECRET_FIELD = /token|secret|password|passphrase|api.?key|private/i;
const SOAK_CHECK = /^check (\d+) \(([^)]*)\): (healthy|NOT healthy): ?(.*)$/s;

export function buildReport(record: RunRecord): Report {
  const h = record.history;
  const status = record.status;
  const result = isResult(h.result) ? h.result : undefined;
  const steps: ReportedStep[] = (status?.steps ?? result?.steps ?? []) as ReportedStep[];
  const input = (h.input && typeof h.input === 'object' ? h.input : {}) as Record<string, unknown>;
  const sources = [`history of ${h.workflowId} run ${h.runId} (${h.status})`];
  if (result) sources.push('its result (every step as the run ended)');
  if (status) sources.push('its status query');
  else if (record.statusUnavailable) sources.push(`no status: ${record.statusUnavailable}`);

  const decisions = collectDecisions(record, steps, result);
  const gatesOf = (step: string) => h.gates.filter((g) => g.step === step).map((g) => ({ ...g, waitedMs: span(g.openedAt, g.closedAt) }));
  const decisionsOf = (step: string) => decisions.filter((d) => d.step === step);

  const state = status?.state ?? result?.outcome ?? runState(h.status);
  const report: Report = {
    workflowId: h.workflowId,
    runId: h.runId,
    workflowType: h.workflowType,
    runbook: status?.runbook ?? result?.runbook ?? h.workflowType,
    target: status?.target ?? result?.target ?? String(input.node ?? ''),
    state: h.status === 'failed' || h.status === 'terminated' || h.status === 'timed-out' ? h.status : state,
    summary: result?.summary ?? h.failure,
    dryRun: status?.dryRun ?? input.dryRun === true,
    startedAt: h.startedAt,
    endedAt: h.closedAt,
    durationMs: span(h.startedAt, h.closedAt),
    asked: {
      requestedBy: status?.requestedBy ?? (typeof input.requestedBy === 'string' ? input.requestedBy : undefined),
      startedBy: status?.startedBy ?? startedByFromHistory(h.activities),
      clientIdentity: h.startIdentity,
      input: shownInput(input),
      identity: status?.identity,
    },
    checks: steps
      .filter((s) => (s.kind === 'check' || s.kind === 'wait') && s.state !== 'pending')
      .map((s) => ({ step: s.id, title: s.title, kind: s.kind, state: s.state, evidence: s.evidence })),
    manual: steps
      .filter((s) => s.kind === 'manual' && s.state !== 'pending' && s.state !== 'skipped')
      .map((s) => ({ step: s.id, title: s.title, state: s.state, evidence: s.evidence, decision: s.decision && row(s.decision) })),
    timeline: steps.map((s) => timelineRow(s, gatesOf(s.id), decisionsOf(s.id), record)),
    changes: steps
      .filter((s) => s.kind === 'change')
      .map((s) => ({
        step: s.id,
        title: s.title,
        state: s.state,
        irreversible: s.irreversible ?? false,
        noGate: s.noGate,
        plan: s.plan,
        decisions: decisionsOf(s.id),
        gates: gatesOf(s.id),
        reopened: s.evidence.filter((e) => e.startsWith('the plan changed after approval')),
        output: s.evidence.filter((e) => !e.startsWith('the plan changed after approval')),
        error: s.error,
      })),
    decisions,
    refused: refusedDecisions(record, decisions),
    refusedCount: status?.ignoredCount ?? status?.ignored.length ?? 0,
    failures: failures(record, steps),
    soaks: steps.filter((s) => s.kind === 'soak' && s.state !== 'pending' && s.state !== 'skipped').map(soakRow),
    phases: steps.filter((s) => s.kind === 'phase').map((s) => phaseRow(s, record, steps)),
    activities: h.activities.filter((a) => !KIT_ACTIVITIES.has(a.type)).map(({ result: _r, ...a }) => a),
    openGate: status?.openGate,
    timer: status?.timer,
    sources,
  };
  if (!status) report.refusedCount = report.refused.length;
  return maskDeep(report);
}

function isResult(v: unknown): v is RunbookResult {
  return !!v && typeof v === 'object' && Array.isArray((v as RunbookResult).steps) && typeof (v as RunbookResult).outcome === 'string';
}

function runState(s: RunRecord['history']['status']): string {
  return s;
}

function span(from?: string, to?: string): number | undefined {
  if (!from || !to) return undefined;
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

function row(d: Decision | (Omit<Decision, 'via'> & { via?: string })): DecisionRow {
  return { step: d.step, decision: d.decision, by: d.by, key: d.key, via: d.via, at: d.at, digest: d.digest, comment: d.comment };
}

/** The input as asked, minus secrets: the start signature is named, never shown. */
function shownInput(input: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input)) {
    if (k === 'startSignature') out[k] = '(an SSH signature; the worker verified it, see "started by")';
    else if (SECRET_FIELD.test(k)) out[k] = '***';
    else out[k] = v;
  }
  return out;
}

/** A finished run without a status: the starter the worker verified is in verifyStart's result. */
function startedByFromHistory(activities: ActivityRecord[]): string | undefined {
  const r = activities.find((a) => a.type === 'verifyStart' && a.outcome === 'completed')?.result as { ok?: boolean; key?: { fingerprint: string; principals: string[] } } | undefined;
  if (!r?.ok || !r.key) return undefined;
  return `${r.key.principals.join('/') || '?'} (${r.key.fingerprint})`;
}

/** Every decision that counted, in order: the result's list, the steps' own, and the `decide` updates' answers. */
function collectDecisions(record: RunRecord, steps: ReportedStep[], result: RunbookResult | undefined): DecisionRow[] {
  const all: DecisionRow[] = [];
  const seen = new Set<string>();
  const add = (d: Decision | undefined) => {
    if (!d || typeof d !== 'object' || !d.step || !d.decision) return;
    const key = `${d.step}|${d.decision}|${d.by}|${d.at}`;
    if (seen.has(key)) return;
    seen.add(key);
    all.push(row(d));
  };
  for (const d of result?.approvals ?? []) add(d);
  for (const s of steps) {
    for (const d of s.approvals ?? []) add(d);
    add(s.decision);
    for (const f of s.failures ?? []) add(f.decision);
  }
  for (const u of record.history.updates) if (u.name === 'decide' && !u.error) add(u.result as Decision);
  return all.sort((a, b) => a.at.localeCompare(b.at));
}

/**
 * Refused decisions: the status keeps the newest with their reasons. Without a status, the history
 * still shows a `decide` update that failed (with its reason) and a decision signal that never counted.
 */
function refusedDecisions(record: RunRecord, counted: DecisionRow[]): Report['refused'] {
  const status = record.status;
  if (status) return status.ignored.map((d) => ({ ...row(d), reason: d.reason }));
  const out: Report['refused'] = [];
  for (const u of record.history.updates) {
    if (u.name !== 'decide' || !u.error) continue;
    const i = (u.input ?? {}) as Record<string, unknown>;
    out.push({ step: String(i.step ?? ''), decision: String(i.decision ?? ''), by: claimed(i), via: 'update', at: u.acceptedAt, reason: u.error });
  }
  const unmatched = [...counted.filter((d) => d.via === 'signal')];
  for (const sgl of record.history.signals) {
    if (!['approve', 'reject', 'done', 'abort', 'retry'].includes(sgl.name)) continue;
    const i = (sgl.input ?? {}) as Record<string, unknown>;
    // a signal that counted became a decision of its step and kind, at or after its arrival
    const match = unmatched.findIndex((d) => d.step === i.step && d.decision === sgl.name && d.at >= sgl.at.slice(0, 19));
    if (match >= 0) {
      unmatched.splice(match, 1);
      continue;
    }
    out.push({
      step: String(i.step ?? ''),
      decision: sgl.name,
      by: claimed(i),
      via: 'signal',
      at: sgl.at,
      reason: 'it never counted (the reason is in the run\'s status, which no worker answered)',
    });
  }
  return out.sort((a, b) => a.at.localeCompare(b.at));
}

function claimed(i: Record<string, unknown>): string {
  return typeof i.by === 'string' ? `${i.by} (claimed, not verified)` : typeof i.signature === 'string' ? '(signed; key not verified here)' : '(no name)';
}

function timelineRow(s: ReportedStep, gates: GateRow[], decisions: DecisionRow[], record: RunRecord): TimelineRow {
  const child = s.kind === 'phase' ? phaseChild(s, record) : undefined;
  const starts = [s.startedAt, gates[0]?.openedAt, child?.history.startedAt].filter((x): x is string => !!x).sort();
  const start = starts[0];
  const lastGate = gates[gates.length - 1];
  const end = s.endedAt ?? (s.state === 'rejected' ? lastGate?.closedAt : undefined);
  const notes: string[] = [];
  if (s.state === 'skipped' || s.state === 'planned') notes.push(...s.evidence.slice(0, 1));
  for (const g of gates) notes.push(`gate open ${time(g.openedAt)}${g.closedAt ? ` → ${time(g.closedAt)} (${formatDuration(g.waitedMs ?? 0)})` : ' → still open'}`);
  for (const d of decisions) notes.push(`${d.decision} by ${d.by}${d.key ? ` (${d.key})` : ''} at ${time(d.at)}`);
  if (s.error) notes.push(`error: ${s.error}`);
  return { step: s.id, title: s.title, kind: s.kind, state: s.state, start, end, durationMs: span(start, end), notes };
}

function failures(record: RunRecord, steps: ReportedStep[]): FailureRow[] {
  const out: FailureRow[] = [];
  const openGate = record.status?.openGate;
  for (const s of steps) {
    for (const f of s.failures ?? []) {
      const d = f.decision;
      const resolution = d
        ? `${d.decision} by ${d.by}${d.key ? ` (${d.key})` : ''} at ${time(d.at)}${d.comment ? `: ${d.comment}` : ''}${d.decision === 'retry' ? ' — the step ran again' : d.decision === 'abort' ? ' — the run ended aborted' : ''}`
        : openGate?.step === s.id
          ? 'waiting at the failed-step gate for retry or abort'
          : 'not answered';
      out.push({ step: s.id, at: f.at, what: `${f.attempt ? `attempt ${f.attempt}: ` : ''}${f.error}`, resolution });
    }
    if (s.state === 'failed' && s.error && !(s.failures ?? []).some((f) => f.error === s.error)) {
      out.push({ step: s.id, at: s.endedAt, what: s.error, resolution: 'unresolved: the run failed at this step' });
    }
  }
  for (const a of record.history.activities) {
    // a local activity (a check) retried by the worker itself leaves only its attempt count in the history
    if ((a.attempt ?? 1) > 1 && (a.lastFailure || a.local)) {
      out.push({
        at: a.closedAt ?? a.scheduledAt,
        what: `${a.local ? 'local activity' : 'activity'} ${a.type} failed ${a.attempt! - 1} time(s), last: ${a.lastFailure ?? '(not recorded for a local activity)'}`,
        resolution: `Temporal retried it; attempt ${a.attempt} ${a.outcome === 'running' ? 'is running' : a.outcome}`,
      });
    }
  }
  const h = record.history;
  if (h.failure && !out.some((f) => f.resolution.startsWith('unresolved'))) {
    out.push({ at: h.closedAt, what: h.failure, resolution: `unresolved: the run ${h.status}` });
  }
  return out;
}

function soakRow(s: ReportedStep): SoakRow {
  const checks: SoakCheck[] = [];
  const notes: string[] = [];
  for (const e of s.evidence) {
    const m = SOAK_CHECK.exec(e);
    if (m) checks.push({ n: Number(m[1]), at: m[2]!, healthy: m[3] === 'healthy', detail: m[4]! });
    else notes.push(e);
  }
  return { step: s.id, title: s.title, state: s.state, checks, notes };
}

/** The child record of a phase step: by the status's phase report, its evidence, or start order. */
function phaseChild(s: ReportedStep, record: RunRecord): RunRecord | undefined {
  const byId = (id: string | undefined) => (id ? record.children.find((c) => c.history.workflowId === id) : undefined);
  const fromStatus = byId(record.status?.phases?.[s.id]?.workflowId);
  if (fromStatus) return fromStatus;
  const fromEvidence = record.children.find((c) => s.evidence.some((e) => e.startsWith(`${c.history.workflowId}: `)));
  if (fromEvidence) return fromEvidence;
  // a phase's workflow ID ends with its runbook's name (recovery-program: `<id>/k3s-rejoin` for "rejoin")
  return record.children.find((c) => c.history.workflowId.endsWith(`/${s.id}`) || c.history.workflowId.endsWith(`-${s.id}`));
}

function phaseRow(s: ReportedStep, record: RunRecord, steps: ReportedStep[]): PhaseRow {
  let child = phaseChild(s, record);
  if (!child && s.state !== 'pending' && s.state !== 'skipped') {
    // the n-th phase that ran is the n-th child started
    const ran = steps.filter((x) => x.kind === 'phase' && x.state !== 'pending' && x.state !== 'skipped');
    child = record.children[ran.indexOf(s)];
  }
  return { step: s.id, title: s.title, state: s.state, workflowId: child?.history.workflowId ?? record.status?.phases?.[s.id]?.workflowId, report: child && buildReport(child) };
}

/** Every string through the exec layer's redaction (token shapes, secret flags, URL passwords). */
function maskDeep<T>(v: T): T {
  if (typeof v === 'string') return redact(v) as T;
  if (Array.isArray(v)) return v.map(maskDeep) as T;
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, maskDeep(x)])) as T;
  return v;
}

/** "2026-12-01 23:40:26 UTC" (milliseconds dropped: a report is read, not diffed). */
export function time(iso: string): string {
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)/.exec(iso);
  return m ? `${m[1]} ${m[2]} UTC` : iso;
}

/** "2d 3h", "4m 05s", "850 ms". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  const d = Math.floor(s / 86400);
  const hh = Math.floor((s % 86400) / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = s % 60;
  if (d) return `${d}d ${hh}h${mm ? ` ${mm}m` : ''}`;
  if (hh) return `${hh}h ${String(mm).padStart(2, '0')}m`;
  if (mm) return `${mm}m ${String(ss).padStart(2, '0')}s`;
  return `${ss}s`;
}
