/**
 * A forwarder on 127.0.0.1 in front of an endpoint (moto's server) that counts the requests it passes, by action: the
 * attempts clients make, where their own middleware (CallLog, at `initialize`) counts a call once whatever its retries.
 */
import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RequestCounter {
  readonly endpoint: string;
  /** The requests of `action` passed since the start or the last `reset`. */
  count(action: string): number;
  reset(): void;
  stop(): Promise<void>;
}

/** The query protocol's Action in a form body (CloudFormation, IAM, STS), else the JSON protocol's X-Amz-Target. */
function actionOf(req: IncomingMessage, body: Buffer): string {
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string') return target.slice(target.lastIndexOf('.') + 1);
  return new URLSearchParams(body.toString('utf8')).get('Action') ?? `${req.method} ${req.url}`;
}

export async function startRequestCounter(target: string): Promise<RequestCounter> {
  const counts = new Map<string, number>();
  const to = new URL(target);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const action = actionOf(req, body);
      counts.set(action, (counts.get(action) ?? 0) + 1);
      const forwarded = request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      forwarded.on('error', () => res.destroy());
      forwarded.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    count: (action) => counts.get(action) ?? 0,
    reset: () => counts.clear(),
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Clients keep their connections open: closed here, not at the server's keep-alive timeout.
        server.closeAllConnections();
      }),
  };
}
