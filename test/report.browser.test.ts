// The functions given to page.evaluate run in the browser: they use the DOM's names (and iterate its lists).
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The auditor's HTML report in a real browser (Debian's Chromium, driven by
 * playwright-core): it renders offline, the rollout graph is visible, and
 * every link inside it lands on its section; at 800, 1,280 and 1,920 px
 * no short column wraps, no word breaks inside, refused rows are marked and
 * the graph's last stage can be reached. Screenshots go to test/artifacts/
 * (not committed).
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

    await page.close();
  });

  for (const width of [800, 1280, 1920]) {
    it(`is readable ${width} px wide: short columns on one line, refused rows marked, the whole graph reachable`, async () => {
      const page = await browser.newPage({ viewport: { width, height: 900 } });
      await page.goto(`file://${REPORT}`);
      // No text of the result ("allowed"/"refused") or "may" columns wraps: each such cell is one line of text.
      const wrapped = await page.evaluate(() =>
        [...document.querySelectorAll('td.tight')]
          .filter((td) => {
            const range = document.createRange();
            range.selectNodeContents(td);
            return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size > 1;
          })
          .map((td) => td.textContent),
      );
      expect(wrapped).toEqual([]);
      // No word in any cell is broken inside: every word of a cell's text sits on one line.
      const broken = await page.evaluate(() => {
        const out: string[] = [];
        for (const td of document.querySelectorAll('#access td, #reach-key td')) {
          const text = td.firstChild;
          if (!text || text.nodeType !== Node.TEXT_NODE) continue;
          const s = text.textContent ?? '';
          for (const m of s.matchAll(/[A-Za-z]{4,}/g)) {
            const range = document.createRange();
            range.setStart(text, m.index!);
            range.setEnd(text, m.index! + m[0].length);
            if (new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size > 1) out.push(m[0]);
          }
        }
        return out;
      });
      expect(broken).toEqual([]);
      // Refused rows look different from allowed ones.
      const colours = await page.evaluate(() => {
        const rows = [...document.querySelectorAll('#access tbody tr')];
        const bg = (tr: Element | undefined) => (tr ? getComputedStyle(tr.querySelector('td')!).backgroundColor : '');
        return { refused: bg(rows.find((r) => r.classList.contains('refused'))), allowed: bg(rows.find((r) => !r.classList.contains('refused'))) };
      });
      expect(colours.refused).not.toBe('');
      expect(colours.refused).not.toBe(colours.allowed);
      // The graph's right-most stage is visible, or reachable by scrolling the graph sideways.
      const graph = page.locator('figure.graph');
      await graph.scrollIntoViewIfNeeded();
      await graph.evaluate((f) => (f.scrollLeft = f.scrollWidth));
      const right = await page.evaluate(() => {
        const rects = [...document.querySelectorAll('figure.graph g.stage rect')].map((r) => r.getBoundingClientRect());
        const last = rects.reduce((a, b) => (b.right > a.right ? b : a));
        const figure = document.querySelector('figure.graph')!.getBoundingClientRect();
        return { stage: last.right, figure: figure.right, viewport: window.innerWidth, page: document.documentElement.scrollWidth };
      });
      expect(right.stage).toBeLessThanOrEqual(right.figure + 1);
      expect(right.stage).toBeLessThanOrEqual(right.viewport);
      // The page itself never scrolls sideways.
      expect(right.page).toBeLessThanOrEqual(width);
      mkdirSync('test/artifacts', { recursive: true });
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.screenshot({ path: join('test/artifacts', `audit-report-${width}.png`), fullPage: false });
      await page.locator('#access').scrollIntoViewIfNeeded();
      await page.screenshot({ path: join('test/artifacts', `audit-report-${width}-access.png`), fullPage: false });
      await page.close();
    });
  }
});
