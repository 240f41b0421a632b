// Parses etcdctl 3.4/3.5 output. Member IDs are uint64: they never pass through a JS number.
// Source: etcd-io/etcd etcdctl/ctlv3/command/printer.go `makeMemberListTable`, printer_simple.go `MemberList`,
// `MemberRemove`, printer_json.go `printMemberListWithHexJSON` (v3.5), api/v3rpc/rpctypes/error.go.
import { ApplicationFailure } from '@temporalio/common';

export interface EtcdMember {
  /** Lowercase hex without padding, as `member list` prints and `member remove` accepts. */
  id: string;
  /** Empty for a member that was added but has not started. */
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
  /** etcdctl's own rule: a member is started once it has published its name. */
  started: boolean;
}

export interface EndpointHealth {
  endpoint: string;
  health: boolean;
  took: string;
  error?: string;
}

function unexpected(what: string, text: string): never {
  const t = text.trim();
  throw ApplicationFailure.nonRetryable(
    `unexpected etcdctl ${what} output: ${JSON.stringify(t.length > 200 ? `${t.slice(0, 200)}…` : t)}`,
    'UnexpectedOutput',
  );
}

/** Decimal uint64 string → lowercase hex without padding (etcdctl's `%x`). */
export function decimalIdToHex(decimal: string): string {
  return BigInt(decimal).toString(16);
}

// ID-valued keys in etcdctl JSON (member list, endpoint status, member add/remove headers).
const ID_NUMBER = /"(ID|member_id|cluster_id|leader)"(\s*:\s*)(\d+)/g;

/**
 * JSON.parse after turning every bare decimal ID into a hex string, so precision is never lost
 * (141147130129204419 would otherwise become …420). IDs that are already strings (3.5 `--hex`)
 * are left as they are.
 */
export function parseEtcdJson(text: string): unknown {
  return JSON.parse(text.replace(ID_NUMBER, (_m, key: string, sep: string, digits: string) => `"${key}"${sep}"${decimalIdToHex(digits)}"`));
}

const HEX_ID = /^[0-9a-f]{1,16}$/;

/** `member list` (default simple format): `id, status, name, peerURLs, clientURLs, isLearner`. */
export function parseMemberListSimple(text: string): EtcdMember[] {
  return text
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '')
    .map((line) => {
      const f = line.split(', ');
      const [id, status, name, peers, clients, learner] = f;
      if (f.length !== 6 || !id || !HEX_ID.test(id) || (status !== 'started' && status !== 'unstarted')) {
        unexpected('member list', line);
      }
      return {
        id,
        name: name ?? '',
        peerURLs: peers ? peers.split(',') : [],
        clientURLs: clients ? clients.split(',') : [],
        isLearner: learner === 'true',
        started: status === 'started',
      };
    });
}

/** `member list -w json` (3.4: decimal IDs; 3.5 `--hex`: hex strings and the `clientURLS` typo). */
export function parseMemberListJson(text: string): EtcdMember[] {
  let doc: unknown;
  try {
    doc = parseEtcdJson(text);
  } catch {
    unexpected('member list -w json', text);
  }
  const members = (doc as { members?: unknown })?.members;
  if (!Array.isArray(members)) unexpected('member list -w json', text);
  return members.map((raw) => {
    const m = raw as Record<string, unknown>;
    const id = typeof m.ID === 'string' ? m.ID.toLowerCase().replace(/^0+(?=.)/, '') : '';
    if (!HEX_ID.test(id)) unexpected('member list -w json', JSON.stringify(raw));
    const name = typeof m.name === 'string' ? m.name : '';
    const urls = (v: unknown) => (Array.isArray(v) ? v.filter((u): u is string => typeof u === 'string') : []);
    return {
      id,
      name,
      peerURLs: urls(m.peerURLs),
      clientURLs: urls(m.clientURLs ?? m.clientURLS),
      isLearner: m.isLearner === true,
      started: name !== '',
    };
  });
}

/** `endpoint health -w json`. Printed on stdout even when etcdctl exits 1 for an unhealthy cluster. */
export function parseEndpointHealthJson(text: string): EndpointHealth[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    unexpected('endpoint health -w json', text);
  }
  if (!Array.isArray(doc)) unexpected('endpoint health -w json', text);
  return doc.map((raw) => {
    const h = raw as Record<string, unknown>;
    if (typeof h.endpoint !== 'string' || typeof h.health !== 'boolean') unexpected('endpoint health -w json', JSON.stringify(raw));
    const out: EndpointHealth = { endpoint: h.endpoint, health: h.health, took: typeof h.took === 'string' ? h.took : '' };
    if (typeof h.error === 'string' && h.error) out.error = h.error;
    return out;
  });
}

/** `member remove` success line: `Member  1f57491286ac4c3 removed from cluster c5c0c206b8ca811c` (%16x pads with spaces). */
export function parseMemberRemove(text: string): { id: string; clusterId: string } {
  const m = /^Member\s+([0-9a-f]{1,16}) removed from cluster ([0-9a-f]{1,16})\s*$/m.exec(text);
  if (!m) unexpected('member remove', text);
  return { id: m[1]!, clusterId: m[2]! };
}

/** `etcdctl member remove` of an ID that is already gone: the idempotent case. */
export function isMemberNotFound(stderr: string): boolean {
  return /etcdserver: member not found/.test(stderr);
}

export interface Quorum {
  members: number;
  healthy: number;
  /** floor(n/2)+1 */
  quorum: number;
  /** Further failures the cluster survives now: healthy - quorum, never below 0. */
  tolerates: number;
  hasQuorum: boolean;
}

export function quorum(members: number, healthy = members): Quorum {
  const q = Math.floor(members / 2) + 1;
  return { members, healthy, quorum: q, tolerates: Math.max(0, healthy - q), hasQuorum: healthy >= q };
}

/** Quorum before and after removing one member (healthy or not). */
export function quorumAfterRemoval(members: number, healthy: number, removedIsHealthy: boolean): { before: Quorum; after: Quorum } {
  return {
    before: quorum(members, healthy),
    after: quorum(members - 1, healthy - (removedIsHealthy ? 1 : 0)),
  };
}
