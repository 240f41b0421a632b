// ./bin/runbook as an operator runs it: a real process against a stack's dev server (through
// envconfig's TEMPORAL_ADDRESS), with no ssh-agent unless `env` names one.
import { execFile } from 'node:child_process';
import path from 'node:path';
import type { Stack } from './stack';

const BIN = path.join(__dirname, '..', '..', 'bin', 'runbook');

export function runCli(s: Stack, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const base: Record<string, string | undefined> = { ...process.env, SSH_AUTH_SOCK: undefined };
  return new Promise((resolve) => {
    execFile(
      BIN,
      args,
      { env: { ...base, TEMPORAL_ADDRESS: s.env.address, RUNBOOK_TASK_QUEUE: s.taskQueue, TEMPORAL_CONFIG_FILE: '/nonexistent', ...env } },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}
