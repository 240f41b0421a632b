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
import { describeKey, isGoAhead, type Authorization, type DecisionKind } from './decision';
import { renderDetails } from './details';
import { durationMs } from './duration';
import { GateKeeper, RunEnded, type GateHost } from './gate';
import { abortSignal, approveSignal, decideUpdate, doneSignal, phaseReportSignal, rejectSignal, retrySignal, statusQuery, type ApprovalInput } from './messages';
import { RUNBOOK_NAME, RUNBOOK_TARGET } from './search-attributes';
import type {
  ApprovalPolicy,
  Evidence,
  PendingTimer,
  PhaseReport,
  Planned,
  RunbookResult,
  RunbookStatus,
  Decision,
  StepFailure,
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
  /** What the step verifies, in words, for the generated docs/runbooks/*.md (`npm run docs`); never copied into the status. */
  verifies?: string;
}

export interface RunbookOptions {
  name: string;
  target: string;
  dryRun?: boolean;
  /** Who asked for the run; never the only approver of an irreversible step. */
  requestedBy?: string;
  /** Gate deadline from the run's input ("2h"), overriding the inventory's. */
  gateDeadline?: string;
  /** Reversible change steps whose gate is passed without waiting (recorded as pre-approved by the starter). */
  preApproved?: string[];
  /** The starter's signature of startText(): verified by the worker, it names the starter and signs the pre-approvals. */
  startSignature?: string;
  steps: StepDef[];
}

const kit = proxyActivities<RunbookKitActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 3 },
});

export class Runbook implements GateHost {
  readonly status: RunbookStatus;
  private approvalPolicy: ApprovalPolicy | undefined;
  private readonly gate = new GateKeeper(this);
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
      this.approvalPolicy = { ...policy, deadlineMs };
      this.status.identity = this.gate.identity;
      this.status.run = this.gate.run();
      if (this.gate.identity === 'signatures') await this.verifyStart();
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
        if (this.status.openGate) this.gate.close();
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
    return this.untilDone(id, 'runs the check again', () => this.execute(id, fn));
  }

  /** A step that waits for the world (a node becoming Ready); read-only as well. */
  wait<T extends Evidence>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.untilDone(id, 'waits again', () => this.execute(id, fn));
  }

  /**
   * Runs a step; when it fails after its activity retries (or its preflight refuses), the run does
   * not fail: a `failed` gate shows the error and asks. `retry` runs the step again from its start
   * (a change: its preflight, then a fresh approval); `abort` ends the run, saying what was changed.
   * A failure no retry can fix (bad input, a changed host key), and any failure of a dry run or of a
   * run recorded before this gate existed, still ends the run at once.
   */
  private async untilDone<T>(id: string, again: string, attempt: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await attempt();
      } catch (err) {
        if (!this.mayAskAfter(err)) throw err;
        await this.askAfterFailure(this.step(id), rootMessage(err), again);
      }
    }
  }

  private mayAskAfter(err: unknown): boolean {
    if (err instanceof RunEnded || isCancellation(err) || this.status.dryRun) return false;
    if (!(err instanceof ApplicationFailure) || (err.type !== 'StepFailed' && err.type !== 'PlanChanged')) return false;
    if (PERMANENT_FAILURES.has(rootType(err) ?? '')) return false;
    return patched('failed-step-gate');
  }

  /** The failed gate: waits for retry (returns) or abort (ends the run), signed like every decision. */
  private async askAfterFailure(step: StepStatus, error: string, again: string): Promise<void> {
    const attempt = this.attemptOf(step);
    const failure: StepFailure = { at: now(), error, attempt };
    (step.failures ??= []).push(failure);
    const evidence = step.evidence.slice(-5);
    const decisions = await this.gate.await(step, {
      kind: 'failed',
      needs: 1,
      attempt,
      instructions:
        `"${step.title}" failed${attempt > 1 ? ` (attempt ${attempt})` : ''}: ${error}.` +
        (evidence.length ? ` Evidence so far: ${evidence.join('; ')}.` : '') +
        ` Fix what the error names, then send \`retry\`: the step ${again}. Or send \`abort\` to end the run here: ${this.changedSoFar(step)}.`,
    });
    const d = decisions[decisions.length - 1]!;
    failure.decision = d;
    step.decision = d;
    if (!isGoAhead(d.decision)) {
      step.endedAt = now();
      throw new RunEnded('aborted', `${d.by} aborted at "${step.id}" after it failed (${error}); ${this.changedSoFar(step)}`);
    }
    step.evidence.push(`${d.by} said retry after attempt ${attempt} failed${d.comment ? `: ${d.comment}` : ''}`);
    step.state = 'running';
    step.endedAt = undefined;
    this.publish();
  }

  /** The step's attempt now: 1, then one more after each retry. */
  private attemptOf(step: StepStatus): number {
    return 1 + (step.failures ?? []).filter((f) => f.decision?.decision === 'retry').length;
  }

  /** What an abort leaves behind, in words: the changes done, the failed one, the ones not run. */
  private changedSoFar(failed: StepStatus): string {
    const changes = this.status.steps.filter((s) => s.kind === 'change' || s.kind === 'phase');
    const done = changes.filter((s) => s.state === 'done').map((s) => s.id);
    const notRun = changes.filter((s) => s !== failed && !['done', 'skipped'].includes(s.state)).map((s) => s.id);
    const part =
      failed.kind !== 'change' && failed.kind !== 'phase'
        ? `"${failed.id}" is a ${failed.kind} step and changed nothing`
        : failed.error?.startsWith('preflight:')
          ? `"${failed.id}" was refused by its preflight and ran nothing`
          : `"${failed.id}" failed part-way (its evidence says how far it got)`;
    return `changed: ${done.join(', ') || 'nothing'}; ${part}; not run: ${notRun.join(', ') || 'nothing'}`;
  }

  /**
   * A change behind a plan-bound gate: `preflight(args)` reads the state and renders the plan; the
   * gate shows it with its digest; right before the change the preflight runs again and, if the plan
   * changed, nothing runs and the gate re-opens with the new plan. The change activity gets the same
   * args and the authorization, and checks both itself. In a dry run: the plan only.
   */
  change<A, F, T extends Evidence>(
    id: string,
    args: A,
    preflight: (args: A) => Promise<Planned<F>>,
    run: (input: { args: A; authorization: Authorization }) => Promise<T>,
  ): Promise<T | undefined> {
    return this.untilDone(id, 'runs its preflight again and shows the fresh plan for a fresh approval', () => this.changeOnce(id, args, preflight, run));
  }

  private async changeOnce<A, F, T extends Evidence>(
    id: string,
    args: A,
    preflight: (args: A) => Promise<Planned<F>>,
    run: (input: { args: A; authorization: Authorization }) => Promise<T>,
  ): Promise<T | undefined> {
    const step = this.step(id);
    // a retried change is approved afresh: a pre-approval given at the start covers the first attempt only
    const attempt = this.attemptOf(step);
    let reopenedBecause = attempt > 1 ? `attempt ${attempt}: the step is retried after it failed (${step.failures!.at(-1)!.error})` : undefined;
    let planned = await this.preflight(step, () => preflight(args));
    if (this.status.dryRun) {
      step.state = 'planned';
      this.publish();
      return undefined;
    }
    for (;;) {
      const gateless = step.noGate !== undefined;
      const how = gateless ? 'no-gate' : this.preApproved.has(id) && attempt === 1 ? 'pre-approved' : 'gate';
      if (how !== 'gate') {
        const by = gateless ? `no gate: ${step.noGate}` : `pre-approved at start${this.status.startedBy ? ` by ${this.status.startedBy}` : ''}`;
        step.decision = this.gate.record({ step: id, by, decision: 'approve', via: 'update', at: now(), digest: planned.plan.digest });
      } else {
        await this.approvalGate(step, planned.plan.digest, reopenedBecause, attempt);
      }
      const fresh = await this.preflight(step, () => preflight(args));
      if (fresh.plan.digest === planned.plan.digest) {
        const authorization = this.gate.authorization(step, fresh.plan, how, this.startAuthorization());
        // Once approved and re-checked, a change runs to its end even if the run is cancelled meanwhile:
        // cancelling stops the runbook between steps, never inside one.
        return CancellationScope.nonCancellable(() => this.execute(id, () => run({ args, authorization })));
      }
      reopenedBecause = `the plan changed after approval (digest ${planned.plan.digest} → ${fresh.plan.digest}): ${diff(planned.plan.facts, fresh.plan.facts)}`;
      step.evidence.push(`${reopenedBecause}; nothing ran`);
      planned = fresh;
      if (how !== 'gate') {
        throw ApplicationFailure.nonRetryable(`pre-approved step "${id}" changed its plan: ${reopenedBecause}`, 'PlanChanged');
      }
    }
  }

  /** Signatures mode: a signed start names the starter and signs the pre-approvals; pre-approvals need one. */
  private async verifyStart(): Promise<void> {
    const signature = this.options.startSignature;
    if (signature === undefined) {
      if (this.preApproved.size) {
        throw ApplicationFailure.nonRetryable(
          `"preApproved" (${[...this.preApproved].join(', ')}) must be signed: start the run with "startSignature" (runbook start --key signs it)`,
          'NotAuthorized',
        );
      }
      return;
    }
    const { namespace, workflowId } = this.gate.run();
    const fields = { namespace, workflowId, runbook: this.options.name, preApproved: [...this.preApproved] };
    const verified = await kit.verifyStart({ fields, signature });
    if (!verified.ok) throw ApplicationFailure.nonRetryable(`the start signature does not verify: ${verified.reason}; nothing ran`, 'NotAuthorized');
    this.gate.starter = verified.key;
    this.status.startedBy = describeKey(verified.key);
  }

  private startAuthorization(): Authorization['start'] {
    const preApproved = [...this.preApproved];
    return { runbook: this.options.name, preApproved, signature: this.options.startSignature ?? '' };
  }

  /**
   * A step only a person can do (a BIOS setting, moving a disk). `until` watches for it being done
   * (e.g. the host rebooting); the operator may also say `done`, or `abort` to end the run.
   */
  manual(id: string, instructions: string, until: () => Promise<Evidence>): Promise<void> {
    return this.untilDone(id, 'watches again and its manual gate re-opens', () => this.manualOnce(id, instructions, until));
  }

  private async manualOnce(id: string, instructions: string, until: () => Promise<Evidence>): Promise<void> {
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
    const decided = gate.run(() => this.gate.await(step, { kind: 'manual', instructions, needs: 1 })).then((d) => ({ d }));
    decided.catch(() => undefined);
    let first: { e: Evidence } | { d: Decision[] };
    try {
      first = await Promise.race([watched.then((e) => ({ e })), decided]);
    } catch (err) {
      // the watcher failed after its retries; runs recorded before the failed-step gate failed here as they were
      if (isCancellation(err) || !patched('failed-step-gate')) throw err;
      gate.cancel();
      this.gate.close();
      step.state = 'failed';
      step.endedAt = now();
      step.error = `watching for it: ${rootMessage(err)}`;
      this.publish();
      throw stepFailed(`step "${id}" failed: ${step.error}`, err);
    }
    if ('e' in first) {
      gate.cancel();
      this.gate.close();
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
    const decisions = await this.gate.await(step, {
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
  phase(id: string, workflowId: string, start: () => Promise<RunbookResult>): Promise<RunbookResult> {
    return this.untilDone(id, 'starts the phase again under the same workflow ID', () => this.phaseOnce(id, workflowId, start));
  }

  private async phaseOnce(id: string, workflowId: string, start: () => Promise<RunbookResult>): Promise<RunbookResult> {
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
      throw stepFailed(`step "${step.id}" ${step.error}`, err);
    } finally {
      this.publish();
    }
  }

  /** Waits until the gate has enough approvals for this plan, or ends the run on a rejection. */
  private async approvalGate(step: StepStatus, digest: string, reopenedBecause: string | undefined, attempt = 1): Promise<void> {
    const policy = this.policy();
    const required = step.irreversible && policy.twoPersonIrreversible ? 2 : 1;
    const who = this.gate.identity === 'signatures' ? 'keys' : 'approvers';
    const starter = this.gate.identity === 'signatures' ? this.status.startedBy : this.status.requestedBy;
    const decisions = await this.gate.await(step, {
      kind: 'approval',
      digest,
      reopenedBecause,
      attempt,
      needs: this.gate.needs(step, 'approval', []),
      instructions:
        `Approve "${step.title}" on ${step.plan!.target}: it runs the commands of plan ${digest}.` +
        (required === 2 ? ` A point of no return: two distinct ${who} are needed.` : '') +
        (step.irreversible && starter ? ` ${starter} started this run and cannot be its only approver.` : ''),
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

  policy(): ApprovalPolicy {
    return this.approvalPolicy!;
  }

  private registerHandlers(): void {
    // a refused signal is recorded under `ignored` by the gate; it never fails the run
    const viaSignal = (decision: DecisionKind) => (input: ApprovalInput) => this.gate.offer(input, decision, 'signal').then(() => undefined, () => undefined);
    const shape = '{"step", "digest", "workflowId", "runId", "namespace", "signature"} as the gate details show (or {"step", "by"} with approvals.identity: names)';
    setHandler(approveSignal, viaSignal('approve'), { description: `Approve the open gate: ${shape}` });
    setHandler(rejectSignal, viaSignal('reject'), {
      description: 'Reject the open gate: the run ends with nothing changed by that step. Input as for approve, signed for "reject".',
    });
    setHandler(doneSignal, viaSignal('done'), { description: `Say that the open manual step is done: ${shape}, signed for "done"` });
    setHandler(abortSignal, viaSignal('abort'), {
      description: 'Abort at the open manual step or failed step: the run ends, saying what was changed. Input as for done, signed for "abort".',
    });
    setHandler(retrySignal, viaSignal('retry'), {
      description: 'Retry the failed step (its checks and preflight run again; a change needs a fresh approval). Input as for done, signed for "retry" with the gate\'s "attempt".',
    });
    setHandler(decideUpdate, (input) => this.gate.offer(input, input?.decision, 'update'), {
      description: `Decide the open gate and hear at once if the decision is refused: ${shape} plus "decision": "approve"|"reject"|"done"|"abort"|"retry"`,
      validator: (input) => this.gate.validate(input, input?.decision),
    });
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

  step(id: string): StepStatus {
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
      throw stepFailed(`step "${id}" failed: ${step.error}`, err);
    } finally {
      this.publish();
    }
  }

  publish(): void {
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
      openGate: gate && { step: gate.step, kind: gate.kind, instructions: gate.instructions, digest: gate.digest, needs: gate.needs, deadline: gate.deadline, attempt: gate.attempt },
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
      approvals: this.gate.approvals,
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

/** Failures no retry can fix: the input is wrong, the host is not the one we pinned, our own bug. */
const PERMANENT_FAILURES = new Set(['BadInput', 'HostKeyMismatch', 'RunbookBug']);

/** The type of the innermost ApplicationFailure (what the activity threw). */
function rootType(err: unknown): string | undefined {
  let type: string | undefined;
  for (let e: unknown = err; e instanceof Error; e = (e as { cause?: unknown }).cause) {
    if (e instanceof ApplicationFailure && e.type) type = e.type;
  }
  return type;
}

function durationOrFail(text: string, what: string): number {
  const ms = durationMs(text);
  if (ms === undefined) throw ApplicationFailure.nonRetryable(`${what} "${text}" must be a duration like 90s, 15m, 2h or 7d`, 'BadInput');
  return ms;
}

function now(): string {
  return new Date().toISOString();
}

/** How a step fails: non-retryable for Temporal (its activity retries are spent); untilDone asks about it. */
function stepFailed(message: string, err: unknown): ApplicationFailure {
  return ApplicationFailure.create({ message, type: 'StepFailed', nonRetryable: true, cause: asError(err) });
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
