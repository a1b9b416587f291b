// Benchmark of the compiler as users run it: the whole `node .build/src/cli.js
// compile` process, wall time and peak resident memory, median of RUNS runs.
// Output goes to the OS temp folder: on this workplace /work's disk is several
// times slower for the 4,000 small files of the 1,000-account case.
// Usage: make bench   (writes bench/out/ and a temp folder; prints a Markdown table)
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateOrgYaml, generateTeamsOrgYaml } from './generate-org.mjs';

const RUNS = 7;
const out = 'bench/out';
mkdirSync(out, { recursive: true });
const big = join(out, 'org-1000.yaml');
writeFileSync(big, generateOrgYaml(1000));
// Many teams (issue #12): per team one source account and one pipeline account
// per environment (dev, staging, prod), two repositories; plus a tools account.
// 250 teams are 1,000 team accounts (250 × (1 source + 3 pipeline)), 1,001 with tools.
const teams100 = join(out, 'org-teams-100.yaml');
writeFileSync(teams100, generateTeamsOrgYaml(100));
const teams250 = join(out, 'org-teams-250.yaml');
writeFileSync(teams250, generateTeamsOrgYaml(250));

function measure(label, args) {
  const samples = [];
  for (let i = 0; i < RUNS; i++) {
    const run = spawnSync('/usr/bin/time', ['-f', '%e %M', 'node', '.build/src/cli.js', 'compile', ...args, '--out', join(tmpdir(), 'xstack-bench-dist')], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`${label} failed:\n${run.stderr}`);
    const [wall, kb] = run.stderr.trim().split('\n').pop().split(' ').map(Number);
    samples.push({ wall, mb: kb / 1024 });
  }
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return { label, wall: median(samples.map((s) => s.wall)), mb: median(samples.map((s) => s.mb)) };
}

const node = execFileSync('node', ['--version'], { encoding: 'utf8' }).trim();
const rows = [
  measure('example org (4 accounts)', ['parameters/example.yaml']),
  measure('generated org (1,000 pipeline accounts)', [big]),
  measure('many teams: 100 teams (401 accounts, 200 pipelines)', [teams100]),
  measure('many teams: 250 teams (1,001 accounts, 500 pipelines)', [teams250]),
];
console.log(`node ${node}, ${RUNS} runs each, median\n`);
console.log('| case | wall (s) | peak RSS (MB) |\n|---|---|---|');
for (const r of rows) console.log(`| ${r.label} | ${r.wall.toFixed(2)} | ${r.mb.toFixed(0)} |`);
