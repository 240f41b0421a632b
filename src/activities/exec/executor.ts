// The Executor: runs a script on a Target over the pooled ssh2 connections and returns the
// command's own result. Completion is the channel's `close`; no pty, so stderr stays separate.
import { ApplicationFailure } from '@temporalio/common';
import type { ClientChannel } from 'ssh2';
import type { Inventory } from '../../inventory/schema.js';
import { parseQmGuestExec } from '../parse/qm.js';
import { redactError } from './redact.js';
import { SshPool, type SshPoolOptions } from './ssh-pool.js';
import { buildCommand, DEFAULT_TIMEOUT_MS, describeTarget, qmTimeoutSeconds } from './targets.js';
import type { CommandResult, Executor, RunOptions, StreamingCommand, Target } from './types.js';

export interface ExecutorOptions extends SshPoolOptions {
  /** How often onProgress fires while a command runs. Default 2000 ms. */
  progressIntervalMs?: number;
  /** Extra time the ssh side waits past qm's own --timeout, so qm's answer (the pid) arrives first. */
  qmGraceMs?: number;
}

export interface PooledExecutor extends Executor {
  readonly pool: SshPool;
}

function abortReason(signal: AbortSignal): unknown {
  // Temporal puts a CancelledFailure here; a bare AbortController puts an AbortError DOMException.
  return signal.reason ?? Object.assign(new Error('aborted'), { name: 'AbortError' });
}

export function createExecutor(inventory: Inventory, opts: ExecutorOptions = {}): PooledExecutor {
  const pool = new SshPool(inventory, opts);
  const progressMs = opts.progressIntervalMs ?? 2000;

  async function runRaw(target: Target, command: string, limitMs: number, options: RunOptions): Promise<CommandResult> {
    const { signal, onProgress } = options;
    const host = pool.hostConfig(target.host);
    const label = describeTarget(target);
    return pool.withSlot(target.host, signal, () =>
      new Promise<CommandResult>((resolve, reject) => {
        let channel: ClientChannel | undefined;
        let settled = false;
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        let exit: { code: number | null; signal?: string } | undefined;

        const stop = () => {
          if (!channel) return;
          try {
            // Kills the remote process group where sshd allows it; OpenSSH refuses it for root sessions
            // (no privsep child), where the command runs on until it ends or writes to the closed pipe.
            channel.signal('KILL');
          } catch {
            /* channel already gone */
          }
          channel.close();
        };
        const finish = (fn: () => void) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          clearInterval(ticker);
          signal?.removeEventListener('abort', onAbort);
          fn();
        };
        const onAbort = () => finish(() => {
          stop();
          reject(abortReason(signal!));
        });
        const timer = setTimeout(() => finish(() => {
          stop();
          reject(ApplicationFailure.retryable(
            `command on ${label} (${host.address}:${host.port}) timed out after ${limitMs} ms; channel closed`,
            'CommandTimeout',
          ));
        }), limitMs);
        const ticker = setInterval(() => {
          try {
            onProgress?.();
          } catch {
            /* a failing heartbeat must not break the command */
          }
        }, progressMs);
        if (signal?.aborted) return onAbort();
        signal?.addEventListener('abort', onAbort, { once: true });

        pool.openChannel(target.host, command).then((ch) => {
          channel = ch;
          if (settled) return stop(); // aborted or timed out while the channel was opening
          if (options.stdin !== undefined) ch.end(options.stdin);
          ch.on('data', (d: Buffer) => out.push(d));
          ch.stderr.on('data', (d: Buffer) => err.push(d));
          ch.on('exit', (code: number | null, sig?: string) => {
            exit = { code, signal: sig ?? undefined };
          });
          ch.on('close', (code?: number | null, sig?: string) => finish(() => {
            const status = exit ?? (code !== undefined || sig ? { code: code ?? null, signal: sig ?? undefined } : undefined);
            if (!status) {
              // The connection died under us: no exit status, so the outcome is unknown. Retryable.
              return reject(new Error(`connection to ${target.host} (${host.address}:${host.port}) lost while running a command on ${label}`));
            }
            const result: CommandResult = {
              exitCode: status.code,
              stdout: Buffer.concat(out).toString('utf8'),
              stderr: Buffer.concat(err).toString('utf8'),
            };
            if (status.signal) result.signal = status.signal;
            resolve(result);
          }));
        }, (e: unknown) => finish(() => reject(e)));
      }),
    );
  }

  async function run(target: Target, script: string, options: RunOptions = {}): Promise<CommandResult> {
    try {
      const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      const command = buildCommand(target, script, timeoutMs, options.stdin !== undefined);
      const limitMs = target.kind === 'vm' ? qmTimeoutSeconds(timeoutMs) * 1000 + (opts.qmGraceMs ?? 5000) : timeoutMs;
      const raw = await runRaw(target, command, limitMs, options);
      if (target.kind === 'vm') return parseQmGuestExec(raw, { host: target.host, vmid: target.vmid, secrets: options.secrets });
      if (target.kind === 'lxc' && raw.exitCode !== 0 && /^container '\d+' not running!/m.test(raw.stderr)) {
        throw ApplicationFailure.retryable(`pct exec on ${target.host} (ct ${target.ctid}): ${raw.stderr.trim()}`, 'PctExecFailed');
      }
      return raw;
    } catch (e) {
      if (options.signal?.aborted && e === options.signal.reason) throw e; // keep the cancellation as it is
      throw redactError(e, options.secrets);
    }
  }

  /** The channel is held (with its pool slot) until the command ends; the caller reads and writes it. */
  async function stream(target: Target, script: string, options: Pick<RunOptions, 'signal' | 'secrets'> = {}): Promise<StreamingCommand> {
    if (target.kind === 'vm') throw ApplicationFailure.nonRetryable(`cannot stream into ${describeTarget(target)}: the guest agent has no streams (use the VM's own sshd as a host)`, 'BadInput');
    const { signal } = options;
    const host = pool.hostConfig(target.host);
    const command = buildCommand(target, script);
    return new Promise<StreamingCommand>((opened, failed) => {
      pool.withSlot(target.host, signal, async () => {
        const ch = await pool.openChannel(target.host, command);
        const err: Buffer[] = [];
        let exit: { code: number | null; signal?: string } | undefined;
        const close = () => {
          try {
            ch.signal('KILL');
          } catch {
            /* gone */
          }
          ch.close();
        };
        const onAbort = () => close();
        signal?.addEventListener('abort', onAbort, { once: true });
        ch.stderr.on('data', (d: Buffer) => err.push(d));
        ch.on('exit', (code: number | null, sig?: string) => (exit = { code, signal: sig ?? undefined }));
        const done = new Promise<Omit<CommandResult, 'stdout'>>((resolve, reject) => {
          ch.on('close', () => {
            signal?.removeEventListener('abort', onAbort);
            const stderr = Buffer.concat(err).toString('utf8');
            if (!exit) return reject(redactError(new Error(`connection to ${target.host} (${host.address}:${host.port}) lost while streaming on ${describeTarget(target)}${stderr ? `: ${stderr.trim()}` : ''}`), options.secrets));
            resolve({ exitCode: exit.code, stderr, ...(exit.signal ? { signal: exit.signal } : {}) });
          });
        });
        opened({ stdout: ch, stdin: ch, done, close });
        await done.catch(() => undefined);
      }).catch(failed);
    });
  }

  return { pool, run, stream, close: () => pool.close() };
}
