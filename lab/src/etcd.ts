// What the lab API reports about etcd, asked with the real etcdctl and the lab's client cert. Parsed here,
// not with src/activities/parse: the lab is the referee of the runbook's results, so it shares no code with it.
import * as path from 'node:path';
import { run } from './proc';
import type { LabJson } from './topology';

export interface EtcdMember {
  id: string;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
  started: boolean;
}

export interface EndpointHealth {
  endpoint: string;
  health: boolean;
}

function etcdctl(labDir: string, endpoints: string[], args: string[]) {
  const pki = path.join(labDir, 'pki');
  return run(
    '/usr/bin/etcdctl',
    [
      `--cacert=${path.join(pki, 'ca.crt')}`,
      `--cert=${path.join(pki, 'client.crt')}`,
      `--key=${path.join(pki, 'client.key')}`,
      `--endpoints=${endpoints.join(',')}`,
      '--dial-timeout=2s',
      '--command-timeout=4s',
      ...args,
    ],
    { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ETCDCTL_API: '3' }, timeoutMs: 15_000 },
  );
}

/** -w json prints uint64 IDs as numbers that JSON.parse would round: quote them first. */
function parseJson(text: string): unknown {
  return JSON.parse(text.replace(/"(ID|member_id|cluster_id|leader)":(\d+)/g, '"$1":"$2"'));
}

const clientUrls = (l: LabJson) => l.vms.map((v) => `https://${v.address}:2379`);

interface RawMember {
  ID: string;
  name?: string;
  peerURLs?: string[];
  clientURLs?: string[];
  isLearner?: boolean;
}

export async function members(labDir: string, l: LabJson): Promise<EtcdMember[]> {
  const r = await etcdctl(labDir, clientUrls(l), ['member', 'list', '-w', 'json']);
  if (r.code !== 0) throw new Error(`etcdctl member list failed: ${r.stderr.trim()}`);
  const j = parseJson(r.stdout) as { members?: RawMember[] };
  return (j.members ?? []).map((m) => ({
    id: BigInt(m.ID).toString(16),
    name: m.name ?? '',
    peerURLs: m.peerURLs ?? [],
    clientURLs: m.clientURLs ?? [],
    isLearner: Boolean(m.isLearner),
    started: Boolean(m.name),
  }));
}

/** Health of every member's client URL (`endpoint health --cluster`). */
export async function health(labDir: string, l: LabJson): Promise<EndpointHealth[]> {
  let endpoints: string[];
  try {
    endpoints = [...new Set((await members(labDir, l)).flatMap((m) => m.clientURLs))];
  } catch {
    endpoints = clientUrls(l);
  }
  if (endpoints.length === 0) return [];
  const r = await etcdctl(labDir, endpoints, ['endpoint', 'health', '-w', 'json']);
  let list: { endpoint: string; health: boolean }[] = [];
  try {
    list = JSON.parse(r.stdout) as typeof list;
  } catch {
    list = endpoints.map((endpoint) => ({ endpoint, health: false }));
  }
  return list.map((e) => ({ endpoint: e.endpoint, health: e.health === true })).sort((a, b) => a.endpoint.localeCompare(b.endpoint));
}

/** An operator's out-of-band `etcdctl member remove` (a fault: the world changing under a run). */
export async function removeMember(labDir: string, l: LabJson, id: string): Promise<void> {
  const r = await etcdctl(labDir, clientUrls(l), ['member', 'remove', id]);
  if (r.code !== 0) throw new Error(`etcdctl member remove ${id} failed: ${r.stderr.trim()}`);
}
