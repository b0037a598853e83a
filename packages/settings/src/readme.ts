/** Which README sections are generated from which settings. */
import { JOBMANAGER_SETTINGS } from './jobmanager.js';
import type { ProcessSettings } from './settings.js';
import { TASKMANAGER_SETTINGS } from './taskmanager.js';

/** The repository README's generated configuration tables, by marker name. */
export const README_SECTIONS: Readonly<Record<string, ProcessSettings>> = {
  jobmanager: JOBMANAGER_SETTINGS,
  taskmanager: TASKMANAGER_SETTINGS,
};

/** The repository README, from this package's directory. */
export const README_URL = new URL('../../../README.md', import.meta.url);
