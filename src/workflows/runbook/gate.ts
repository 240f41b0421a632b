// A gate's life: open it, announce it, remind, expire, take decisions, close it. Decisions come in
// by signal (the UI) or update (the CLI); in signatures mode each is verified by the worker (the
// verifyDecision activity) before it counts, and counts once per key, never per name. The keys and
// signatures collected here are only what the workflow shows: every change activity verifies them
// again itself (src/activities/approvals) before it runs anything.
import { ApplicationFailure, condition, proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { RunbookKitActivities } from '../../activities/runbook-kit';
import {
  approvalsNeeded,
  describeKey,
  fieldsFor,
  isGoAhead,
  keysNeeded,
  refusal,
  type Authorization,
  type DecisionContext,
  type DecisionInput,
  type DecisionKind,
  type RunIds,
  type VerifiedKey,
} from './decision';
import { RUNBOOK_WAITING_ON } from './search-attributes';
import type { ApprovalPolicy, Decision, GateNotice, OpenGate, RunbookStatus, StepPlan, StepStatus } from './types';

const kit = proxyActivities<RunbookKitActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 3 },
});

/** Refused decisions kept in the status (the newest); older ones are only counted. */
const KEEP_IGNORED = 20;

/** Thrown inside a run when it ends on a decision or a deadline: a clean end, not a failure. */
export class RunEnded extends Error {
  constructor(
    readonly outcome: 'rejected' | 'aborted' | 'expired',
    readonly summary: string,
  ) {
    super(summary);
  }
}

/** What the gate needs from its runbook. */
export interface GateHost {
  readonly status: RunbookStatus;
  policy(): ApprovalPolicy;
  publish(): void;
  step(id: string): StepStatus;
}

export class GateKeeper {
  /** Decisions taken at the open gate. */
  private decisions: Decision[] = [];
  /** Every decision of the run, in order (the run's result lists them). */
  readonly approvals: Decision[] = [];
  /** Keys and signatures of the approvals at the open gate (the authorization handed to the change). */
  private keys: VerifiedKey[] = [];
  private signatures: string[] = [];
  /** Per step: the signatures of the approvals that passed its gate, for its change activity. */
  private readonly passed = new Map<string, { signatures: string[]; names: string[]; attempt?: number }>();
  /** The run's verified starter (a signed start), if any. */
  starter: VerifiedKey | undefined;

  constructor(private readonly host: GateHost) {}

  get identity(): 'signatures' | 'names' {
    return this.host.policy().identity ?? 'names';
  }

  run(): RunIds {
    const info = workflowInfo();
    return { namespace: info.namespace, workflowId: info.workflowId, runId: info.runId };
  }

  context(): DecisionContext {
    const policy = this.host.policy();
    return { identity: this.identity, approvers: policy.approvers, run: this.run() };
  }

  /** Opens the gate, notifies, reminds, and collects decisions until it is decided or expires. */
  async await(
    step: StepStatus,
    g: Pick<OpenGate, 'kind' | 'instructions' | 'digest' | 'reopenedBecause' | 'needs' | 'attempt'> & { required?: number },
  ): Promise<Decision[]> {
    const status = this.host.status;
    const policy = this.host.policy();
    const deadlineAt = policy.deadlineMs !== undefined ? Date.now() + policy.deadlineMs : undefined;
    this.decisions = [];
    this.keys = [];
    this.signatures = [];
    status.openGate = {
      step: step.id,
      kind: g.kind,
      since: now(),
      instructions: g.instructions,
      digest: g.digest,
      needs: g.needs,
      approvedBy: [],
      deadline: deadlineAt !== undefined ? new Date(deadlineAt).toISOString() : undefined,
      reopenedBecause: g.reopenedBecause,
      attempt: g.attempt !== undefined && g.attempt > 1 ? g.attempt : undefined,
    };
    status.state = 'waiting';
    status.currentStep = step.id;
    // a failed step stays "failed" while it waits for retry or abort
    step.state = g.kind === 'failed' ? 'failed' : 'waiting';
    upsertSearchAttributes([{ key: RUNBOOK_WAITING_ON, value: step.id }]);
    this.host.publish();
    await this.notify('gate-open', step);
    const decided = () => this.decisions.some((d) => !isGoAhead(d.decision)) || status.openGate?.needs === 0;
    for (;;) {
      const untilDeadline = deadlineAt !== undefined ? Math.max(0, deadlineAt - Date.now()) : undefined;
      const wait = Math.min(untilDeadline ?? Infinity, policy.reminderMs ?? Infinity);
      if (wait === Infinity) {
        await condition(decided);
        break;
      }
      if (await condition(decided, wait)) break;
      if (deadlineAt !== undefined && Date.now() >= deadlineAt) {
        await this.notify('expired', step);
        this.close();
        step.state = 'rejected';
        step.endedAt = now();
        step.evidence.push(`the gate expired at ${new Date(deadlineAt).toISOString()} without a decision`);
        throw new RunEnded('expired', `the gate of "${step.id}" expired without a decision; nothing was changed by it or after it`);
      }
      await this.notify('reminder', step);
    }
    const decisions = this.decisions;
    const attempt = status.openGate?.attempt;
    this.passed.set(step.id, { signatures: this.signatures, names: decisions.filter((d) => isGoAhead(d.decision)).map((d) => d.by), attempt });
    this.close();
    return decisions;
  }

  /** How many approvals a gate of this step still needs, by the run's identity mode. */
  needs(step: StepStatus, kind: OpenGate['kind'], approvedBy: readonly string[]): number {
    const policy = this.host.policy();
    const irreversible = kind === 'approval' && (step.irreversible ?? false);
    const required = irreversible && policy.twoPersonIrreversible ? 2 : 1;
    if (this.identity === 'signatures') return keysNeeded(this.keys, required, irreversible, this.starter);
    return approvalsNeeded(approvedBy, required, irreversible, this.host.status.requestedBy);
  }

  /** What the change activity of `step` is handed: the plan and how it was approved. */
  authorization(step: StepStatus, plan: StepPlan, how: 'gate' | 'pre-approved' | 'no-gate', start?: Authorization['start']): Authorization {
    const p = { target: plan.target, commands: plan.commands, facts: plan.facts, digest: plan.digest };
    if (how === 'no-gate') return { step: step.id, plan: p, noGate: true };
    if (how === 'pre-approved') return { step: step.id, plan: p, start };
    const passed = this.passed.get(step.id) ?? { signatures: [], names: [] };
    const attempt = passed.attempt !== undefined ? { attempt: passed.attempt } : {};
    return this.identity === 'signatures' ? { step: step.id, plan: p, signatures: passed.signatures, ...attempt } : { step: step.id, plan: p, names: passed.names, ...attempt };
  }

  /** The update validator: the cheap, synchronous checks (the signature is verified after it). */
  validate(input: DecisionInput, decision: DecisionKind): void {
    const reason = refusal(this.host.status.openGate, input, decision, this.context());
    if (reason) throw new Error(reason);
  }

  /**
   * A decision from a signal or the update: refused ones are recorded under `ignored` (and thrown
   * for an update); in signatures mode the worker verifies the signature before it counts.
   */
  async offer(input: DecisionInput, decision: DecisionKind, via: Decision['via']): Promise<Decision> {
    const status = this.host.status;
    const reason = refusal(status.openGate, input, decision, this.context());
    if (reason) throw this.ignore(input, decision, reason);
    const gate = status.openGate!;
    let by = input.by!;
    let key: VerifiedKey | undefined;
    let signature: string | undefined;
    if (this.identity === 'signatures') {
      signature = input.signature!;
      const verified = await kit.verifyDecision({ fields: fieldsFor(gate, decision, this.run()), signature });
      if (!verified.ok) throw this.ignore(input, decision, `the signature does not verify: ${verified.reason}`);
      // the gate may have closed or re-opened while the worker verified
      if (status.openGate !== gate) throw this.ignore(input, decision, `the gate of "${gate.step}" closed while the signature was verified`);
      const k = verified.key;
      key = k;
      by = k.principals.join('/');
      if (isGoAhead(decision) && this.keys.some((seen) => seen.fingerprint === k.fingerprint)) {
        throw this.ignore(input, decision, `key ${describeKey(k)} already approved "${gate.step}"; it needs another, distinct key`);
      }
    }
    const d: Decision = { step: input.step, by, decision, comment: input.comment, digest: gate.digest, via, at: now(), key: key?.fingerprint };
    this.record(d);
    this.decisions.push(d);
    if (isGoAhead(decision)) {
      gate.approvedBy.push(key ? describeKey(key) : by);
      if (key) this.keys.push(key);
      if (signature) this.signatures.push(signature);
      gate.needs = this.needs(this.host.step(gate.step), gate.kind, gate.approvedBy);
    }
    this.host.publish();
    return d;
  }

  record(decision: Decision): Decision {
    this.approvals.push(decision);
    return decision;
  }

  close(): void {
    const status = this.host.status;
    status.openGate = undefined;
    status.state = 'running';
    // a gate's keys count at that gate only: the next gate starts from none
    this.decisions = [];
    this.keys = [];
    this.signatures = [];
    upsertSearchAttributes([{ key: RUNBOOK_WAITING_ON, value: null }]);
  }

  async notify(event: GateNotice['event'], step: StepStatus): Promise<void> {
    const status = this.host.status;
    const gate = status.openGate;
    const info = workflowInfo();
    try {
      await kit.notifyGate({
        event,
        runbook: status.runbook,
        target: status.target,
        step: step.id,
        title: step.title,
        kind: gate?.kind ?? 'approval',
        digest: gate?.digest,
        instructions: gate?.instructions ?? '',
        workflowId: info.workflowId,
        runId: info.runId,
        namespace: info.namespace,
        deadline: gate?.deadline,
      });
    } catch (err) {
      // a notification that cannot be sent must not stop the run; it is recorded for the operator
      step.evidence.push(`notification (${event}) failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Records a refused decision (bounded: the newest few and a count) and returns the error to throw. */
  private ignore(input: DecisionInput, decision: DecisionKind, reason: string): ApplicationFailure {
    const status = this.host.status;
    const clip = (v: unknown, n: number) => (typeof v === 'string' ? v.slice(0, n) : v === undefined ? undefined : String(v).slice(0, n));
    status.ignored.push({
      step: String(clip(input?.step, 100)),
      // with signatures a typed name proves nothing: it is kept only as a claim
      by: (this.identity === 'signatures' ? (typeof input?.by === 'string' ? `${input.by} (claimed, not verified)` : '(no verified key)') : typeof input?.by === 'string' ? input.by : '(no name)').slice(0, 64),
      decision,
      comment: clip(input?.comment, 200),
      digest: clip(input?.digest, 64),
      at: now(),
      reason: reason.slice(0, 500),
    });
    status.ignoredCount = (status.ignoredCount ?? 0) + 1;
    if (status.ignored.length > KEEP_IGNORED) status.ignored.splice(0, status.ignored.length - KEEP_IGNORED);
    this.host.publish();
    return ApplicationFailure.nonRetryable(reason, 'DecisionRefused');
  }
}

function now(): string {
  return new Date().toISOString();
}
