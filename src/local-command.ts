/**
 * `xstack local`: the local AWS of `--local` (src/deploy/local.ts), started
 * once and kept until Ctrl-C, so that plan, deploy, verify and destroy run
 * against one emulator and see what the others did.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';

type Act = <A extends unknown[]>(fn: (...args: A) => number | Promise<number>) => (...args: A) => Promise<void>;

function port(value: string): number {
  const n = Number(value);
  if (!/^\d{1,5}$/.test(value) || n < 1 || n > 65535) throw new InvalidArgumentError('not a port number (1-65535)');
  return n;
}

export function registerLocal(program: Command, act: Act): void {
  program
    .command('local')
    .summary('run a local AWS (moto on 127.0.0.1) until Ctrl-C, for --local and --endpoint')
    .description(
      "Starts moto's server on 127.0.0.1 (with xstack's fixes where moto parts from CloudFormation, src/deploy/local.ts) and keeps it until Ctrl-C. " +
        'While it runs, --local on plan, deploy, destroy, verify and bootstrap runs against it (each run bootstraps the org there first), ' +
        'so a deploy is there for the next plan, verify or destroy; without it, --local starts an empty one for that command alone. ' +
        'It prints its endpoint for --endpoint or AWS_ENDPOINT_URL (credentials: AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing). ' +
        'Everything in it is in memory: gone when it stops. One per user at a time.',
    )
    .addOption(new Option('--port <N>', 'port on 127.0.0.1 (default: a free one)').argParser(port))
    .action(
      act(async (opts: { port?: number }) => {
        // Loaded here: the other commands do not need it.
        const { serveLocalAws } = await import('./deploy/local.js');
        return serveLocalAws({ port: opts.port }, (text) => void process.stdout.write(text));
      }),
    );
}
