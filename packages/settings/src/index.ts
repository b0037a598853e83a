/**
 * Settings declared once. Each setting of a Freshet process is declared in
 * one place (flag, environment variable, type, default, description, as
 * Flink's `ConfigOptions`); the parser ({@link readSettings}), the `--help`
 * text ({@link formatHelp}) and the README's tables ({@link settingsTable})
 * are generated from the declarations. The JobManager's and the
 * TaskManager's settings live here too, so the processes, the CLI and the
 * docs read the same declarations.
 *
 * Node-only (it reads command lines and resolves paths).
 *
 * @packageDocumentation
 */
export {
  key,
  DescribedSettingBuilder,
  SettingKeyBuilder,
  TypedSettingBuilder,
  type AnySetting,
  type Setting,
  type SettingContext,
  type SettingType,
  type SettingValue,
} from './setting.js';
export {
  ConfigError,
  defineSettings,
  readSettings,
  type ConfigOf,
  type Invocation,
  type ProcessSettings,
  type SettingGroup,
  type SettingSources,
} from './settings.js';
export { describeSetting, formatHelp } from './help.js';
export { markers, settingsTable, spliceSettingsTables } from './markdown.js';
export { LOG_LEVELS, type LogLevel } from './log-levels.js';
export { JOBMANAGER_SETTINGS, type JobManagerConfig } from './jobmanager.js';
export { TASKMANAGER_SETTINGS, type TaskManagerConfig } from './taskmanager.js';
export {
  ensureJoinSecretFile,
  generateJoinSecret,
  JOIN_SECRET_FILE,
  JOIN_SECRET_MIN_LENGTH,
  JOIN_SECRET_TYPE,
  readJoinSecretFile,
} from './join-secret.js';
