// Finds the Temporal CLI through scripts/temporal-cli.sh; undefined means "let the SDK download it".
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from './repo-root';

export function resolveTemporalCli(): string | undefined {
  const script = path.join(REPO_ROOT, 'scripts', 'temporal-cli.sh');
  try {
    return execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim() || undefined;
  } catch (err) {
    if ((err as { status?: number }).status === 3) return undefined;
    throw err;
  }
}

/** The `server.executable` option of TestWorkflowEnvironment.createLocal. */
export function temporalExecutable(): { type: 'existing-path'; path: string } | { type: 'cached-download' } {
  const found = resolveTemporalCli();
  return found ? { type: 'existing-path', path: found } : { type: 'cached-download' };
}
