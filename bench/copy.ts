// §6 of `npm run bench`: Phase 3's copy of recordings CT → node. The floor is a raw `tar -cf - | tar -xf -`
// through two ssh2 channels (the CT's host, the node VM's own sshd) with the worker piping bytes; the
// engine is copy-frigate-data's activity (streamed batches, sha256 at both ends, the database, the
// read-back). The old path (base64 through `qm guest exec`, 1 MiB per call) is timed on a few MiB and
// scaled: the lab's qm polls the agent once a second, as the real one does.
import { Lab } from '../lab/src';
import { frigateActivities } from '../src/activities/frigate/activities';
import { createExecutor } from '../src/activities/exec/executor';
import { pipeInto } from '../src/activities/exec/pipe';
import { loadInventory } from '../src/inventory/load';
import { round, summary, type Summary } from './stats';

export interface CopyBench {
  mib: number;
  files: number;
  raw: Summary;
  engine: Summary;
  ratio: number;
  goal: number;
  /** The old path: MiB timed, its time, and that time scaled to `mib`. */
  oldPath: { mib: number; ms: number; scaledMs: number };
  agentPollMs: number;
}

const FILE_MIB = 4;

export async function benchCopy(lab: Lab, opts: { mib: number; runs: number; oldMib: number }, log: (l: string) => void): Promise<CopyBench> {
  const files = Math.max(1, Math.round(opts.mib / FILE_MIB));
  const t = Date.now();
  const recs = Array.from({ length: files }, (_, i) => lab.frigate.recordInCt('driveway', { at: new Date(t - (i + 1) * 20_000), bytes: FILE_MIB * 1024 * 1024 - 12 }));
  const inv = loadInventory(lab.inventoryPath);
  const exec = createExecutor(inv);
  const f = inv.frigate!;
  const ct = { kind: 'lxc' as const, host: f.lxc.host, ctid: f.lxc.ctid };
  const node = { kind: 'host' as const, host: f.copy.nodeHost! };
  const acts = frigateActivities({ inventory: inv, exec });
  const clearNode = async () => {
    const r = await exec.run(node, `rm -rf ${f.hostPaths.media} ${f.hostPaths.config} /var/tmp/raw-copy`);
    if (r.exitCode !== 0) throw new Error(`clearing the node: ${r.stderr}`);
  };
  const paths = recs.map((r) => r.path.slice('/media/frigate/'.length));
  const raw = async () => {
    const src = await exec.stream!(ct, `cd /media/frigate && tar -cf - -- ${paths.join(' ')}`);
    src.stdin.end();
    const dst = await exec.stream!(node, 'mkdir -p /var/tmp/raw-copy && cd /var/tmp/raw-copy && tar -xf -');
    dst.stdout.resume(); // a channel closes only once its output has been read
    pipeInto(src, dst);
    const [s, d] = await Promise.all([src.done, dst.done]);
    if (s.exitCode !== 0 || d.exitCode !== 0) throw new Error(`raw tar: ${s.stderr} ${d.stderr}`);
  };
  const engine = async () => {
    const { facts } = await acts.planFrigateCopy();
    const t0 = performance.now();
    await acts.copyFrigateData(facts);
    return performance.now() - t0;
  };
  const timed = async (fn: () => Promise<unknown>) => {
    const t0 = performance.now();
    await fn();
    return performance.now() - t0;
  };
  try {
    const rawMs: number[] = [];
    const engineMs: number[] = [];
    // a warm-up of each (the page cache of the CT's files), then interleaved runs on an emptied node
    for (let i = 0; i <= opts.runs; i++) {
      await clearNode();
      const r = await timed(raw);
      await clearNode();
      const e = await engine();
      if (i > 0) {
        rawMs.push(r);
        engineMs.push(e);
      }
      log(`   copy ${opts.mib} MiB: raw tar|tar ${round(r)} ms, copy-frigate-data ${round(e)} ms${i === 0 ? ' (warm-up)' : ''}`);
    }
    // the old path: the same activity without the node's sshd, on a few MiB of the recordings
    const oldInv = loadInventory(lab.inventoryPath);
    delete oldInv.frigate!.copy.nodeHost;
    const old = frigateActivities({ inventory: oldInv, exec: createExecutor(oldInv) });
    const subset = paths.slice(0, Math.max(1, Math.round(opts.oldMib / FILE_MIB)));
    const gone = await exec.run(node, `cd ${f.hostPaths.media} && rm -f -- ${subset.join(' ')}`);
    if (gone.exitCode !== 0) throw new Error(`removing ${subset.length} recordings on the node: ${gone.stderr}`);
    const { facts } = await old.planFrigateCopy();
    const subsetMib = facts.files.reduce((a, x) => a + x.size, 0) / 1024 / 1024;
    const oldMs = await timed(() => old.copyFrigateData(facts));
    log(`   old path: ${round(subsetMib, 1)} MiB through the guest agent in ${round(oldMs)} ms`);
    const rawS = summary(rawMs);
    const engineS = summary(engineMs);
    return {
      mib: opts.mib,
      files,
      raw: rawS,
      engine: engineS,
      ratio: round(engineS.medianMs / rawS.medianMs, 2),
      goal: 1.3,
      oldPath: { mib: round(subsetMib, 1), ms: round(oldMs), scaledMs: round((oldMs / subsetMib) * opts.mib) },
      agentPollMs: lab.info.agentPollMs ?? 1000,
    };
  } finally {
    await exec.close();
  }
}
