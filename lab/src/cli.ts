// `npm run lab -- up|down|reset|status`: a lab in the background for manual runs and rehearsals. It is a
// homelab: `down` powers it off, `up` powers the same one on again, only `reset` builds a new one.
import { Command, InvalidArgumentError } from 'commander';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Lab } from './index';
import { registerVerbs } from './verbs';

const DEFAULT_DIR = path.join('.data', 'lab');

function iommu(value: string, acc: Record<string, number>): Record<string, number> {
  const m = /^([a-z0-9-]+)=(\d+)$/.exec(value);
  if (!m) throw new InvalidArgumentError('expected host=N, e.g. still-fawn=0');
  return { ...acc, [m[1]!]: Number(m[2]) };
}

const program = new Command('lab').description('A local homelab on loopback: real sshd and etcd, stand-in Proxmox/K3s tools.');

interface UpOptions {
  dir: string;
  iommuGroups: Record<string, number>;
  rejoined: boolean;
}

async function up(o: UpOptions): Promise<void> {
  const t = Date.now();
  const lab = await Lab.start({ dir: o.dir, iommuGroups: o.iommuGroups, staleNode: !o.rejoined, stopOnExit: false, persist: true });
  const s = ((Date.now() - t) / 1000).toFixed(1);
  console.log(lab.resumed ? `lab powered on again in ${s} s: the same homelab (subnet ${lab.subnet}.x)` : `lab built in ${s} s (subnet ${lab.subnet}.x)`);
  if (lab.resumed && (o.rejoined || Object.keys(o.iommuGroups).length)) console.log('(--rejoined and --iommu-groups shape a new lab only: npm run lab -- reset …)');
  console.log(`dir:       ${lab.dir}`);
  console.log(`inventory: ${lab.inventoryPath}`);
  console.log(`ssh:       ssh -i ${lab.clientKeyPath} -o UserKnownHostsFile=${lab.knownHostsPath} -p 2222 root@${lab.subnet}.1`);
}

const upOptions = (c: Command) =>
  c
    .option('--dir <dir>', 'state directory', DEFAULT_DIR)
    .option('--iommu-groups <host=N>', 'IOMMU group count of a host (repeatable)', iommu, {})
    .option('--rejoined', 'start with a healthy cluster, as after the rejoin (to rehearse Phases 2-4 alone)', false);

upOptions(program.command('up').description('power on the lab in --dir (built on first use); prints its directory and inventory path')).action(up);

upOptions(program.command('reset').description('remove the lab in --dir (powered off first) and build a new one')).action(async (o: UpOptions) => {
  await Lab.attach(o.dir).stop();
  await up(o);
});

program
  .command('down')
  .description('power the lab off: every process stops, its state stays for the next `up` (--remove: delete it)')
  .option('--dir <dir>', 'state directory', DEFAULT_DIR)
  .option('--remove', 'also remove its directory', false)
  .action(async (o: { dir: string; remove: boolean }) => {
    const lab = Lab.attach(o.dir);
    await lab.stop({ keepDir: !o.remove });
    console.log(o.remove ? `lab removed (${lab.dir})` : `lab powered off (${lab.dir}; npm run lab -- up powers it on again)`);
  });

program
  .command('status')
  .description('etcd members and health, Kubernetes nodes, the PBS storage, Frigate, the old LXC')
  .option('--dir <dir>', 'state directory', DEFAULT_DIR)
  .action(async (o: { dir: string }) => {
    if (!fs.existsSync(path.join(o.dir, 'lab.json'))) throw new Error(`no lab in ${o.dir}`);
    const lab = Lab.attach(o.dir);
    if (lab.processes().length === 0) {
      console.log(JSON.stringify({ power: 'off', dir: lab.dir, subnet: lab.subnet }, null, 2));
      return;
    }
    const pbs = lab.pbs.storage();
    console.log(
      JSON.stringify(
        {
          power: 'on',
          members: await lab.etcdMembers(),
          health: await lab.endpointHealth(),
          nodes: await lab.kubeNodes(),
          pbsStorage: pbs && { servedBy: pbs.host, server: pbs.props.server, datastore: pbs.props.datastore },
          frigateDeployments: lab.frigate.deployments().map((d) => `${d.namespace}/${d.name} on ${JSON.stringify(d.nodeSelector)}`),
          frigateLxc: lab.lxc.container('fun-bedbug', 113)?.status ?? 'destroyed',
        },
        null,
        2,
      ),
    );
  });

registerVerbs(program); // the manual steps' verbs (lab/src/verbs.ts)

program.parseAsync(process.argv).catch((e: unknown) => {
  console.error(`lab: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
