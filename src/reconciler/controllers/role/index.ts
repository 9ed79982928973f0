/**
 * PostgresRole, one concern a file: controller.ts (spec, parents, ownership, Secret, role, grants, isolation),
 * ownership.ts (who may manage a role), deletion.ts (drop, retain, gone), context.ts (what they share).
 */
export { ISOLATED, PostgresRoleController } from './controller';
export { SERVER_ANNOTATION } from './context';
