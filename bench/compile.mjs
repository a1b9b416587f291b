// Benchmark of the compiler as users run it: the whole `node .build/src/cli.js
// compile` process, wall time, CPU time and peak resident memory, median of RUNS runs.
// Output goes to the OS temp folder: on this workplace /work's disk is several
// times slower for the 4,000 small files of the 1,000-account case.
// Usage: make bench   (writes bench/out/ and a temp folder; prints a Markdown table)
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { generateOrgYaml, generateTeamsOrgYaml } from './generate-org.mjs';

const RUNS = 7;
const out = 'bench/out';
mkdirSync(out, { recursive: true });
// Layout files a compile wrote beside the bench orgs before (src/stages/layout.ts): gone, so that every bench
// starts as a first compile; its first run writes them and the other runs read them, as a user's compiles do.
for (const f of readdirSync(out)) if (f.endsWith('.layout.json')) rmSync(join(out, f));
const big = join(out, 'org-1000.yaml');
writeFileSync(big, generateOrgYaml(1000));
// Many teams (issue #12): per team one source account and one pipeline account
// per environment (dev, staging, prod), two repositories; plus a tools account.
// 250 teams are 1,000 team accounts (250 × (1 source + 3 pipeline)), 1,001 with tools.
const teams100 = join(out, 'org-teams-100.yaml');
writeFileSync(teams100, generateTeamsOrgYaml(100));
const teams250 = join(out, 'org-teams-250.yaml');
writeFileSync(teams250, generateTeamsOrgYaml(250));
// The most teams 1,000 accounts can hold: 500 teams of one source and one pipeline account (prod), one repository
// each, so that every per-team cost is paid 500 times (1,001 accounts with tools).
const teams500 = join(out, 'org-teams-500x1.yaml');
writeFileSync(teams500, generateTeamsOrgYaml(500, { repositoriesPerTeam: 1, environments: ['prod'] }));

/** Bytes and files under a folder: what a compile writes. */
function sizeOf(dir) {
  let bytes = 0;
  let files = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    bytes += statSync(join(entry.parentPath ?? entry.path, entry.name)).size;
    files++;
  }
  return { bytes, files };
}

function measure(label, args) {
  const samples = [];
  const dist = join(tmpdir(), 'xstack-bench-dist');
  for (let i = 0; i < RUNS; i++) {
    const run = spawnSync('/usr/bin/time', ['-f', '%e %M %U %S', 'node', '.build/src/cli.js', 'compile', ...args, '--out', dist], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`${label} failed:\n${run.stderr}`);
    const [wall, kb, user, system] = run.stderr.trim().split('\n').pop().split(' ').map(Number);
    samples.push({ wall, mb: kb / 1024, cpu: user + system });
  }
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  // The org's folder is named by the org file's stem.
  const org = basename(args[0]).replace(/\.ya?ml$/, '');
  return { label, wall: median(samples.map((s) => s.wall)), cpu: median(samples.map((s) => s.cpu)), mb: median(samples.map((s) => s.mb)), output: sizeOf(join(dist, org)) };
}

const node = execFileSync('node', ['--version'], { encoding: 'utf8' }).trim();
// Wall time moves with whatever else the machine runs, and on a shared machine CPU time (user + system, all of
// node's threads) moves with it too; the load average says how busy it was. Compare builds by interleaved runs.
const load = loadavg()[0];
const rows = [
  measure('example org (4 accounts)', ['parameters/example.yaml']),
  measure('generated org (1,000 pipeline accounts)', [big]),
  measure('many teams: 100 teams (401 accounts, 200 pipelines)', [teams100]),
  measure('many teams: 250 teams (1,001 accounts, 500 pipelines)', [teams250]),
  measure('many teams: 500 teams of two accounts (1,001 accounts, 500 pipelines)', [teams500]),
];
console.log(`node ${node}, ${RUNS} runs each, median; load average ${load.toFixed(2)} at the start\n`);
console.log('| case | wall (s) | CPU (s) | peak RSS (MB) | output (MB, files) |\n|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.label} | ${r.wall.toFixed(2)} | ${r.cpu.toFixed(2)} | ${r.mb.toFixed(0)} | ${(r.output.bytes / 1e6).toFixed(1)}, ${r.output.files} |`);
