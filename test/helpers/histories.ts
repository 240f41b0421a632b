// Recorded histories for the replay test. `npm run record-histories` reruns the end-to-end tests with
// RECORD_HISTORIES=1, which writes each run's full history to test/histories/<name>.json.
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import fs from 'node:fs';
import path from 'node:path';

export const HISTORIES_DIR = path.join(__dirname, '..', 'histories');

export async function recordHistory(name: string, handle: WorkflowHandle): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const history = await handle.fetchHistory();
  fs.mkdirSync(HISTORIES_DIR, { recursive: true });
  fs.writeFileSync(path.join(HISTORIES_DIR, `${name}.json`), historyToJSON(history) + '\n');
  // replay needs the workflow ID when the code derives IDs from it (a program's phases)
  fs.writeFileSync(path.join(HISTORIES_DIR, `${name}.id`), handle.workflowId + '\n');
}

/** The workflow ID a history was recorded under (undefined for the oldest recordings). */
export function recordedWorkflowId(file: string): string | undefined {
  const idFile = path.join(HISTORIES_DIR, file.replace(/\.json$/, '.id'));
  return fs.existsSync(idFile) ? fs.readFileSync(idFile, 'utf8').trim() : undefined;
}
