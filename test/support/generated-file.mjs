// What the table generators under test/support share: write the generated text, or with --check write nothing and
// exit 1 when the file is not that text (the freshness tests run the generators so).
import { readFileSync, writeFileSync } from 'node:fs';

/**
 * @param {string} path the generated file
 * @param {string} text what it should hold
 * @param {{ check: boolean, regenerate: string, summary: string }} how `regenerate`: the command that rewrites it
 */
export function writeOrCheck(path, text, { check, regenerate, summary }) {
  if (!check) {
    writeFileSync(path, text);
    console.log(summary);
    return;
  }
  let current = '';
  try {
    current = readFileSync(path, 'utf8');
  } catch {}
  if (current !== text) {
    console.error(`${path} is not current for cfn-lint's schemas: run ${regenerate}`);
    process.exit(1);
  }
  console.log(`${path} is current (${summary})`);
}
