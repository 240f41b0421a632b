// The runbook kit: a run's state, the handlers beside it, and one method per kind of step.
// A runbook workflow creates one Runbook, then calls check/change/manual/wait in the order an
// operator would write the steps. Every change waits at a plan-bound approval gate first.
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { RunbookKitActivities } from '../../activities/runbook-kit';
import { renderDetails } from './details';
import { approvalsNeeded, durationMs, isGoAhead, refusal } from './gate';
import { abortSignal, approveSignal, decideUpdate, doneSignal, rejectSignal, statusQuery, type ApprovalInput, type DecideInput } from './messages';
import { RUNBOOK_NAME, RUNBOOK_TARGET, RUNBOOK_WAITING_ON } from './search-attributes';
import type {
  ApprovalPolicy,
  Decision,
  Evidence,
  GateNotice,
  OpenGate,
  Planned,
  RunbookResult,
  RunbookStatus,
  StepKind,
  StepStatus,
} from './types';

export interface StepDef {
  id: string;
  title: string;
  kind: StepKind;
  /** A point of no return (e.g. removing an etcd member): may need a second approver. */
  irreversible?: boolean;
}

export interface RunbookOptions {
  name: string;
  target: string;
  dryRun?: boolean;
  /** Who asked for the run; never the only approver of an irreversible step. */
  requestedBy?: string;
  /** Gate deadline from the run's input ("2h"), overriding the inventory's. */
  gateDeadline?: string;
  /** Change steps whose gate is passed without waiting (recorded as pre-approved by the starter). */
  preApproved?: string[];
  steps: StepDef[];
}

const kit = proxyActivities<RunbookKitActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 3 },
});

/** Thrown inside a run when it ends on a decision or a deadline: a clean end, not a failure. */
class RunEnded extends Error {
  constructor(
    readonly outcome: 'rejected' | 'aborted' | 'expired',
    readonly summary: string,
  ) {
    super(summary);
  }
}

export class Runbook {
  readonly status: RunbookStatus;
  private policy: ApprovalPolicy | undefined;
  private decisions: Decision[] = [];
  private readonly approvals: Decision[] = [];
  private readonly preApproved: ReadonlySet<string>;

  constructor(private readonly options: RunbookOptions) {
    this.preApproved = new Set(options.preApproved ?? []);
    this.status = {
      runbook: options.name,
      target: options.target,
      requestedBy: options.requestedBy,
      dryRun: options.dryRun ?? false,
      state: 'running',
      steps: options.steps.map(({ id, title, kind, irreversible }) => ({ id, title, kind, irreversible, state: 'pending', evidence: [] })),
      ignored: [],
    };
    this.registerHandlers();
    upsertSearchAttributes([
      { key: RUNBOOK_NAME, value: options.name },
      { key: RUNBOOK_TARGET, value: options.target },
    ]);
    this.publish();
  }

  /** Runs the body and turns its end into the run's result. */
  async run(body: () => Promise<string>): Promise<RunbookResult> {
    try {
      const policy = await kit.approvalPolicy();
      const deadlineMs = this.options.gateDeadline !== undefined ? durationMs(this.options.gateDeadline) : policy.deadlineMs;
      this.policy = { ...policy, deadlineMs };
      const summary = await body();
      this.status.state = 'completed';
      return this.result(this.status.dryRun ? 'dry-run' : 'completed', summary);
    } catch (err) {
      if (err instanceof RunEnded) {
        this.status.state = err.outcome;
        return this.result(err.outcome, err.summary);
      }
      this.status.state = 'failed';
      throw err;
    } finally {
      this.status.currentStep = undefined;
      this.publish();
    }
  }

  /** A read-only step: runs in a dry run too. */
  check<T extends Evidence>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.execute(id, fn);
  }

  /** A step that waits for the world (a node becoming Ready); read-only as well. */
  wait<T extends Evidence>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.execute(id, fn);
  }

  /**
   * A change behind a plan-bound gate: `preflight` reads the state and renders the plan; the gate
   * shows it with its digest; right before the change the preflight runs again and, if the plan
   * changed, nothing runs and the gate re-opens with the new plan. In a dry run: the plan only.
   */
  async change<F, T extends Evidence>(id: string, preflight: () => Promise<Planned<F>>, run: (facts: F) => Promise<T>): Promise<T | undefined> {
    const step = this.step(id);
    let planned = await this.preflight(step, preflight);
    if (this.status.dryRun) {
      step.state = 'planned';
      this.publish();
      return undefined;
    }
    let reopenedBecause: string | undefined;
    for (;;) {
      if (this.preApproved.has(id)) {
        step.decision = this.record({ step: id, by: 'pre-approved at start', decision: 'approve', via: 'update', at: now(), digest: planned.plan.digest });
      } else {
        await this.approvalGate(step, planned.plan.digest, reopenedBecause);
      }
      const fresh = await this.preflight(step, preflight);
      if (fresh.plan.digest === planned.plan.digest) return this.execute(id, () => run(fresh.facts));
      reopenedBecause = `the plan changed after approval (digest ${planned.plan.digest} → ${fresh.plan.digest}): ${diff(planned.plan.facts, fresh.plan.facts)}`;
      step.evidence.push(`${reopenedBecause}; nothing ran`);
      planned = fresh;
      if (this.preApproved.has(id)) {
        throw ApplicationFailure.nonRetryable(`pre-approved step "${id}" changed its plan: ${reopenedBecause}`, 'PlanChanged');
      }
    }
  }

  /**
   * A step only a person can do (a BIOS setting, moving a disk). `until` watches for it being done
   * (e.g. the host rebooting); the operator may also say `done`, or `abort` to end the run.
   */
  async manual(id: string, instructions: string, until: () => Promise<Evidence>): Promise<void> {
    const step = this.step(id);
    if (this.status.dryRun) {
      step.state = 'planned';
      step.evidence.push(instructions);
      this.publish();
      return;
    }
    const watcher = new CancellationScope();
    const watched = watcher.run(until);
    watched.catch(() => undefined); // its failure is read below; cancellation is expected
    // The gate wait gets its own scope so that, once the watcher wins, it cannot consume a later decision.
    const gate = new CancellationScope();
    const decided = gate.run(() => this.awaitGate(step, { kind: 'manual', instructions, needs: 1 })).then((d) => ({ d }));
    decided.catch(() => undefined);
    const first = await Promise.race([watched.then((e) => ({ e })), decided]);
    if ('e' in first) {
      gate.cancel();
      this.closeGate();
      step.evidence.push(...first.e.evidence);
      step.state = 'done';
      step.endedAt = now();
      this.publish();
      return;
    }
    watcher.cancel();
    try {
      await watched;
    } catch (err) {
      if (!isCancellation(err)) throw err;
    }
    const d = first.d[0]!;
    step.decision = d;
    step.endedAt = now();
    if (!isGoAhead(d.decision)) {
      step.state = 'rejected';
      throw new RunEnded('aborted', `${d.by} aborted at "${id}"; nothing was changed`);
    }
    step.state = 'done';
    step.evidence.push(`${d.by} said it is done${d.comment ? `: ${d.comment}` : ''}`);
    this.publish();
  }

  /** A step that does not apply to this run, with the reason. */
  skip(id: string, reason: string): void {
    const step = this.step(id);
    step.state = 'skipped';
    step.evidence.push(reason);
    this.publish();
  }

  private async preflight<F>(step: StepStatus, preflight: () => Promise<Planned<F>>): Promise<Planned<F>> {
    this.status.currentStep = step.id;
    try {
      const planned = await preflight();
      step.plan = planned.plan;
      return planned;
    } catch (err) {
      step.state = 'failed';
      step.error = `preflight: ${rootMessage(err)}`;
      throw ApplicationFailure.create({ message: `step "${step.id}" ${step.error}`, type: 'StepFailed', nonRetryable: true, cause: asError(err) });
    } finally {
      this.publish();
    }
  }

  /** Waits until the gate has enough approvals for this plan, or ends the run on a rejection. */
  private async approvalGate(step: StepStatus, digest: string, reopenedBecause: string | undefined): Promise<void> {
    const policy = this.policy!;
    const required = step.irreversible && policy.twoPersonIrreversible ? 2 : 1;
    const decisions = await this.awaitGate(step, {
      kind: 'approval',
      digest,
      reopenedBecause,
      needs: approvalsNeeded([], required, step.irreversible ?? false, this.status.requestedBy),
      instructions:
        `Approve "${step.title}" on ${step.plan!.target}: it runs the commands of plan ${digest}.` +
        (required === 2 ? ' A point of no return: two distinct approvers are needed.' : '') +
        (step.irreversible && this.status.requestedBy ? ` ${this.status.requestedBy} started this run and cannot be its only approver.` : ''),
      required,
    });
    step.approvals = decisions;
    step.decision = decisions[decisions.length - 1];
    const no = decisions.find((d) => !isGoAhead(d.decision));
    if (no) {
      step.state = 'rejected';
      step.endedAt = now();
      throw new RunEnded('rejected', `${no.by} rejected "${step.id}"; nothing was changed by it or after it`);
    }
  }

  /** Opens the gate, notifies, reminds, and collects decisions until it is decided or expires. */
  private async awaitGate(
    step: StepStatus,
    g: Pick<OpenGate, 'kind' | 'instructions' | 'digest' | 'reopenedBecause' | 'needs'> & { required?: number },
  ): Promise<Decision[]> {
    const policy = this.policy!;
    const deadlineAt = policy.deadlineMs !== undefined ? Date.now() + policy.deadlineMs : undefined;
    this.decisions = [];
    this.status.openGate = {
      step: step.id,
      kind: g.kind,
      since: now(),
      instructions: g.instructions,
      digest: g.digest,
      needs: g.needs,
      approvedBy: [],
      deadline: deadlineAt !== undefined ? new Date(deadlineAt).toISOString() : undefined,
      reopenedBecause: g.reopenedBecause,
    };
    this.status.state = 'waiting';
    this.status.currentStep = step.id;
    step.state = 'waiting';
    upsertSearchAttributes([{ key: RUNBOOK_WAITING_ON, value: step.id }]);
    this.publish();
    await this.notify('gate-open', step);
    const decided = () => this.decisions.some((d) => !isGoAhead(d.decision)) || this.status.openGate?.needs === 0;
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
        this.closeGate();
        step.state = 'rejected';
        step.endedAt = now();
        step.evidence.push(`the gate expired at ${new Date(deadlineAt).toISOString()} without a decision`);
        throw new RunEnded('expired', `the gate of "${step.id}" expired without a decision; nothing was changed by it or after it`);
      }
      await this.notify('reminder', step);
    }
    const decisions = this.decisions;
    this.closeGate();
    return decisions;
  }

  private async notify(event: GateNotice['event'], step: StepStatus): Promise<void> {
    const gate = this.status.openGate;
    const info = workflowInfo();
    try {
      await kit.notifyGate({
        event,
        runbook: this.status.runbook,
        target: this.status.target,
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
      step.evidence.push(`notification (${event}) failed: ${rootMessage(err)}`);
    }
  }

  private closeGate(): void {
    this.status.openGate = undefined;
    this.status.state = 'running';
    this.decisions = [];
    upsertSearchAttributes([{ key: RUNBOOK_WAITING_ON, value: null }]);
  }

  private offer(input: DecideInput, via: Decision['via']): void {
    const reason = refusal(this.status.openGate, input, this.policy?.approvers);
    if (reason) {
      this.status.ignored.push({
        step: String(input?.step),
        by: String(input?.by),
        decision: input?.decision,
        comment: input?.comment,
        digest: input?.digest,
        at: now(),
        reason,
      });
      this.publish();
      return;
    }
    const gate = this.status.openGate!;
    const decision = this.record({
      step: input.step,
      by: input.by,
      decision: input.decision,
      comment: input.comment,
      digest: input.digest ?? gate.digest,
      via,
      at: now(),
    });
    this.decisions.push(decision);
    if (isGoAhead(decision.decision)) {
      gate.approvedBy.push(decision.by);
      const step = this.step(gate.step);
      const required = gate.kind === 'approval' && step.irreversible && this.policy?.twoPersonIrreversible ? 2 : 1;
      gate.needs = approvalsNeeded(gate.approvedBy, required, gate.kind === 'approval' && (step.irreversible ?? false), this.status.requestedBy);
    }
    this.publish();
  }

  private record(decision: Decision): Decision {
    this.approvals.push(decision);
    return decision;
  }

  private registerHandlers(): void {
    const viaSignal = (decision: DecideInput['decision']) => (input: ApprovalInput) =>
      this.offer({ ...input, decision }, 'signal');
    setHandler(approveSignal, viaSignal('approve'), {
      description: 'Approve the open gate: {"step": "<step id>", "by": "<approver>", "digest": "<plan digest, optional>", "comment": "optional"}',
    });
    setHandler(rejectSignal, viaSignal('reject'), {
      description: 'Reject the open gate: the run ends with nothing changed by that step. Input as for approve.',
    });
    setHandler(doneSignal, viaSignal('done'), {
      description: 'Say that the open manual step is done: {"step": "<step id>", "by": "<operator>"}',
    });
    setHandler(abortSignal, viaSignal('abort'), {
      description: 'Abort at the open manual step: the run ends with nothing changed. Input as for done.',
    });
    setHandler(
      decideUpdate,
      (input) => {
        this.offer(input, 'update');
        return this.approvals[this.approvals.length - 1] as Decision;
      },
      {
        description:
          'Decide the open gate and hear at once if the decision is refused: {"step", "by", "decision": "approve"|"reject"|"done"|"abort", "digest"?, "comment"?}',
        validator: (input) => {
          const reason = refusal(this.status.openGate, input, this.policy?.approvers);
          if (reason) throw new Error(reason);
        },
      },
    );
    setHandler(statusQuery, () => this.status, {
      description: 'The whole run: every step with its state, evidence and plan, the open gate, who approved what.',
    });
  }

  private step(id: string): StepStatus {
    const step = this.status.steps.find((s) => s.id === id);
    if (!step) throw ApplicationFailure.nonRetryable(`runbook bug: unknown step "${id}"`, 'RunbookBug');
    return step;
  }

  private async execute<T extends Evidence>(id: string, fn: () => Promise<T>): Promise<T> {
    const step = this.step(id);
    step.state = 'running';
    step.startedAt ??= now();
    step.error = undefined;
    this.status.currentStep = id;
    this.publish();
    try {
      const out = await fn();
      step.evidence.push(...out.evidence);
      step.state = 'done';
      step.endedAt = now();
      return out;
    } catch (err) {
      step.state = 'failed';
      step.endedAt = now();
      step.error = rootMessage(err);
      throw ApplicationFailure.create({ message: `step "${id}" failed: ${step.error}`, type: 'StepFailed', nonRetryable: true, cause: asError(err) });
    } finally {
      this.publish();
    }
  }

  private publish(): void {
    setCurrentDetails(renderDetails(this.status));
  }

  private result(outcome: RunbookResult['outcome'], summary: string): RunbookResult {
    const steps = this.status.steps;
    return {
      runbook: this.status.runbook,
      target: this.status.target,
      outcome,
      summary,
      steps,
      approvals: this.approvals,
      plan:
        outcome === 'dry-run'
          ? steps
              .filter((s) => s.plan)
              .map((s) => ({ step: s.id, title: s.title, target: s.plan!.target, commands: s.plan!.commands, digest: s.plan!.digest }))
          : undefined,
    };
  }
}

function now(): string {
  return new Date().toISOString();
}

function asError(err: unknown): Error | undefined {
  return err instanceof Error ? err : undefined;
}

/** The innermost message: an ActivityFailure wraps the ApplicationFailure an operator needs to read. */
function rootMessage(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && (e as { cause?: unknown }).cause instanceof Error) e = (e as { cause?: unknown }).cause;
  return e instanceof Error ? e.message : String(e);
}

/** "memberId: 1f5… → (none)" for every fact that differs. */
function diff(before: Record<string, string>, after: Record<string, string>): string {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  const changed = keys.filter((k) => before[k] !== after[k]).map((k) => `${k}: ${before[k] ?? '(none)'} → ${after[k] ?? '(none)'}`);
  return changed.join(', ') || 'the commands differ';
}
