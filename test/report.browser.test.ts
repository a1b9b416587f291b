/**
 * The auditor's HTML report in a real browser (Debian's Chromium, driven by
 * playwright-core): it renders offline, the rollout graph is visible, and
 * every link inside it lands on its section. The screenshot goes to
 * test/artifacts/ (not committed).
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileFile } from './helpers';

const REPORT = resolve('dist/example/audit/report.html');
let browser: Browser;

beforeAll(async () => {
  browser = await chromium.launch({
    executablePath: process.env.XSTACK_CHROMIUM ?? '/usr/bin/chromium',
    // No network: the page must need none, and Chromium's own background traffic is refused here.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
afterAll(async () => {
  await browser?.close();
});

describe('audit report in a browser', () => {
  it('renders without any request leaving the file, with the graph visible and working links', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(`file://${REPORT}`);
    expect(await page.title()).toBe('xstack audit: example');
    expect(requests.filter((u) => !u.startsWith('file://'))).toEqual([]);

    const graph = page.locator('figure.graph svg');
    await expect.poll(() => graph.isVisible()).toBe(true);
    const box = (await graph.boundingBox())!;
    expect(box.width).toBeGreaterThan(800);
    expect(box.height).toBeGreaterThan(150);
    const { stages } = compileFile('parameters/example.yaml');
    expect(await page.locator('figure.graph svg g.stage').count()).toBe(stages.length);

    // Every in-page link has a target.
    const broken = await page.evaluate(() =>
      [...document.querySelectorAll('a[href^="#"]')].map((a) => a.getAttribute('href')!.slice(1)).filter((id) => !document.getElementById(id)),
    );
    expect(broken).toEqual([]);

    // A node of the graph leads to its stage's section; the navigation to a matrix.
    await page.locator('figure.graph a[href="#stage-pipeline-foundation"]').click();
    expect(page.url()).toMatch(/#stage-pipeline-foundation$/);
    await expect.poll(() => page.locator('#stage-pipeline-foundation h3').isVisible()).toBe(true);
    expect(await page.locator('#stage-pipeline-foundation').evaluate((e) => e.getBoundingClientRect().top)).toBeLessThan(200);
    await page.locator('nav a[href="#access"]').click();
    expect(await page.locator('#access table tbody tr').count()).toBeGreaterThan(50);

    mkdirSync('test/artifacts', { recursive: true });
    await page.goto(`file://${REPORT}`);
    await page.screenshot({ path: join('test/artifacts', 'audit-report.png'), fullPage: false });
    await page.close();
  });
});
