/** The `--help` text of a process, generated from its settings. */
import type { AnySetting } from './setting.js';
import type { ProcessSettings } from './settings.js';

/** A setting's description with its choices, if it has a fixed set. */
export function describeSetting(setting: AnySetting, quote: (value: string) => string = (v) => v): string {
  const choices = setting.type.choices;
  return choices === undefined
    ? setting.description
    : `${setting.description}, one of ${choices.map(quote).join(', ')}`;
}

/**
 * The `--help` text: usage line, the process's summary, then one line per
 * setting with its flag, description, environment variable and default.
 *
 * @param command - the command as the user types it @default the declaration's own command
 */
export function formatHelp(declared: ProcessSettings, command: string = declared.command): string {
  const rows: [string, string][] = Object.values(declared.settings).map((s) => {
    const source = [
      s.env === undefined ? undefined : `env ${s.env}`,
      `default${s.defaultIsValue ? ' ' : ': '}${s.defaultText}`,
    ]
      .filter((part) => part !== undefined)
      .join(', ');
    return [`${s.flag} ${s.placeholder}`, `${describeSetting(s)} (${source})`];
  });
  rows.push(['-h, --help', 'show this help']);
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return [
    `Usage: ${command} [options]`,
    '',
    declared.summary,
    'Flags win over environment variables.',
    '',
    'Options:',
    ...rows.map(([left, right]) => `  ${left.padEnd(width)}${right}`),
    '',
  ].join('\n');
}
