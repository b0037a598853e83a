/**
 * The API's roles. Each includes the ones before it: a developer may do what
 * a viewer may, an admin what a developer may.
 */
import type { ApiTokenRole } from '@freshet/db';

/** Roles as the API, the CLI and the dashboard name them, weakest first. */
export const ROLES = ['viewer', 'developer', 'admin'] as const;

/** One of {@link ROLES}. */
export type Role = (typeof ROLES)[number];

/** Whether a token of role `held` may call a procedure that needs `needed`. */
export function roleAllows(held: Role, needed: Role): boolean {
  return ROLES.indexOf(held) >= ROLES.indexOf(needed);
}

/** The database's spelling of a role. */
export function roleToDb(role: Role): ApiTokenRole {
  return role === 'admin' ? 'ADMIN' : role === 'developer' ? 'DEVELOPER' : 'VIEWER';
}

/** The API's spelling of a stored role. */
export function roleFromDb(role: ApiTokenRole): Role {
  return role === 'ADMIN' ? 'admin' : role === 'DEVELOPER' ? 'developer' : 'viewer';
}

/** What each role may do, for messages and `--help`. */
export const ROLE_DESCRIPTIONS: Readonly<Record<Role, string>> = {
  viewer: 'read the cluster, jobs, artifacts and TaskManagers',
  developer: 'also upload programs, plan, submit and cancel jobs',
  admin: 'also manage tokens and TaskManagers and delete artifacts',
};
