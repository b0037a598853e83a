import { resolve } from 'node:path';
import * as prettier from 'prettier';
import { describe, expect, it } from 'vitest';
import { FreshetError, InvalidInputError } from '@freshet/errors';
import {
  ConfigError,
  defineSettings,
  formatHelp,
  JOBMANAGER_SETTINGS,
  key,
  readSettings,
  settingsTable,
  spliceSettingsTables,
  TASKMANAGER_SETTINGS,
  type AnySetting,
  type ProcessSettings,
} from './index.js';

const DEMO = defineSettings({
  command: 'demo',
  summary: 'Runs the demo.',
  settings: {
    slots: key('--slots <n>').env('DEMO_SLOTS').intType(1, 8).defaultValue(2).withDescription('slots'),
    dir: key('--dir').env('DEMO_DIR').pathType().defaultValue('data').withDescription('where data goes'),
    mode: key('--mode <mode>').enumType(['fast', 'safe']).defaultValue('safe').withDescription('how to run'),
    name: key('--name <name>')
      .env('DEMO_NAME')
      .stringType()
      .noDefaultValue('the host name')
      .withDescription('display name'),
  },
});

const read = (argv: string[], env: Record<string, string> = {}) => {
  const result = readSettings(DEMO, { argv, env, cwd: '/srv' });
  if (result.help) throw new Error('unexpected help');
  return result.config;
};

describe('readSettings', () => {
  it('takes flags over environment variables over defaults', () => {
    expect(read([])).toEqual({ slots: 2, dir: resolve('/srv/data'), mode: 'safe', name: undefined });
    expect(read(['--slots', '3'], { DEMO_SLOTS: '5', DEMO_NAME: 'n1' })).toMatchObject({
      slots: 3,
      name: 'n1',
    });
    expect(read([], { DEMO_SLOTS: '5' })).toMatchObject({ slots: 5 });
  });

  it('treats an empty environment variable as unset', () => {
    expect(read([], { DEMO_SLOTS: '' })).toMatchObject({ slots: 2 });
  });

  it('resolves relative paths against the working directory, given or default', () => {
    expect(read(['--dir', 'x/y'])).toMatchObject({ dir: resolve('/srv/x/y') });
    expect(read([], { DEMO_DIR: '/abs' })).toMatchObject({ dir: resolve('/abs') });
  });

  it('names every bad setting as the user wrote it, in one ConfigError', () => {
    let error: unknown;
    try {
      read(['--mode', 'slow', '--name', ' '], { DEMO_SLOTS: '9' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error).toBeInstanceOf(FreshetError);
    expect(error).toMatchObject({
      name: 'ConfigError',
      code: 'INVALID_INPUT',
      message:
        'Invalid configuration: DEMO_SLOTS must be an integer 1-8 (got "9"); --mode must be one of fast, safe (got "slow"); --name must not be empty (got " ")',
    });
  });

  it('rejects unknown flags, positionals and flags without a value', () => {
    expect(() => read(['--nope'])).toThrow(
      /^Invalid configuration: Unknown option '--nope'.* \(see --help\)$/,
    );
    expect(() => read(['stray'])).toThrow(ConfigError);
    expect(() => read(['--slots'])).toThrow(/--slots <value>' argument missing/);
  });

  it('recognises -h and --help', () => {
    expect(readSettings(DEMO, { argv: ['-h'], env: {}, cwd: '/' })).toEqual({ help: true });
    expect(readSettings(DEMO, { argv: ['--slots', 'x', '--help'], env: {}, cwd: '/' })).toEqual({
      help: true,
    });
  });
});

describe('defineSettings', () => {
  it('refuses two settings with one flag or one environment variable', () => {
    const a = key('--a').env('X').intType(0, 1).defaultValue(0).withDescription('a');
    expect(() => defineSettings({ command: 'c', summary: '', settings: { a, b: a } })).toThrow(
      'flag --a is taken',
    );
    const b = key('--b').env('X').intType(0, 1).defaultValue(0).withDescription('b');
    expect(() => defineSettings({ command: 'c', summary: '', settings: { a, b } })).toThrow(
      'environment variable X is taken',
    );
  });

  it('refuses malformed keys and undescribed settings', () => {
    expect(() => key('port')).toThrow(TypeError);
    expect(() => key('--port').env('port')).toThrow(TypeError);
    const blank = key('--a').intType(0, 1).defaultValue(0).withDescription(' ');
    expect(() => defineSettings({ command: 'c', summary: '', settings: { blank } })).toThrow(
      'has no description',
    );
  });
});

describe('formatHelp', () => {
  it('lists every setting with its flag, description, environment variable and default', () => {
    expect(formatHelp(DEMO)).toBe(`Usage: demo [options]

Runs the demo.
Flags win over environment variables.

Options:
  --slots <n>    slots (env DEMO_SLOTS, default 2)
  --dir <dir>    where data goes (env DEMO_DIR, default data)
  --mode <mode>  how to run, one of fast, safe (default safe)
  --name <name>  display name (env DEMO_NAME, default: the host name)
  -h, --help     show this help
`);
    expect(formatHelp(DEMO, 'freshet demo')).toMatch(/^Usage: freshet demo \[options\]\n/);
  });

  it('covers every JobManager and TaskManager setting', () => {
    const processes: ProcessSettings[] = [JOBMANAGER_SETTINGS, TASKMANAGER_SETTINGS];
    for (const declared of processes) {
      const help = formatHelp(declared);
      const settings: readonly AnySetting[] = Object.values(declared.settings);
      for (const s of settings) {
        const line = help.split('\n').find((l) => l.startsWith(`  ${s.flag} `));
        expect(line, s.flag).toBeDefined();
        expect(line).toContain(s.description);
        expect(line).toContain(`env ${s.env!}`);
        expect(line).toContain(s.defaultText);
      }
    }
  });
});

describe('settingsTable', () => {
  it('is a Markdown table that Prettier leaves as it is', async () => {
    for (const declared of [DEMO, JOBMANAGER_SETTINGS, TASKMANAGER_SETTINGS]) {
      const table = settingsTable(declared);
      const formatted = await prettier.format(table, { parser: 'markdown', printWidth: 110 });
      expect(formatted).toBe(`${table}\n`);
    }
  });

  it('shows values as code and escapes pipes', () => {
    const table = settingsTable(
      defineSettings({
        command: 'c',
        summary: '',
        settings: { a: key('--a').intType(0, 1).noDefaultValue('x | y').withDescription('a|b') },
      }),
    );
    expect(table.split('\n')[2]).toBe('| `--a <n>` |     | x \\| y  | a\\|b        |');
  });

  it('replaces what sits between the markers, and only that', () => {
    const text =
      'before\n<!-- settings:demo (generated by pnpm docs:settings; edit packages/settings) -->\nold\n<!-- /settings:demo -->\nafter\n';
    const out = spliceSettingsTables(text, { demo: DEMO });
    expect(out).toBe(
      `before\n<!-- settings:demo (generated by pnpm docs:settings; edit packages/settings) -->\n\n${settingsTable(DEMO)}\n\n<!-- /settings:demo -->\nafter\n`,
    );
    expect(spliceSettingsTables(out, { demo: DEMO })).toBe(out);
    expect(() => spliceSettingsTables('no markers', { demo: DEMO })).toThrow(
      'lacks the markers of section demo',
    );
  });
});
