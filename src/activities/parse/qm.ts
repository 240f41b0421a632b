// Parses what `qm guest exec` prints (Perl pretty JSON of the agent's GuestExecStatus) into the
// guest command's own result. qm exits 0 even when the guest command fails: `exitcode` decides.
// Source: qemu-server src/PVE/CLI/qm.pm `exec` (the pid-only answer past --timeout) and `$print_agent_result`,
// src/PVE/QemuServer/Agent.pm `qemu_exec_status` (decoded out-data, booleans as 0/1); QEMU qga GuestExecStatus.
import { constants } from 'node:os';
import { ApplicationFailure } from '@temporalio/common';
import { redact } from '../exec/redact.js';
import type { CommandResult } from '../exec/types.js';

export interface QmContext {
  host: string;
  vmid: number;
  /** Masked in every message (before clipping): qm's stderr may quote the command or its input. */
  secrets?: readonly string[];
}

/** What the ssh channel running qm returned. */
export interface QmRawResult {
  exitCode: number | null;
  signal?: string;
  stdout: string;
  stderr: string;
}

const SIGNAL_NAMES = new Map<number, string>(
  Object.entries(constants.signals).map(([name, num]) => [num, name]),
);

/** Secrets masked first, then clipped: a secret cut by the clip is never half shown. */
function clipper(secrets: readonly string[]) {
  return (text: string, max = 300): string => {
    const t = redact(text, secrets).trim();
    return t.length > max ? `${t.slice(0, max)}…` : t;
  };
}

/** The guest command's result, or a thrown error that names the host and vmid. */
export function parseQmGuestExec(raw: QmRawResult, ctx: QmContext): CommandResult {
  const where = `qm guest exec on ${ctx.host} (vmid ${ctx.vmid})`;
  const clip = clipper(ctx.secrets ?? []);
  if (raw.exitCode !== 0) {
    // qm itself failed: VM not running, no agent, agent error. Often transient (VM booting), so retryable.
    const why = clip(raw.stderr) || clip(raw.stdout) || 'no output';
    const how = raw.exitCode === null ? `killed by ${raw.signal ?? 'a signal'}` : `exit ${raw.exitCode}`;
    throw ApplicationFailure.retryable(`${where} failed (${how}): ${why}`, 'QmExecFailed');
  }
  let status: unknown;
  try {
    status = JSON.parse(raw.stdout);
  } catch {
    throw ApplicationFailure.nonRetryable(
      `${where} printed output that is not JSON: ${JSON.stringify(clip(raw.stdout, 200))}`,
      'UnexpectedOutput',
    );
  }
  if (typeof status !== 'object' || status === null || Array.isArray(status)) {
    throw ApplicationFailure.nonRetryable(`${where} printed JSON that is not an object`, 'UnexpectedOutput');
  }
  const s = status as Record<string, unknown>;
  // `--timeout` passed: qm prints only the pid; the guest command is still running.
  if (!('exited' in s) && typeof s.pid === 'number') {
    throw ApplicationFailure.retryable(
      `${where} timed out: the guest command still runs as pid ${s.pid} (${clip(raw.stderr) || 'timeout reached'})`,
      'CommandTimeout',
    );
  }
  if (!s.exited) {
    throw ApplicationFailure.nonRetryable(`${where}: the agent reports the command has not exited`, 'UnexpectedOutput');
  }
  const result: CommandResult = {
    exitCode: typeof s.exitcode === 'number' ? s.exitcode : null,
    stdout: typeof s['out-data'] === 'string' ? s['out-data'] : '',
    stderr: typeof s['err-data'] === 'string' ? s['err-data'] : '',
  };
  if (typeof s.signal === 'number') {
    result.exitCode = null;
    result.signal = SIGNAL_NAMES.get(s.signal) ?? String(s.signal);
  }
  if (s['out-truncated'] === 1 || s['err-truncated'] === 1 || s['out-truncated'] === true || s['err-truncated'] === true) {
    result.truncated = true;
  }
  if (result.exitCode === null && result.signal === undefined) {
    throw ApplicationFailure.nonRetryable(`${where}: neither exitcode nor signal in the agent's answer`, 'UnexpectedOutput');
  }
  return result;
}
