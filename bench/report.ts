// Renders results.json as docs/benchmarks.md and the ratio chart (bench/ratios.svg).
/* eslint-disable @typescript-eslint/no-explicit-any */

type R = Record<string, any>;

const fmt = (x: unknown, d = 0): string => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : '—');
const ms = (s: R | undefined): string => (s ? `${fmt(s.medianMs)} ms` : '—');
const met = (v: unknown, goal: unknown): string =>
  typeof v !== 'number' || !Number.isFinite(v) || typeof goal !== 'number' ? 'not measured' : v <= goal ? 'met' : 'missed';
const x = (v: unknown, d = 2): string => (typeof v === 'number' && Number.isFinite(v) ? `${v.toFixed(d)}×` : '—');

interface Bar {
  group: string;
  label: string;
  value: number | undefined;
  /** Lower is better; met when value <= target. */
  target?: number;
}

function bars(r: R): Bar[] {
  const p = r.perStep?.ratios ?? {};
  const f = r.fanout?.ratios ?? {};
  const s = r.startup?.ratios ?? {};
  const z = r.resume?.ratios ?? {};
  const n = r.fanout?.hosts ?? '?';
  return [
    { group: 'per step', label: 'engine / floor', value: p.engineOverFloor, target: 1.5 },
    { group: 'per step', label: 'engine, eager dispatch / floor', value: p.eagerOverFloor, target: 1.5 },
    { group: 'per step', label: 'engine, local activities / floor', value: p.localOverFloor, target: 1.5 },
    { group: 'per step', label: 'engine, all commands in one activity / floor', value: p.oneActivityOverFloor, target: 1.5 },
    { group: 'per step', label: 'exec layer alone / floor', value: p.executorOverFloor },
    { group: 'per step', label: 'engine / Ansible', value: p.engineOverAnsible, target: 0.1 },
    { group: 'per step', label: 'engine, local activities / Ansible', value: p.localOverAnsible, target: 0.1 },
    { group: 'fan-out', label: `engine: ${n} hosts / 1 host`, value: f.engineAllOverOne, target: 3 },
    { group: 'fan-out', label: `engine, local activities: ${n} hosts / 1 host`, value: f.engineLocalAllOverOne, target: 3 },
    { group: 'fan-out', label: `raw ssh2: ${n} hosts / 1 host`, value: f.rawAllOverOne, target: 3 },
    { group: 'fan-out', label: `Ansible: ${n} hosts / 1 host`, value: f.ansibleAllOverOne, target: 3 },
    { group: 'start-up', label: 'bundling at start / prebuilt', value: s.bundleOverPrebuilt },
    { group: 'start-up', label: 'tsx / compiled', value: s.tsxOverCompiled },
    { group: 'CLI', label: '--help: tsx / compiled', value: r.cli?.ratios?.helpTsxOverCompiled },
    { group: 'CLI', label: 'status: tsx / compiled', value: r.cli?.ratios?.statusTsxOverCompiled },
    { group: 'resume', label: 'at a gate / start-up', value: z.atGateOverStartup },
    { group: 'resume', label: 'at a gate, sticky 1 s / start-up', value: z.atGateSticky1sOverStartup },
    { group: 'resume', label: 'mid-command / start-up', value: z.midCommandOverStartup },
  ];
}

const esc = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Horizontal bars on a log scale (0.01× … 100×); a target is a red tick, a met one makes the bar green. */
export function renderSvg(r: R): string {
  const rows = bars(r);
  const left = 290;
  const width = 820;
  const plotW = width - left - 70;
  const rowH = 24;
  const top = 58;
  const height = top + rows.length * rowH + 40;
  const lo = Math.log10(0.01);
  const hi = Math.log10(100);
  const px = (v: number) => left + ((Math.log10(Math.min(100, Math.max(0.01, v))) - lo) / (hi - lo)) * plotW;
  const m = r.machineAtStart ?? {};
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  out.push(`<text x="10" y="20" font-size="15" font-weight="bold">homelab-runbooks benchmarks: ratios taken in one run (lower is better, log scale)</text>`);
  out.push(`<text x="10" y="38" fill="#555">${esc(`${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB, load ${(m.loadAverage ?? []).join(' ')} at start — ${r.generatedAt ?? ''}${r.config?.smoke ? ' — SMOKE SIZES' : ''}`)}</text>`);
  for (const t of [0.01, 0.1, 1, 10, 100]) {
    out.push(`<line x1="${px(t)}" y1="${top - 6}" x2="${px(t)}" y2="${top + rows.length * rowH}" stroke="${t === 1 ? '#999' : '#ddd'}"/>`);
    out.push(`<text x="${px(t)}" y="${top + rows.length * rowH + 16}" text-anchor="middle" fill="#555">${t}×</text>`);
  }
  let group = '';
  rows.forEach((b, i) => {
    const y = top + i * rowH;
    if (b.group !== group) {
      group = b.group;
      if (i > 0) out.push(`<line x1="10" y1="${y - 1}" x2="${width - 10}" y2="${y - 1}" stroke="#eee"/>`);
    }
    out.push(`<text x="${left - 8}" y="${y + 15}" text-anchor="end">${esc(`${b.group}: ${b.label}`)}</text>`);
    if (typeof b.value !== 'number' || !Number.isFinite(b.value)) {
      out.push(`<text x="${left + 4}" y="${y + 15}" fill="#999">not measured</text>`);
      return;
    }
    const color = b.target === undefined ? '#7a8ba6' : b.value <= b.target ? '#3c9a5f' : '#e08a2c';
    const x0 = px(0.01);
    out.push(`<rect x="${x0}" y="${y + 4}" width="${Math.max(1, px(b.value) - x0)}" height="${rowH - 8}" fill="${color}"/>`);
    out.push(`<text x="${px(b.value) + 4}" y="${y + 15}">${b.value < 0.1 ? b.value.toFixed(3) : b.value.toFixed(2)}×</text>`);
    if (b.target !== undefined) {
      out.push(`<line x1="${px(b.target)}" y1="${y + 1}" x2="${px(b.target)}" y2="${y + rowH - 1}" stroke="#c00" stroke-width="2"/>`);
    }
  });
  out.push(`<text x="10" y="${height - 6}" fill="#555">green: meets its target (red tick); orange: misses it; grey: no target</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function profileTable(p: R): string[] {
  const rows: [string, string][] = [
    ['startToFirstSchedule', 'workflow start → first step scheduled (start RPC, first workflow task)'],
    ['dispatch', 'step scheduled → activity function running (matching, poll, delivery to Node)'],
    ['activity', 'inside the activity: exec layer + SSH channel + the command'],
    ['between', 'step done → next step scheduled (completion RPC, workflow task round trip)'],
    ['tail', 'last step done → result at the client (workflow task, completion, long poll)'],
  ];
  const eng = p.profile ?? {};
  const eag = p.profileEagerDispatch ?? {};
  const loc = p.profileLocalActivities ?? {};
  return [
    '| phase | what | engine ms/step | eager dispatch ms/step | local activities ms/step |',
    '|---|---|---:|---:|---:|',
    ...rows.map(([k, what]) => `| ${k} | ${what} | ${fmt(eng[k]?.perStepMs, 1)} | ${fmt(eag[k]?.perStepMs, 1)} | ${fmt(loc[k]?.perStepMs, 1)} |`),
  ];
}

export function renderMarkdown(r: R, svgRef: string): string {
  const m = r.machineAtStart ?? {};
  const me = r.machineAtEnd ?? {};
  const p = r.perStep ?? {};
  const f = r.fanout ?? {};
  const s = r.startup ?? {};
  const z = r.resume ?? {};
  const machine = `${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB memory`;
  const L: string[] = [];
  L.push('# Benchmarks');
  L.push('');
  L.push(`Generated by \`npm run bench\` (bench/run.ts) on ${r.generatedAt}${r.config?.smoke ? ' with **smoke sizes** (not meaningful)' : ''}, in ${fmt((r.durationMs ?? 0) / 1000)} s.`);
  L.push(`Machine: **${machine}**, ${m.kernel}, Node ${m.node}, ${m.openssh ?? 'OpenSSH ?'}, ${m.ansible ?? 'no Ansible'}. `
    + `Load average ${(m.loadAverage ?? []).join(' / ')} at the start and ${(me.loadAverage ?? []).join(' / ')} at the end: other jobs shared the machine, so absolute `
    + 'times are noisy; every comparison is a ratio of medians taken in this same run, with the methods interleaved run by run. Raw numbers: `bench/results.json`.');
  L.push('');
  L.push('Benchmarks are never pass/fail: the targets of issues 6 and 14 are reported next to the figures, not asserted.');
  L.push('');
  L.push(`![Ratios of this run](${svgRef})`);
  L.push('');
  const cl = r.cli ?? {};
  const cp = r.copy;
  L.push('Issue 14\'s goals in this run:');
  L.push('');
  L.push('| figure | measured | goal | |');
  L.push('|---|---:|---:|---|');
  L.push(`| \`runbook --help\`, wall (§5) | ${ms(cl.help?.compiled)} | ≤ ${fmt(cl.goalsMs?.help)} ms | ${met(cl.help?.compiled?.medianMs, cl.goalsMs?.help)} |`);
  L.push(`| \`runbook status <id>\`, wall (§5) | ${ms(cl.status?.compiled)} | ≤ ${fmt(cl.goalsMs?.status)} ms | ${met(cl.status?.compiled?.medianMs, cl.goalsMs?.status)} |`);
  L.push(`| \`runbook plan k3s-rejoin\` on the stale lab, wall (§5) | ${ms(cl.planRejoin)} | ≤ ${fmt(cl.goalsMs?.planRejoin)} ms | ${met(cl.planRejoin?.medianMs, cl.goalsMs?.planRejoin)} |`);
  L.push(`| worker start to first task polled (§3) | ${ms(s.compiled?.toFirstTask)} | ≤ ${fmt(s.goalMs)} ms | ${met(s.compiled?.toFirstTask?.medianMs, s.goalMs)} |`);
  L.push(`| resume after SIGKILL at a gate (§4) | ${ms(z.atGateSticky1s)} | ≤ ${fmt(z.goalMs)} ms | ${met(z.atGateSticky1s?.medianMs, z.goalMs)} |`);
  // the runbooks run their checks as local activities (src/workflows/runbook/local-checks.ts): that is the figure
  L.push(`| 20-step read-only runbook / floor, one local activity per step as the runbooks' checks (§1) | ${x(p.ratios?.localOverFloor)} (normal activities ${x(p.ratios?.engineOverFloor)}) | ≤ 1.30× | ${met(p.ratios?.localOverFloor, 1.3)} |`);
  L.push(`| ${f.hosts ?? 50}-host fan-out / raw ssh2, local activities (§2) | ${x(f.ratios?.engineLocalAllOverRawAll)} (normal activities ${x(f.ratios?.engineAllOverRawAll)}) | ≤ 1.30× | ${met(f.ratios?.engineLocalAllOverRawAll, 1.3)} |`);
  L.push(`| Phase 3 copy, ${cp?.mib ?? 256} MiB CT → node / raw tar over two ssh2 channels (§6) | ${x(cp?.ratio)} | ≤ 1.30× | ${met(cp?.ratio, cp?.goal)} |`);
  L.push('');

  // 1
  L.push(`## 1. Per-step overhead (${machine})`);
  L.push('');
  L.push(`A read-only runbook of ${p.steps} short commands (\`bench/commands.ts\`) on lab host \`${p.host}\` (a real sshd whose ForceCommand enters the host's namespace), `
    + `one activity per command, ${r.config?.runs} interleaved runs after a warm-up run of each (warm: the ssh2 pool and Ansible's ControlPersist master are connected, the worker runs).`);
  L.push('');
  L.push('| method | median | per step | × floor | × Ansible |');
  L.push('|---|---:|---:|---:|---:|');
  const steps = p.steps ?? 1;
  const row = (name: string, v: R | undefined) =>
    v && L.push(`| ${name} | ${ms(v)} | ${fmt(v.medianMs / steps, 1)} ms | ${x(v.medianMs / p.floor.medianMs)} | ${p.ansible ? x(v.medianMs / p.ansible.medianMs, 3) : '—'} |`);
  row('floor: one warm ssh2 connection, no orchestration', p.floor);
  row('exec layer alone (the project\'s ssh2 pool, no Temporal)', p.executorOnly);
  row('**engine**: dev server + worker + ssh2 pool, one activity per step', p.engine);
  row('engine, eager activity dispatch on in the server', p.engineEagerDispatch);
  row('engine, one *local* activity per step', p.engineLocalActivities);
  row('engine, the commands as one step (one activity runs them all)', p.engineOneActivity);
  row(`Ansible \`ansible-playbook\`, \`shell\` tasks, pipelining, no facts`, p.ansible);
  L.push('');
  if (p.ansibleEmptyPlayMs !== undefined) {
    L.push(`An empty play (no tasks) takes ${fmt(p.ansibleEmptyPlayMs)} ms: Ansible's own start-up; the rest is ~${fmt((p.ansible?.medianMs - p.ansibleEmptyPlayMs) / steps)} ms per task.`);
  }
  L.push(`Each command costs the floor ${fmt(p.floorPerCommandMs, 1)} ms; the whole machine spent ~${fmt(p.floorMachineCpuPerCommandMs, 1)} CPU-ms per command `
    + '(sshd session, the lab\'s `unshare` + bind mounts, bash), which is why a command is expensive here and why fan-out is CPU-bound on this machine.');
  L.push('');
  const ra = p.ratios ?? {};
  L.push(`**Targets**: engine ≤ 1.5× the floor — measured ${x(ra.engineOverFloor)} (${(ra.engineOverFloor ?? 99) <= 1.5 ? 'met' : 'missed'}); `
    + `engine ≤ 0.1× Ansible — measured ${x(ra.engineOverAnsible, 3)} (${ra.engineOverAnsible === undefined ? 'not measured' : ra.engineOverAnsible <= 0.1 ? 'met' : 'missed'}). `
    + `With local activities: ${x(ra.localOverFloor)} the floor (${(ra.localOverFloor ?? 99) <= 1.5 ? 'met' : 'missed'}), ${x(ra.localOverAnsible, 3)} Ansible.`);
  L.push('');
  L.push('### Where the time goes');
  L.push('');
  L.push('From the activities\' own timestamps (scheduled time from the server, start/end in the worker; one machine, one clock), medians per step:');
  L.push('');
  L.push(...profileTable(p));
  L.push('');
  const pr = p.profile ?? {};
  const orch = (pr.dispatch?.perStepMs ?? 0) + (pr.between?.perStepMs ?? 0);
  L.push(`With one activity per step, each step pays ~${fmt(orch, 1)} ms of orchestration (dispatch + between: two trips through the server, `
    + `an activity task and a workflow task) on top of the ~${fmt(pr.activity?.perStepMs, 1)} ms the activity takes, against ${fmt(p.floorPerCommandMs, 1)} ms for the bare command. `
    + 'SSH channel set-up is inside "activity" and is the same as the floor\'s (the exec layer alone is within noise of the floor); bundling is not paid per step (the worker '
    + 'loads the bundle once); polling shows up as "dispatch" (the activity task waits for the server to match it to the worker\'s long poll).');
  L.push('');

  // 2
  L.push(`## 2. Fan-out (${machine})`);
  L.push('');
  L.push(`The first ${f.steps} commands of the same preflight on ${f.hosts} fleet hosts (\`bench/fleet.ts\`: ${f.hosts} real sshd's started with the lab's recipe, `
    + `each on its own loopback address with its own host key; started in ${fmt((f.fleetStartMs ?? 0) / 1000, 1)} s), against one of them alone. `
    + `Engine: one workflow, per host the steps in order, hosts in parallel (activities); raw ssh2: one warm connection per host, hosts in parallel; Ansible: forks=${f.hosts}, linear strategy. `
    + `${r.config?.fanRuns} runs (Ansible ${r.config?.ansibleFanRuns}) after a warm-up.`);
  L.push('');
  L.push(`| method | 1 host | ${f.hosts} hosts | ${f.hosts} hosts / 1 host | machine CPU busy during the ${f.hosts}-host run |`);
  L.push('|---|---:|---:|---:|---:|');
  const cu = f.machineCpuUtilization ?? {};
  L.push(`| **engine** | ${ms(f.engineOne)} | ${ms(f.engineAll)} | ${x(f.ratios?.engineAllOverOne)} | ${cu.engineAll !== undefined ? `${fmt(cu.engineAll * 100)} %` : '—'} |`);
  L.push(`| engine, local activities | (1 host: the engine row) | ${ms(f.engineLocalAll)} | ${x(f.ratios?.engineLocalAllOverOne)} | — |`);
  L.push(`| raw ssh2 | ${ms(f.rawOne)} | ${ms(f.rawAll)} | ${x(f.ratios?.rawAllOverOne)} | ${cu.rawAll !== undefined ? `${fmt(cu.rawAll * 100)} %` : '—'} |`);
  L.push(`| Ansible | ${ms(f.ansibleOne)} | ${ms(f.ansibleAll)} | ${x(f.ratios?.ansibleAllOverOne)} | ${cu.ansibleAll !== undefined ? `${fmt(cu.ansibleAll * 100)} %` : '—'} |`);
  L.push('');
  L.push(`**Target** ≤ 3× one host: engine ${x(f.ratios?.engineAllOverOne)} (${(f.ratios?.engineAllOverOne ?? 99) <= 3 ? 'met' : 'missed'}). `
    + `The ${f.hosts}-host engine run takes ${x(f.ratios?.engineAllOverRawAll)} the raw ssh2 fan-out (${x(f.ratios?.engineLocalAllOverRawAll)} with local activities) and ${x(f.ratios?.engineAllOverAnsibleAll)} Ansible's.`);
  L.push('');
  L.push(`Why no method gets near 3× here: one host's run is latency (${f.steps} round trips of ~${fmt(p.floorPerCommandMs, 0)} ms), the ${f.hosts}-host run is `
    + `throughput — ${f.hosts * (f.steps ?? 0)} SSH sessions at ~${fmt(p.floorMachineCpuPerCommandMs, 0)} CPU-ms each (sshd, the lab's namespaces, bash) on ${m.cores} cores, `
    + `and the machine was ${fmt((cu.rawAll ?? NaN) * 100)} % busy during the raw fan-out. Even raw ssh2 with no orchestration lands at ${x(f.ratios?.rawAllOverOne)}, so the 3× target `
    + `needs roughly ${fmt(((f.hosts ?? 0) * (p.floorMachineCpuPerCommandMs ?? 0)) / (3 * (p.floorPerCommandMs ?? 1)))} cores for this fleet; what the engine adds on top is the `
    + 'server and worker CPU per activity (history events, matching, workflow tasks), which local activities mostly avoid.');
  L.push('');

  // 3
  L.push(`## 3. Worker start-up (${machine})`);
  L.push('');
  L.push(`A fresh worker process (\`node --import tsx bench/worker-proc.ts\`, built like \`src/worker.ts\` with the project's activities and workflows plus the benchmark's), `
    + `timed from spawn; a workflow is already waiting on its task queue, so the first poll gets a task at once. "First task" is the first WorkflowTaskStarted in the history. `
    + `Workflow bundle: ${fmt((r.bundle?.bytes ?? 0) / 1024)} KiB; bundling it in the benchmark process took ${fmt(r.bundle?.bundleMs)} ms (while the lab and two dev servers were starting). ${r.config?.startupRuns} runs each, alternating.`);
  L.push('');
  L.push('| worker code | Worker.create returned | first task polled | first step running |');
  L.push('|---|---:|---:|---:|');
  L.push(`| **compiled** (\`node build/js/…\`, scripts/build.mjs) + prebuilt bundle: what \`npm run worker\`, the systemd unit and \`npm start\`'s main job run | ${ms(s.compiled?.toReady)} | ${ms(s.compiled?.toFirstTask)} | ${ms(s.compiled?.toFirstStep)} |`);
  L.push(`| tsx + prebuilt bundle (\`workflowBundle: { codePath }\`) | ${ms(s.prebuilt?.toReady)} | ${ms(s.prebuilt?.toFirstTask)} | ${ms(s.prebuilt?.toFirstStep)} |`);
  L.push(`| tsx, bundled at start (\`workflowsPath\`) | ${ms(s.bundleAtStart?.toReady)} | ${ms(s.bundleAtStart?.toFirstTask)} | ${ms(s.bundleAtStart?.toFirstStep)} |`);
  L.push('');
  const ph = (mode: R | undefined) => mode?.phases ?? {};
  L.push('Where start-up goes (medians, ms after spawn):');
  L.push('');
  L.push('| worker code | node running | modules loaded (@temporalio/worker, activities; tsx where named) | connected to the server | Worker.create returned |');
  L.push('|---|---:|---:|---:|---:|');
  for (const [name, v] of [['compiled + prebuilt', s.compiled], ['tsx + prebuilt', s.prebuilt], ['tsx, bundled at start', s.bundleAtStart]] as const) {
    const q = ph(v);
    L.push(`| ${name} | ${fmt(q.nodeStart)} | ${fmt(q.modulesLoaded)} | ${fmt(q.connected)} | ${fmt(q.workerCreated)} |`);
  }
  L.push('');
  L.push(`Through tsx a worker takes ${x(s.ratios?.tsxOverCompiled)} as long to its first task as compiled; bundling at start ${x(s.ratios?.bundleOverPrebuilt)} the prebuilt bundle. `
    + `**Goal** (issue 14): compiled, first task ≤ ${fmt(s.goalMs)} ms — measured ${ms(s.compiled?.toFirstTask)} (${met(s.compiled?.toFirstTask?.medianMs, s.goalMs)}). Fastest: ${s.winner ?? '—'}.`);
  L.push('');

  // 4
  L.push(`## 4. Resume after a crash (${machine})`);
  L.push('');
  L.push(`Worker A (compiled, prebuilt bundle) runs the ${p.steps ?? ''}-step runbook and is killed with SIGKILL; worker B is spawned at once; the figure is the time from B's spawn to the next step `
    + `starting (the step log written by the activity). Compared with the start-up time above (compiled, to the first task: ${fmt(z.startupReferenceMs)} ms). ${r.config?.resumeRuns} runs each.`);
  L.push('');
  L.push('| where A died | next step after B\'s start | × start-up |');
  L.push('|---|---:|---:|');
  L.push(`| at a gate (waiting for a signal before step ${z.gateStep}; the signal arrives as B starts), worker defaults | ${ms(z.atGate)} | ${x(z.ratios?.atGateOverStartup)} |`);
  L.push(`| at a gate, workers with \`stickyQueueScheduleToStartTimeout: '1s'\` (src/worker.ts's setting) | ${ms(z.atGateSticky1s)} | ${x(z.ratios?.atGateSticky1sOverStartup)} |`);
  L.push(`| mid-command (\`sleep ${r.config?.smoke ? 1 : 2}\` at step ${z.gateStep}, killed 300 ms in), heartbeatTimeout ${z.heartbeatTimeoutMidCommand} | ${ms(z.midCommand)} | ${x(z.ratios?.midCommandOverStartup)} |`);
  L.push('');
  L.push(`B itself was ready (Worker.create returned) ${ms(z.newWorkerReady)} after its spawn. `
    + 'At a gate, the signal\'s workflow task goes to the dead worker\'s sticky queue and waits there for the sticky schedule-to-start timeout (SDK default 10 s) before the '
    + 'server hands it to the normal queue B polls; a shorter sticky timeout brings resume down to B\'s start-up. Mid-command, the lost attempt is retried only when its '
    + 'heartbeat timeout expires (the server cannot know the worker died), so resume ≈ max(start-up, heartbeat timeout − time already run).');
  L.push('');
  L.push(`**Goal** (issue 14): resume after SIGKILL at a gate ≤ ${fmt(z.goalMs)} ms with the worker's settings — measured ${ms(z.atGateSticky1s)} (${met(z.atGateSticky1s?.medianMs, z.goalMs)}).`);
  L.push('');

  // 5
  const c = r.cli ?? {};
  L.push(`## 5. The runbook CLI (${machine})`);
  L.push('');
  L.push(`Wall time of \`bin/runbook\` from spawn to exit, ${r.config?.cliRuns} runs after a warm-up: \`--help\`, and \`status\` of a real k3s-rejoin on the lab waiting at its first gate `
    + '(connect, one status query answered by a compiled worker, print). Compiled: `build/js` (scripts/build.mjs; bin/runbook rebuilds it first when a source is newer); '
    + 'tsx: `RUNBOOK_TSX=1`, the TypeScript transpiled on every start.');
  L.push('');
  L.push('| command | compiled | tsx | tsx / compiled | goal |');
  L.push('|---|---:|---:|---:|---:|');
  L.push(`| \`runbook --help\` | ${ms(c.help?.compiled)} | ${ms(c.help?.tsx)} | ${x(c.ratios?.helpTsxOverCompiled)} | ≤ ${fmt(c.goalsMs?.help)} ms (${met(c.help?.compiled?.medianMs, c.goalsMs?.help)}) |`);
  L.push(`| \`runbook status <id>\` | ${ms(c.status?.compiled)} | ${ms(c.status?.tsx)} | ${x(c.ratios?.statusTsxOverCompiled)} | ≤ ${fmt(c.goalsMs?.status)} ms (${met(c.status?.compiled?.medianMs, c.goalsMs?.status)}) |`);
  L.push('');
  L.push(`\`runbook plan k3s-rejoin --node k3s-vm-still-fawn\` on the stale lab (still-fawn's etcd member listed and dead), ${r.config?.planRuns ?? '—'} runs after a warm-up, compiled: `
    + `a whole dry run (every check and preflight through the lab's sshd, qm and etcd) from spawn to the plan printed: ${ms(c.planRejoin)} `
    + `(goal ≤ ${fmt(c.goalsMs?.planRejoin)} ms, ${met(c.planRejoin?.medianMs, c.goalsMs?.planRejoin)}). Each etcd read is one round trip that probes every member at once, `
    + 'a dead one for at most 1 s (src/activities/k3s/commands.ts `etcdView`, `HEALTH_PROBE_TIMEOUTS`). '
    + `Most checks read inside the node VMs through \`qm guest exec\`, which polls the guest agent once a second (qemu-server qm.pm \`exec\`, as the lab's qm does): `
    + `with the lab's agent polled every 40 ms instead, the same plan takes ${ms(c.planRejoinAgentPoll40ms)}.`);
  L.push('');
  L.push('`--help` loads only commander and the command definitions (src/client.ts); what a command does, and the Temporal SDK with it, loads when the command runs (src/cli/commands.ts).');
  L.push('');

  // 6
  if (cp) {
    L.push(`## 6. Phase 3's copy, CT → node (${machine})`);
    L.push('');
    L.push(`${cp.mib} MiB of recordings (${cp.files} segments) that the lab's Frigate LXC indexes, copied to the Frigate node VM, ${r.config?.copyRuns} interleaved runs after a warm-up of each, the node emptied before every run. `
      + 'Floor: `tar -cf -` in the CT (`pct exec` over one ssh2 channel) piped by the worker into `tar -xf -` on the node VM\'s own sshd (another channel). '
      + 'Engine: the copy-frigate-data activity (src/activities/frigate/stream-copy.ts): the same two channels per batch of `copy.batchMiB`, sha256 in the CT and on the node, '
      + 'the checked files renamed into place, the database snapshot, and the read-back of every file and row.');
    L.push('');
    L.push('| method | median | MiB/s | × floor |');
    L.push('|---|---:|---:|---:|');
    L.push(`| floor: raw tar \\| tar over two ssh2 channels | ${ms(cp.raw)} | ${fmt(cp.mib / (cp.raw.medianMs / 1000), 1)} | 1.00× |`);
    L.push(`| copy-frigate-data, streamed | ${ms(cp.engine)} | ${fmt(cp.mib / (cp.engine.medianMs / 1000), 1)} | ${x(cp.ratio)} (goal ≤ ${fmt(cp.goal, 1)}×, ${met(cp.ratio, cp.goal)}) |`);
    L.push(`| the old path (base64 through \`qm guest exec\`), timed on ${fmt(cp.oldPath.mib)} MiB, scaled to ${cp.mib} MiB | ${fmt(cp.oldPath.scaledMs / 1000)} s | ${fmt(cp.oldPath.mib / (cp.oldPath.ms / 1000), 2)} | ${x(cp.oldPath.scaledMs / cp.raw.medianMs)} |`);
    L.push('');
    L.push(`The lab's qm polls the guest agent every ${cp.agentPollMs} ms while a command runs, as qemu-server's qm.pm \`exec\` does (one status at once, then \`sleep 1\`): the old path pays it for every 512 KiB of base64.`);
    L.push('');
  }

  L.push('## How to run');
  L.push('');
  L.push('```bash');
  L.push('npm run bench                 # full sizes, ~10 min on 2 cores; writes bench/results.json, bench/ratios.svg, docs/benchmarks.md');
  L.push('npm run bench:smoke           # tiny sizes into .data/bench-smoke/ (what test/e2e/bench-smoke.test.ts runs)');
  L.push('BENCH_FLEET=20 BENCH_RUNS=5 npm run bench -- --no-ansible   # sizes: BENCH_STEPS, BENCH_RUNS, BENCH_FLEET, BENCH_FAN_STEPS, BENCH_*_RUNS');
  L.push('```');
  L.push('');
  L.push('Needs what `npm test` needs (root, openssh-server, etcd, the Temporal CLI) plus Debian\'s `ansible` for the Ansible rows (skipped when `ansible-playbook` is missing). '
    + 'Every process it starts (dev servers, lab, fleet sshd\'s, worker processes, Ansible\'s ControlPersist masters) is stopped at the end, also on failure or Ctrl-C.');
  L.push('');
  return L.join('\n');
}
