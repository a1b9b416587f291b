#!/usr/bin/env node
/** xstack command line: parses arguments, calls the library, renders results. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { compileOrg, type CompiledOrg } from './compile';
import { XstackError } from './errors';
import { loadOrgFile } from './org/load';
import { replaceFolder } from './write';

const USAGE = `usage: xstack compile [ORG_FILE ...] [--out DIR]

Compiles each organization file (default: every parameters/*.yaml) to
DIR/<file stem>/ (default DIR: dist): one CloudFormation template per stage,
per-account parameter files and manifest.json. DIR is replaced as a whole, or
left as it was if anything fails.`;

class UsageError extends Error {}

function parseArgs(argv: string[]): { command: string; files: string[]; out: string } {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h') throw new UsageError('');
  if (command !== 'compile') throw new UsageError(`unknown command '${command}'`);
  const files: string[] = [];
  let out = 'dist';
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (arg === '--out') {
      const value = rest[++i];
      if (!value) throw new UsageError('--out needs a folder');
      out = value;
    } else if (arg.startsWith('-')) throw new UsageError(`unknown option '${arg}'`);
    else files.push(arg);
  }
  return { command, files, out };
}

const defaultOrgFiles = () =>
  readdirSync('parameters')
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort()
    .map((f) => join('parameters', f));

function summary(c: CompiledOrg, out: string): string {
  const lines = [`${c.org.file} → ${join(out, c.org.name)}/: ${c.stages.length} stages in ${c.rollout.waves.length} waves, ${c.files.size} files`];
  c.rollout.waves.forEach((wave, i) => lines.push(`  wave ${i + 1}: ${wave.join(', ')}`));
  for (const s of c.stages) for (const note of s.notes) lines.push(`  note ${s.id}: ${note}`);
  return lines.join('\n');
}

export function main(argv: string[]): number {
  let args;
  try {
    args = parseArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    if (error.message) process.stderr.write(`xstack: ${error.message}\n`);
    (error.message ? process.stderr : process.stdout).write(`${USAGE}\n`);
    return error.message ? 2 : 0;
  }
  try {
    const files = args.files.length > 0 ? args.files : defaultOrgFiles();
    if (files.length === 0) throw new UsageError('no organization files in parameters/');
    const compiled = files.map((f) => compileOrg(loadOrgFile(f)));
    const names = new Set<string>();
    const all = new Map<string, string>();
    for (const c of compiled) {
      if (names.has(c.org.name)) throw new UsageError(`two organization files are named '${c.org.name}'`);
      names.add(c.org.name);
      for (const [path, text] of c.files) all.set(`${c.org.name}/${path}`, text);
    }
    replaceFolder(args.out, all);
    process.stdout.write(`${compiled.map((c) => summary(c, args.out)).join('\n')}\n`);
    return 0;
  } catch (error) {
    if (error instanceof XstackError || error instanceof UsageError) {
      process.stderr.write(`xstack: ${error.message}\n${args.out} was left as it was.\n`);
      return 1;
    }
    throw error;
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
