'use strict';
// Phase 3's kubectl verbs (the node verbs stay in ../kubectl): apply -f -, label node,
// get deploy|pods|ns|cm|svc [-n NS] [-l k=v] [-o json|name], rollout status deployment/NAME.
const fs = require('node:fs');
const path = require('node:path');
const c = require('./common.js');
const kube = require('./kube.js');
const fk = require('./frigate-kube.js');

function parseManifest(text) {
  const t = text.trim();
  if (t.startsWith('{') || t.startsWith('[')) return [JSON.parse(t)];
  const YAML = require(path.join(__dirname, '..', '..', '..', 'node_modules', 'yaml'));
  return YAML.parseAllDocuments(text).map((d) => d.toJSON()).filter(Boolean);
}

function apply(opt, pos) {
  if (opt.f !== '-' && !pos.includes('-') && opt.filename !== '-') c.die('error: must specify one of -f and -k', 1);
  let docs;
  try {
    docs = parseManifest(fs.readFileSync(0, 'utf8'));
  } catch (e) {
    c.die(`error: error parsing STDIN: ${String(e.message || e).split('\n')[0]}`, 1);
  }
  const items = docs.flatMap((d) => (d.kind === 'List' ? d.items || [] : [d]));
  if (items.length === 0) c.die('error: no objects passed to apply', 1);
  let rc = 0;
  for (const o of items) {
    const r = fk.applyOne(o, opt.namespace || opt.n);
    if (r.line) process.stdout.write(r.line + '\n');
    else {
      process.stderr.write(r.err + '\n');
      rc = 1;
    }
  }
  process.exit(rc);
}

function label(pos, opt) {
  // label node NAME k=v [k2=v2] [--overwrite]
  const [, kind, name, ...pairs] = pos;
  if (!['node', 'nodes', 'no'].includes(kind)) c.die(`error: the server doesn't have a resource type "${kind || ''}"`, 1);
  const rec = kube.stored(name);
  if (!rec) c.die(`Error from server (NotFound): nodes "${name}" not found`, 1);
  let changed = false;
  for (const p of pairs) {
    const m = /^([A-Za-z0-9./_-]+)=([A-Za-z0-9._-]*)$/.exec(p);
    if (!m) c.die(`error: invalid label spec: ${p}`, 1);
    const cur = rec.metadata.labels[m[1]];
    if (cur === m[2]) continue;
    if (cur !== undefined && !opt.overwrite) c.die(`error: '${m[1]}' already has a value (${cur}), and --overwrite is false`, 1);
    changed = true;
  }
  if (changed) {
    kube.update(name, (r) => {
      for (const p of pairs) {
        const [k, ...v] = p.split('=');
        r.metadata.labels[k] = v.join('=');
      }
    });
  }
  process.stdout.write(`node/${name} ${changed ? 'labeled' : 'not labeled'}\n`);
}

function selectorOf(s) {
  if (!s) return null;
  return Object.fromEntries(String(s).split(',').map((kv) => kv.split('=')));
}

function print(objs, single, opt, key) {
  const out = opt.output;
  if (out === 'json') {
    const v = single ? objs[0] : { apiVersion: 'v1', items: objs, kind: 'List', metadata: { resourceVersion: '' } };
    return process.stdout.write(JSON.stringify(v, null, 4) + '\n');
  }
  if (out === 'name') return process.stdout.write(objs.map((o) => `${key === 'pod' ? 'pod' : fkRef(key)}/${o.metadata.name}\n`).join(''));
  if (objs.length === 0) return process.stderr.write(`No resources found in ${opt.namespace || opt.n || 'default'} namespace.\n`);
  const rows = [['NAME', 'STATUS']];
  for (const o of objs) rows.push([o.metadata.name, o.status?.phase || (o.status?.readyReplicas ? `${o.status.readyReplicas}/1` : 'Active')]);
  return process.stdout.write(rows.map((r) => `${r[0].padEnd(40)}${r[1]}`).join('\n') + '\n');
}
const fkRef = (key) => (fk.KINDS[key].group ? `${key}.${fk.KINDS[key].group}` : key);

function get(pos, opt) {
  let kind = pos[1];
  let names = pos.slice(2);
  if (kind && kind.includes('/')) [kind, ...names] = [kind.split('/')[0], kind.split('/')[1]];
  const ns = opt.namespace || opt.n || 'default';
  if (['pod', 'pods', 'po'].includes(kind)) {
    const sel = selectorOf(opt.selector || opt.l);
    const pods = fk.list('deployment', ns).map((d) => fk.podObject(d, fk.podOf(d)))
      .filter((p) => !sel || fk.matches(p.metadata.labels, sel))
      .filter((p) => names.length === 0 || names.includes(p.metadata.name));
    if (names.length === 1 && pods.length === 0) c.die(`Error from server (NotFound): pods "${names[0]}" not found`, 1);
    return print(pods, names.length === 1, opt, 'pod');
  }
  const key = fk.kindKey(kind);
  if (!key) c.die(`error: the server doesn't have a resource type "${kind || ''}"`, 1);
  const view = (o) => (key === 'deployment' ? fk.deploymentObject(o) : o);
  if (names.length === 0) return print(fk.list(key, ns).map(view), false, opt, key);
  const objs = [];
  for (const n of names) {
    const o = fk.get(key, ns, n);
    if (!o) c.die(`Error from server (NotFound): ${fk.KINDS[key].plural}${fk.KINDS[key].group ? '.' + fk.KINDS[key].group : ''} "${n}" not found`, 1);
    objs.push(view(o));
  }
  return print(objs, names.length === 1, opt, key);
}

async function rollout(pos, opt) {
  // rollout status deployment/NAME | deployment NAME [-n NS] [--timeout=120s]
  if (pos[1] !== 'status') c.die(`error: unknown command "${pos[1]}" for "kubectl rollout"`, 1);
  let [kind, name] = pos[2] && pos[2].includes('/') ? pos[2].split('/') : [pos[2], pos[3]];
  if (fk.kindKey(kind) !== 'deployment') c.die(`error: no status viewer has been implemented for ${kind}`, 1);
  const ns = opt.namespace || opt.n || 'default';
  const m = /^(\d+)(ms|s|m|h)?$/.exec(String(opt.timeout || '0s'));
  const ms = m ? Number(m[1]) * { ms: 1, s: 1000, m: 60000, h: 3600000 }[m[2] || 's'] : 0;
  const deadline = ms === 0 ? Infinity : Date.now() + ms;
  let said = false;
  for (;;) {
    const d = fk.get('deployment', ns, name);
    if (!d) c.die(`Error from server (NotFound): deployments.apps "${name}" not found`, 1);
    if (fk.podOf(d).phase === 'Running') return process.stdout.write(`deployment "${name}" successfully rolled out\n`);
    if (!said) process.stdout.write(`Waiting for deployment "${name}" rollout to finish: 0 of 1 updated replicas are available...\n`);
    said = true;
    if (Date.now() >= deadline) c.die('error: timed out waiting for the condition', 1);
    await c.sleep(250);
  }
}

/** True when this module handled the command (it may also exit). */
async function handle(verb, pos, opt) {
  if (verb === 'apply') return apply(opt, pos), true;
  if (verb === 'label') return label(pos, opt), true;
  if (verb === 'rollout') return await rollout(pos, opt), true;
  if (verb === 'get' && pos[1] && !['node', 'nodes', 'no'].includes(pos[1].split('/')[0])) return get(pos, opt), true;
  return false;
}

module.exports = { handle };
