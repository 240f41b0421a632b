// The runbook kit: a run's state, the handlers beside it, and one method per kind of step.
// A runbook workflow creates one Runbook, then calls check/change/manual/wait in the order an
// operator would write the steps. Every change waits at an approval gate first.
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import { renderDetails } from './details';
import { isGoAhead, refusal } from './gate';
import { abortSignal, approveSignal, decideUpdate, doneSignal, rejectSignal, statusQuery, type ApprovalInput, type DecideInput } from './messages';
import { RUNBOOK_NAME, RUNBOOK_TARGET, RUNBOOK_WAITING_ON } from './search-attributes';
import type { Decision, Evidence, OpenGate, RunbookResult, RunbookStatus, StepKind, StepPlan, StepStatus } from './types';

export interface StepDef {
  id: string;
  title: string;
  kind: StepKind;
}

export interface RunbookOptions {
  name: string;
  target: string;
  dryRun?: boolean;
  /** Change steps whose gate is passed without waiting (recorded as pre-approved by the starter). */
  preApproved?: string[];
  steps: StepDef[];
}

/** Thrown inside a run when an operator rejects or aborts: the run ends cleanly, not as a failure. */
class RunEnded extends Error {
  constructor(
    readonly outcome: 'rejected' | 'aborted',
    readonly summary: string,
  ) {
    super(summary);
  }
}

export class Runbook {
  readonly status: RunbookStatus;
  private approvers: readonly string[] | undefined;
  private decision: Decision | undefined;
  private readonly approvals: Decision[] = [];
  private readonly preApproved: ReadonlySet<string>;

  constructor(private readonly options: RunbookOptions) {
    this.preApproved = new Set(options.preApproved ?? []);
    this.status = {
      runbook: options.name,
      target: options.target,
      dryRun: options.dryRun ?? false,
      state: 'running',
      steps: options.steps.map((s) => ({ ...s, state: 'pending', evidence: [] })),
      ignored: [],
    };
    this.registerHandlers();
    upsertSearchAttributes([
      { key: RUNBOOK_NAME, value: options.name },
      { key: RUNBOOK_TARGET, value: options.target },
    ]);
    this.publish();
  }

  /** Who may decide at a gate; known once the inventory has been read. */
  setApprovers(approvers: readonly string[]): void {
    this.approvers = approvers;
  }

  /** Runs the body and turns its end into the run's result. */
  async run(body: () => Promise<string>): Promise<RunbookResult> {
    try {
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
   * A change: shows its plan, waits at its approval gate, then runs. In a dry run it only records
   * the plan and returns undefined.
   */
  async change<T extends Evidence>(id: string, plan: StepPlan, fn: () => Promise<T>): Promise<T | undefined> {
    const step = this.step(id);
    step.plan = plan;
    if (this.status.dryRun) {
      step.state = 'planned';
      this.publish();
      return undefined;
    }
    if (this.preApproved.has(id)) {
      step.decision = this.record({ step: id, by: 'pre-approved at start', decision: 'approve', via: 'update', at: now() });
    } else {
      step.decision = await this.awaitDecision(
        step,
        'approval',
        `Approve "${step.title}" on ${plan.target}: it runs the commands below.`,
      );
      if (!isGoAhead(step.decision.decision)) {
        step.state = 'rejected';
        step.endedAt = now();
        throw new RunEnded('rejected', `${step.decision.by} rejected "${id}"; nothing was changed by it or after it`);
      }
    }
    return this.execute(id, fn);
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
    const decided = gate.run(() => this.awaitDecision(step, 'manual', instructions)).then((d) => ({ d }));
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
    step.decision = first.d;
    step.endedAt = now();
    if (!isGoAhead(first.d.decision)) {
      step.state = 'rejected';
      throw new RunEnded('aborted', `${first.d.by} aborted at "${id}"; nothing was changed`);
    }
    step.state = 'done';
    step.evidence.push(`${first.d.by} said it is done${first.d.comment ? `: ${first.d.comment}` : ''}`);
    this.publish();
  }

  /** A step that does not apply to this run, with the reason. */
  skip(id: string, reason: string): void {
    const step = this.step(id);
    step.state = 'skipped';
    step.evidence.push(reason);
    this.publish();
  }

  /** Adds a line of evidence to a step (e.g. the re-check that followed a manual step). */
  note(id: string, line: string): void {
    this.step(id).evidence.push(line);
    this.publish();
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
      throw ApplicationFailure.create({
        message: `step "${id}" failed: ${step.error}`,
        type: 'StepFailed',
        nonRetryable: true,
        cause: err instanceof Error ? err : undefined,
      });
    } finally {
      this.publish();
    }
  }

  private async awaitDecision(step: StepStatus, kind: OpenGate['kind'], instructions: string): Promise<Decision> {
    this.decision = undefined;
    this.status.openGate = { step: step.id, kind, since: now(), instructions };
    this.status.state = 'waiting';
    this.status.currentStep = step.id;
    step.state = 'waiting';
    upsertSearchAttributes([{ key: RUNBOOK_WAITING_ON, value: step.id }]);
    this.publish();
    await condition(() => this.decision !== undefined);
    const decision = this.decision as unknown as Decision;
    this.closeGate();
    return decision;
  }

  private closeGate(): void {
    this.status.openGate = undefined;
    this.status.state = 'running';
    this.decision = undefined;
    upsertSearchAttributes([{ key: RUNBOOK_WAITING_ON, value: null }]);
  }

  private offer(input: DecideInput, via: Decision['via']): void {
    const reason = refusal(this.status.openGate, input, this.approvers);
    if (reason) {
      this.status.ignored.push({
        step: String(input?.step),
        by: String(input?.by),
        decision: input?.decision,
        comment: input?.comment,
        at: now(),
        reason,
      });
      this.publish();
      return;
    }
    this.decision = this.record({ step: input.step, by: input.by, decision: input.decision, comment: input.comment, via, at: now() });
  }

  private record(decision: Decision): Decision {
    this.approvals.push(decision);
    return decision;
  }

  private registerHandlers(): void {
    const viaSignal = (decision: DecideInput['decision']) => (input: ApprovalInput) =>
      this.offer({ ...input, decision }, 'signal');
    setHandler(approveSignal, viaSignal('approve'), {
      description: 'Approve the open gate: {"step": "<step id>", "by": "<approver>", "comment": "optional"}',
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
          'Decide the open gate and hear at once if the decision is refused: {"step", "by", "decision": "approve"|"reject"|"done"|"abort", "comment"?}',
        validator: (input) => {
          const reason = refusal(this.status.openGate, input, this.approvers);
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
          ? steps.filter((s) => s.plan).map((s) => ({ step: s.id, title: s.title, target: s.plan!.target, commands: s.plan!.commands }))
          : undefined,
    };
  }
}

function now(): string {
  return new Date().toISOString();
}

/** The innermost message: an ActivityFailure wraps the ApplicationFailure an operator needs to read. */
function rootMessage(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && (e as { cause?: unknown }).cause instanceof Error) e = (e as { cause?: unknown }).cause;
  return e instanceof Error ? e.message : String(e);
}
