// The runbook kit: a run's state, the handlers beside it, and one method per kind of step.
// A runbook workflow creates one Runbook, then calls check/change/manual/wait in the order an
// operator would write the steps. Every change waits at a plan-bound approval gate first.
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { RunbookKitActivities } from '../../activities/runbook-kit';
import { renderDetails } from './details';
import { approvalsNeeded, durationMs, isGoAhead, refusal } from './gate';
import {
  abortSignal,
  approveSignal,
  decideUpdate,
  doneSignal,
  phaseReportSignal,
  rejectSignal,
  statusQuery,
  type ApprovalInput,
  type DecideInput,
} from './messages';
import { RUNBOOK_NAME, RUNBOOK_TARGET, RUNBOOK_WAITING_ON } from './search-attributes';
import type {
  ApprovalPolicy,
  Decision,
  Evidence,
  GateNotice,
  OpenGate,
  PendingTimer,
  PhaseReport,
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
  /** A change that needs no approval, and why (e.g. "importing a pool without -f destroys nothing").
   * Its plan is still shown, re-checked before it runs, and recorded. */
  noGate?: string;
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
  /** Program step id by the workflow ID of the phase it runs. */
  private readonly phaseSteps = new Map<string, string>();
  private lastReport = '';
  /** The run's body has returned or thrown: its result (or failure) tells the program the rest. */
  private ended = false;
  private reportSeq = 0;

  constructor(private readonly options: RunbookOptions) {
    this.preApproved = new Set(options.preApproved ?? []);
    this.status = {
      runbook: options.name,
      target: options.target,
      requestedBy: options.requestedBy,
      dryRun: options.dryRun ?? false,
      state: 'running',
      steps: options.steps.map(({ id, title, kind, irreversible, noGate }) => ({ id, title, kind, irreversible, noGate, state: 'pending', evidence: [] })),
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
      if (isCancellation(err)) {
        // A change in flight was allowed to finish (see change()); say where the run stopped.
        this.status.state = 'cancelled';
        this.status.timer = undefined;
        const at = this.status.currentStep;
        if (this.status.openGate) this.closeGate();
        const phase = at ? this.status.phases?.[at] : undefined;
        if (at && phase) {
          // the phase was cancelled with us: wait briefly for its last report to say where it stopped
          const settled = () => !['running', 'waiting'].includes(this.status.phases![at]!.state);
          await CancellationScope.nonCancellable(() => condition(settled, '30s'));
          this.step(at).evidence.push(`cancelled with the program: ${describePhase(this.status.phases![at]!)}`);
        } else if (at) {
          this.step(at).evidence.push('the run was cancelled here; no change was left half-done');
        }
        this.status.state = 'cancelled';
        // a signal still pending when the run closes is dropped: deliver the last report first
        await this.reportToProgram();
        throw err;
      }
      this.status.state = 'failed';
      throw err;
    } finally {
      // a run that stopped early keeps the step it stopped at, for the operator (and its program)
      if (this.status.state === 'completed') this.status.currentStep = undefined;
      this.ended = true;
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
      const gateless = step.noGate !== undefined;
      if (this.preApproved.has(id) || gateless) {
        const by = gateless ? `no gate: ${step.noGate}` : 'pre-approved at start';
        step.decision = this.record({ step: id, by, decision: 'approve', via: 'update', at: now(), digest: planned.plan.digest });
      } else {
        await this.approvalGate(step, planned.plan.digest, reopenedBecause);
      }
      const fresh = await this.preflight(step, preflight);
      // Once approved and re-checked, a change runs to its end even if the run is cancelled meanwhile:
      // cancelling stops the runbook between steps, never inside one.
      if (fresh.plan.digest === planned.plan.digest) return CancellationScope.nonCancellable(() => this.execute(id, () => run(fresh.facts)));
      reopenedBecause = `the plan changed after approval (digest ${planned.plan.digest} → ${fresh.plan.digest}): ${diff(planned.plan.facts, fresh.plan.facts)}`;
      step.evidence.push(`${reopenedBecause}; nothing ran`);
      planned = fresh;
      if (this.preApproved.has(id) || gateless) {
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

  /**
   * Watch the world for `duration` (a soak): `check` runs at once, then every `every` on a durable
   * timer, and a last time when the duration is over (7d every 1d: 8 checks). A failed check (or
   * one that cannot run) pauses the run at a gate: approve goes on with the soak, reject ends the run.
   * In a dry run the check runs once and the soak is only planned.
   */
  async soak(id: string, opts: { duration: string; every: string; check: () => Promise<Evidence & { healthy: boolean }> }): Promise<void> {
    const step = this.step(id);
    const duration = durationOrFail(opts.duration, `soak "${id}" duration`);
    const every = durationOrFail(opts.every, `soak "${id}" interval`);
    step.state = 'running';
    step.startedAt ??= now();
    this.status.currentStep = id;
    this.publish();
    const endsAt = Date.now() + duration;
    for (let n = 1; ; n++) {
      let result: Evidence & { healthy: boolean };
      try {
        result = await opts.check();
      } catch (err) {
        if (isCancellation(err)) throw err;
        result = { healthy: false, evidence: [`the check could not run: ${rootMessage(err)}`] };
      }
      const label = `check ${n} (${now()})`;
      step.evidence.push(`${label}: ${result.healthy ? 'healthy' : 'NOT healthy'}: ${result.evidence.join('; ')}`);
      this.publish();
      if (this.status.dryRun) {
        step.state = 'planned';
        step.evidence.push(`would soak for ${opts.duration}, checking every ${opts.every}`);
        this.publish();
        return;
      }
      if (!result.healthy) await this.askToGoOn(step, result.evidence);
      const left = endsAt - Date.now();
      if (left <= 0) break;
      step.state = 'running';
      await this.sleepOn(step, Math.min(every, left), left <= every ? 'the last check of the soak' : `check ${n + 1} of the soak`);
    }
    step.state = 'done';
    step.endedAt = now();
    step.evidence.push(`soaked ${opts.duration} with every check answered`);
    this.publish();
  }

  /** A durable timer step (a grace period): the run sleeps, and its status says until when. */
  async timer(id: string, duration: string, purpose: string): Promise<void> {
    const step = this.step(id);
    const ms = durationOrFail(duration, `timer "${id}"`);
    if (this.status.dryRun) {
      step.state = 'planned';
      step.evidence.push(`would wait ${duration}: ${purpose}`);
      this.publish();
      return;
    }
    step.state = 'running';
    step.startedAt ??= now();
    this.status.currentStep = id;
    await this.sleepOn(step, ms, purpose);
    step.state = 'done';
    step.endedAt = now();
    step.evidence.push(`waited ${duration}: ${purpose}`);
    this.publish();
  }

  private async sleepOn(step: StepStatus, ms: number, purpose: string): Promise<void> {
    const timer: PendingTimer = { step: step.id, firesAt: new Date(Date.now() + ms).toISOString(), purpose };
    this.status.timer = timer;
    this.publish();
    try {
      await sleep(ms);
    } finally {
      if (this.status.timer === timer) this.status.timer = undefined;
    }
  }

  /** A failed soak check: the operator says whether to go on (approve) or stop here (reject). */
  private async askToGoOn(step: StepStatus, evidence: string[]): Promise<void> {
    const decisions = await this.awaitGate(step, {
      kind: 'approval',
      needs: 1,
      instructions:
        `A check of "${step.title}" failed: ${evidence.join('; ')}. ` +
        'Approve to go on with the soak (the checks continue), or reject to stop the run here with nothing changed.',
    });
    const no = decisions.find((d) => !isGoAhead(d.decision));
    step.decision = decisions[decisions.length - 1];
    if (no) {
      step.state = 'rejected';
      step.endedAt = now();
      throw new RunEnded('rejected', `${no.by} stopped the run at "${step.id}" after a failed check; nothing was changed by it or after it`);
    }
    step.evidence.push(`${step.decision!.by} said go on after the failed check${step.decision!.comment ? `: ${step.decision!.comment}` : ''}`);
  }

  /**
   * A phase of a program: a child runbook started by `start` under `workflowId`. Its progress shows
   * in this run's status (the child reports each change); a phase that was rejected, aborted or
   * expired ends the program the same way, with nothing after it started.
   */
  async phase(id: string, workflowId: string, start: () => Promise<RunbookResult>): Promise<RunbookResult> {
    this.phaseSteps.set(workflowId, id);
    this.status.phases ??= {};
    this.status.phases[id] ??= { workflowId, runbook: '', target: '', state: 'running', done: [] };
    const result = await this.execute(id, async () => {
      const r = await start();
      return { result: r, evidence: [`${workflowId}: ${r.outcome}: ${r.summary}`] };
    });
    const r = result.result;
    // the phase's own end is the truth (its last report may still be on its way): record it, stop listening
    this.phaseSteps.delete(workflowId);
    this.status.phases[id] = {
      workflowId,
      runbook: r.runbook,
      target: r.target,
      state: r.outcome === 'completed' || r.outcome === 'dry-run' ? 'completed' : r.outcome,
      done: r.steps.filter((st) => st.state === 'done').map((st) => st.id),
    };
    this.publish();
    if (r.outcome === 'rejected' || r.outcome === 'aborted' || r.outcome === 'expired') {
      this.step(id).state = 'rejected';
      throw new RunEnded(r.outcome, `phase "${id}" ended ${r.outcome}: ${r.summary}`);
    }
    return r;
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
    setHandler(
      phaseReportSignal,
      (report) => {
        const id = this.phaseSteps.get(report.workflowId);
        if (!id || !this.status.phases) return;
        // signals from one workflow are not delivered in order: never let an older report win
        if ((report.seq ?? 0) < (this.status.phases[id]?.seq ?? 0)) return;
        this.status.phases[id] = report;
        this.publish();
      },
      { description: 'Sent by a phase (child runbook) to its program: where the phase is now.' },
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
      if (isCancellation(err)) throw err; // the run's end says where it stopped
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
    void this.reportToProgram();
  }

  /** A phase started by a program tells it where it is, once per change (one signal, not one per publish). */
  private async reportToProgram(): Promise<void> {
    const parent = workflowInfo().parent;
    if (!parent) return;
    // A signal sent in the task that closes the run is delivered late or not at all (and stalls a
    // time-skipping server); the program reads the phase's end from its result. Runs recorded before
    // this change did send it: the patch keeps their replay.
    if (this.ended && patched('no-report-when-closing')) return;
    const s = this.status;
    const gate = s.openGate;
    const report: PhaseReport = {
      workflowId: workflowInfo().workflowId,
      runbook: s.runbook,
      target: s.target,
      state: s.state,
      currentStep: s.currentStep,
      openGate: gate && { step: gate.step, kind: gate.kind, instructions: gate.instructions, digest: gate.digest, needs: gate.needs, deadline: gate.deadline },
      timer: s.timer,
      done: s.steps.filter((st) => st.state === 'done').map((st) => st.id),
    };
    const key = JSON.stringify(report);
    if (key === this.lastReport) return;
    this.lastReport = key;
    report.seq = ++this.reportSeq;
    const program = getExternalWorkflowHandle(parent.workflowId, parent.runId);
    // non-cancellable: the last report of a cancelled phase must still reach the program
    await CancellationScope.nonCancellable(() => program.signal(phaseReportSignal, report)).catch(() => undefined);
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

/** "pbs-migration (wf-id) cancelled at move-disk (manual gate); done: a, b" */
export function describePhase(p: PhaseReport): string {
  const at = p.openGate ? `${p.openGate.step} (${p.openGate.kind} gate, nothing run by it)` : p.currentStep ?? 'its start';
  return `${p.runbook || 'phase'} ${p.workflowId} ${p.state} at ${at}; done: ${p.done.join(', ') || 'nothing'}`;
}

function durationOrFail(text: string, what: string): number {
  const ms = durationMs(text);
  if (ms === undefined) throw ApplicationFailure.nonRetryable(`${what} "${text}" must be a duration like 90s, 15m, 2h or 7d`, 'BadInput');
  return ms;
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
