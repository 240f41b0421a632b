// Where the worker and the CLI connect: @temporalio/envconfig (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
// TLS, API key, TOML profiles). With nothing set, the local dev server on localhost:7233.
import { loadClientConnectConfig } from '@temporalio/envconfig';

export const TASK_QUEUE = process.env.RUNBOOK_TASK_QUEUE ?? 'homelab-runbooks';

export function connectConfig() {
  const { connectionOptions, namespace } = loadClientConnectConfig();
  return { connectionOptions, namespace: namespace ?? 'default' };
}
