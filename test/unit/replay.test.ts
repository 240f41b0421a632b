// Replays every recorded history (test/histories/*.json) against today's workflow code: a change that
// breaks determinism for runs already in flight fails here. Record new ones: npm run record-histories
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import fs from 'node:fs';
import path from 'node:path';
import { HISTORIES_DIR, recordedWorkflowId } from '../helpers/histories';
import { workflowBundle } from '../helpers/temporal';

const files = fs.existsSync(HISTORIES_DIR) ? fs.readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.json')).sort() : [];

describe('replay of recorded histories', () => {
  it('has recorded histories of every runbook and of the program with its phases', () => {
    const rejoin = ['rejoin-complete', 'rejoin-rejected', 'rejoin-dry-run', 'rejoin-iommu-reboot-then-reject', 'rejoin-install-retried'];
    // recorded with the 'local-checks' patch: read-only checks and preflights as local activities
    const localChecks = ['rejoin-complete-local-checks', 'rejoin-dry-run-local-checks'];
    const phases = ['pbs-migration-complete', 'frigate-migration-complete', 'lxc-retirement-complete'];
    const program = ['program-complete', ...['rejoin', 'pbs-migration', 'frigate-migration', 'lxc-retirement'].map((p) => `program-phase-${p}`)];
    for (const name of [...rejoin, ...localChecks, ...phases, ...program]) {
      assert.ok(files.includes(`${name}.json`), `test/histories/${name}.json is missing`);
    }
  });
  for (const file of files) {
    it(`replays ${file}`, async () => {
      const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, file), 'utf8')));
      await Worker.runReplayHistory({ workflowBundle: await workflowBundle(), replayName: file }, history, recordedWorkflowId(file));
    });
  }
});
