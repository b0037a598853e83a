/**
 * Every program in examples/ uploads from the browser as a folder (the
 * examples import sibling helpers: ../args.js, ./common.js), plans and runs
 * to FINISHED on the real cluster; WordCount also as a .zip and as a
 * pre-bundled .mjs from `freshet bundle`.
 */
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { zipSync } from 'fflate';
import type { Page } from '@playwright/test';
import { artifactsDir, repoRoot } from '../support/cluster.js';
import { expect, test } from '../support/fixtures.js';

const shot = (name: string): string => join(artifactsDir, `${name}.png`);
const JOB_TIMEOUT = 60_000;

let work: string;
/** A copy of examples/ without its node_modules (pnpm's links into the workspace): what a user would pick. */
let project: string;
let inputs: { words: string; log: string; transactions: string };
/** The customer service `async/enrich.ts` looks orders up in, on loopback. */
let customers: Server;
let customerService: string;

test.beforeAll(async () => {
  customers = createServer((req, res) => {
    const id = Number(/\/customers\/(\d+)$/.exec(req.url ?? '')?.[1]);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id, name: `customer-${id}`, tier: id % 3 === 0 ? 'gold' : 'basic' }));
  });
  await new Promise<void>((resolve) => customers.listen(0, '127.0.0.1', resolve));
  customerService = `http://127.0.0.1:${(customers.address() as { port: number }).port}`;

  work = mkdtempSync(join(tmpdir(), 'freshet-e2e-examples-'));
  project = join(work, 'examples');
  cpSync(join(repoRoot, 'examples'), project, {
    recursive: true,
    filter: (src) => !relative(join(repoRoot, 'examples'), src).split('/').includes('node_modules'),
  });
  inputs = {
    words: join(work, 'words.txt'),
    log: join(work, 'access.log'),
    transactions: join(work, 'tx.jsonl'),
  };
  writeFileSync(inputs.words, 'to be or not to be\nthat is the question\n'.repeat(50));
  const log: string[] = [];
  for (let i = 0; i < 600; i++) {
    const status = i % 10 === 0 ? 503 : 200;
    const second = String(i % 60).padStart(2, '0');
    const minute = String(Math.floor(i / 60)).padStart(2, '0');
    log.push(
      `10.0.0.${i % 250} - - [01/May/2024:12:${minute}:${second} +0000] "GET /p${i % 5} HTTP/1.1" ${status} 512 "-" "e2e"`,
    );
  }
  writeFileSync(inputs.log, `${log.join('\n')}\n`);
  const tx: string[] = [];
  let t = Date.UTC(2024, 0, 1);
  for (let i = 0; i < 500; i++) {
    t += 1000;
    tx.push(
      JSON.stringify({
        accountId: `a${i % 7}`,
        amount: i % 50 === 0 ? 0.5 : i % 50 === 1 ? 900 : 20,
        timestamp: t,
      }),
    );
  }
  writeFileSync(inputs.transactions, `${tx.join('\n')}\n`);
});

test.afterAll(() => {
  customers.closeAllConnections();
  customers.close();
  rmSync(work, { recursive: true, force: true });
});

/** Every example program, with arguments that end it. */
const EXAMPLES: { entry: string; args: () => string }[] = [
  { entry: 'wordcount/wordcount.ts', args: () => `--input ${inputs.words}` },
  { entry: 'logs/log-pipeline.ts', args: () => `--input ${inputs.log}` },
  { entry: 'fraud/fraud-detection.ts', args: () => `--input ${inputs.transactions}` },
  { entry: 'metrics/word-stats.ts', args: () => '--lines 500' },
  { entry: 'async/enrich.ts', args: () => `--service ${customerService} --orders 300` },
  ...['q0', 'q1', 'q2', 'q3', 'q4', 'q5', 'q7', 'q8'].map((q) => ({
    entry: `nexmark/${q}.ts`,
    args: () => '--events 3000 --seed 7',
  })),
];

/**
 * Example programs that read from a broker (Kafka) and never end: the browser
 * test uploads and plans them; their run is tested beside them against a real
 * broker (examples/logs/kafka-log-pipeline*.test.ts).
 */
const PLAN_ONLY: { entry: string; args: string }[] = [
  {
    entry: 'logs/kafka-log-pipeline.ts',
    args: '--bootstrap-servers 127.0.0.1:9 --postgres postgres://127.0.0.1:9/none',
  },
];

test('every program of examples/ is one the examples README lists', () => {
  const programs = readdirSync(project, { recursive: true, encoding: 'utf8' })
    .filter((p) => statSync(join(project, p)).isFile())
    .filter((p) => /\.ts$/.test(p) && !/\.test\.ts$/.test(p))
    .filter((p) => /export default defineProgram/.test(readFileSync(join(project, p), 'utf8')))
    .sort();
  expect(programs).toEqual([...EXAMPLES, ...PLAN_ONLY].map((e) => e.entry).sort());
  const readme = readFileSync(join(project, 'README.md'), 'utf8');
  for (const p of programs) {
    // The Nexmark queries have a table of their own, one row per query.
    const q = /^nexmark\/(q\d+)\.ts$/.exec(p)?.[1];
    expect(readme, `examples/README.md lists ${p}`).toContain(q ? `| ${q} ` : `\`${p}\``);
  }
});

/** Shows the plan and runs the uploaded program until it finishes; returns the job page. */
async function planAndRun(page: Page, args: string, screenshot?: string): Promise<void> {
  await page.getByRole('textbox', { name: 'Arguments' }).fill(args);
  await page.getByRole('button', { name: 'Show plan' }).click();
  const plan = page.getByRole('group', { name: 'Optimized JobGraph of the program' });
  await expect(plan.getByTestId('vertex-node').first()).toBeVisible({ timeout: 30_000 });
  if (screenshot) await page.screenshot({ path: shot(`${screenshot}-plan`), fullPage: true });
  await page.getByRole('button', { name: 'Run' }).click();
  await expect(page).toHaveURL(/\/jobs\/[^/]+$/, { timeout: 30_000 });
  const status = page.getByRole('heading', { level: 1 }).getByTestId('job-status');
  await expect(status).toHaveText('FINISHED', { timeout: JOB_TIMEOUT });
  if (screenshot) await page.screenshot({ path: shot(`${screenshot}-finished`), fullPage: true });
}

for (const example of EXAMPLES) {
  test(`examples/${example.entry} uploads as a folder, plans and runs`, async ({ page, cluster }) => {
    await page.goto(`${cluster.webUrl}/submit`);
    await page.getByLabel('Program folder').setInputFiles(project);
    const entry = page.getByLabel('Entry file');
    await expect(entry).toBeVisible();
    // Several program files: nothing is sent until the entry is chosen.
    await expect(page.getByTestId('upload-choose-entry')).toContainText('Choose the entry file of examples/');
    await entry.selectOption(`examples/${example.entry}`);
    await expect(page.getByTestId('upload-ok')).toContainText(`examples/${example.entry}`, {
      timeout: 60_000,
    });
    const name = example.entry.replace(/[/.]/g, '-');
    await planAndRun(
      page,
      example.args(),
      example.entry.startsWith('wordcount') ? `example-${name}` : undefined,
    );
  });
}

for (const example of PLAN_ONLY) {
  test(`examples/${example.entry} uploads as a folder and plans`, async ({ page, cluster }) => {
    await page.goto(`${cluster.webUrl}/submit`);
    await page.getByLabel('Program folder').setInputFiles(project);
    await page.getByLabel('Entry file').selectOption(`examples/${example.entry}`);
    await expect(page.getByTestId('upload-ok')).toContainText(`examples/${example.entry}`, {
      timeout: 60_000,
    });
    await page.getByRole('textbox', { name: 'Arguments' }).fill(example.args);
    await page.getByRole('button', { name: 'Show plan' }).click();
    const plan = page.getByRole('group', { name: 'Optimized JobGraph of the program' });
    await expect(plan.getByTestId('vertex-node').first()).toBeVisible({ timeout: 30_000 });
  });
}

test('a project uploads as a .zip and a program pre-bundled by freshet bundle uploads too', async ({
  page,
  cluster,
}) => {
  const files: Record<string, Uint8Array> = {};
  for (const p of readdirSync(project, { recursive: true, encoding: 'utf8' })) {
    if (statSync(join(project, p)).isFile())
      files[`examples/${p}`] = new Uint8Array(readFileSync(join(project, p)));
  }
  await page.goto(`${cluster.webUrl}/submit`);
  await page.getByLabel('Program file').setInputFiles({
    name: 'examples.zip',
    mimeType: 'application/zip',
    buffer: Buffer.from(zipSync(files)),
  });
  await page.getByLabel('Entry file').selectOption('examples/wordcount/wordcount.ts');
  await expect(page.getByTestId('upload-ok')).toContainText('examples/wordcount/wordcount.ts', {
    timeout: 60_000,
  });
  await page.screenshot({ path: shot('submit-zip-project'), fullPage: true });
  await planAndRun(page, `--input ${inputs.words}`);

  const bundle = join(work, 'out', 'q5.mjs');
  mkdirSync(join(work, 'out'), { recursive: true });
  execFileSync(
    process.execPath,
    [join(repoRoot, 'packages/cli/dist/bin.js'), 'bundle', join(project, 'nexmark/q5.ts'), '-o', bundle],
    {
      stdio: 'pipe',
    },
  );
  await page.goto(`${cluster.webUrl}/submit`);
  await page.getByLabel('Program file').setInputFiles(bundle);
  await expect(page.getByTestId('upload-ok')).toContainText('q5.mjs', { timeout: 60_000 });
  await planAndRun(page, '--events 3000 --seed 7', 'bundled-q5');
});

test('a compile error in an imported file of a folder points at that file', async ({
  page,
  cluster,
  consoleErrors,
}) => {
  const broken = join(work, 'broken');
  mkdirSync(join(broken, 'lib'), { recursive: true });
  writeFileSync(
    join(broken, 'main.ts'),
    "import { defineProgram } from '@freshet/api';\nimport { twice } from './lib/twice.js';\n\nexport default defineProgram((env) => {\n  env.fromSequence(1, 10).map(twice).discard();\n});\n",
  );
  writeFileSync(
    join(broken, 'lib/twice.ts'),
    'export function twice(n: number): number {\n  const s: string = n;\n  return n * 2;\n}\n',
  );
  await page.goto(`${cluster.webUrl}/submit`);
  await page.getByLabel('Program folder').setInputFiles(broken);
  await page.getByLabel('Entry file').selectOption('broken/main.ts');
  const diagnostics = page.getByRole('alert').filter({ hasText: 'does not compile' });
  await expect(diagnostics).toBeVisible({ timeout: 60_000 });
  await expect(diagnostics.getByTestId('diagnostic').first()).toContainText('lib/twice.ts:2:9');
  await expect(diagnostics.getByTestId('diagnostic').first().locator('pre')).toContainText(
    '> 2 |   const s: string = n;',
  );
  await page.screenshot({ path: shot('submit-project-error'), fullPage: true });
  const unexpected = consoleErrors.filter(
    (e) => !/Failed to load resource: .* 400 .*\/trpc\/artifacts\.upload/.test(e),
  );
  consoleErrors.length = 0;
  expect(unexpected).toEqual([]);
});

test('several files dropped on the page upload as one project', async ({ page, cluster }) => {
  await page.goto(`${cluster.webUrl}/submit`);
  const files = {
    'main.ts':
      "import { defineProgram } from '@freshet/api';\nimport { twice } from './twice.js';\n\nexport default defineProgram((env) => {\n  env.setJobName('e2e dropped files');\n  env.fromSequence(1, 100).map(twice).collect('doubled');\n});\n",
    'twice.ts': 'export function twice(n: number): number {\n  return n * 2;\n}\n',
  };
  const transfer = await page.evaluateHandle((contents) => {
    const dt = new DataTransfer();
    for (const [name, text] of Object.entries(contents))
      dt.items.add(new File([text], name, { type: 'text/plain' }));
    return dt;
  }, files);
  await page.getByTestId('dropzone').dispatchEvent('drop', { dataTransfer: transfer });
  await expect(page.getByTestId('upload-choose-entry')).toContainText('2 files');
  await page.getByLabel('Entry file').selectOption('main.ts');
  await expect(page.getByTestId('upload-ok')).toContainText('main.ts', { timeout: 60_000 });
  await planAndRun(page, '');
  await page.getByRole('tab', { name: 'Output' }).click();
  await expect(page.getByTestId('output-record')).toHaveCount(100, { timeout: 15_000 });
  await expect(page.getByTestId('output-record').locator('code').filter({ hasText: /^200$/ })).toHaveCount(1);
});
