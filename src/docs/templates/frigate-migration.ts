// The frigate-migration doc's commands, rendered by Phase 3's own renderers with placeholder values.
import * as db from '../../activities/frigate/database';
import * as frigate from '../../activities/frigate/commands';
import { frigateManifest } from '../../activities/frigate/manifest';
import { checkFrigateInput } from '../../workflows/frigate-migration-input';
import { FRIGATE_MIGRATION_STEPS } from '../../workflows/frigate-migration';
import { docInventory, P } from '../doc-inventory';
import type { RunbookDocSource } from '../types';

const f = docInventory.frigate!;
const nodeDb = `${f.hostPaths.config}${db.DEFAULT_DB_PATH.slice(db.CONFIG_DIR.length)}`;

export const frigateMigrationDoc: RunbookDocSource = {
  name: 'frigate-migration',
  source: 'src/workflows/frigate-migration.ts',
  steps: FRIGATE_MIGRATION_STEPS,
  defaults: checkFrigateInput({}),
  instructions: {},
  commands: {
    'label-node': {
      on: "the Frigate node's VM (`<frigate node>`)",
      commands: [frigate.labelNode(f)],
      onlyIfNeeded: 'nothing when the node has the label already.',
    },
    'copy-frigate-data': {
      on: 'the CT (`pct exec <ctid>`, read) and the node\'s VM (written through its own sshd, `frigate.copy.nodeHost`), the worker piping the bytes',
      commands: [frigate.catFile(f.lxc.configPath), frigate.tarOutWithSums(f, [P.recordings]), frigate.untarToStaging(f, [P.recordings]), frigate.acceptStaged(f, [P.recordings])],
      onlyIfNeeded:
        `the config (adapted for K3s) only when ${f.hostPaths.config}/config.yml on the node differs; the recordings of the last \`copy.recentHours\` the node lacks ` +
        `(streamed in batches of \`copy.batchMiB\`, each file put in place under ${f.hostPaths.media} only when its sha256 on the node equals its sha256 in the CT, so a crash re-sends at most the batch in flight; ` +
        `without \`copy.nodeHost\` they go as base64 through \`qm guest exec\`, 512 KiB per call: slow); Frigate's database as a consistent sqlite3 backup (recordings rows outside the copy window left out) ` +
        `only while the node's ${nodeDb} lacks rows. More than \`copy.maxCopyMiB\` stops the run.`,
      alsoRuns: [
        { what: "in the CT: a consistent sqlite3 backup of Frigate's database, rows outside the copy window left out", commands: [db.exportSnapshot(db.DEFAULT_DB_PATH, P.windowStart, P.windowEnd)] },
        { what: 'on the node: the database put in place, or its rows merged (rows without their file dropped)', commands: [db.importSnapshot(`${nodeDb}.incoming.b64`, nodeDb, f.hostPaths.media)] },
      ],
    },
    'deploy-frigate': {
      on: "the Frigate node's VM (`<frigate node>`)",
      commands: [frigate.applyManifestShown(P.manifestDigest)],
      onlyIfNeeded: 'nothing when the Deployment already carries every field of the manifest. The plan names the manifest by its digest.',
      alsoRuns: [{ what: 'the manifest piped into `kubectl apply -f -`, rendered from the inventory', commands: [JSON.stringify(frigateManifest(f), null, 2)], lang: 'json' }],
    },
    'cutover': {
      on: 'the CT (`pct exec <ctid>`)',
      commands: [frigate.serviceDisableNow(f)],
      onlyIfNeeded: "nothing when the service is stopped and disabled already; the preflight refuses while Frigate in K3s is not healthy.",
    },
  },
};
