/** The PostgreSQL data-plane module (pg): admin connections over verified TLS, roles, grants, lock-down, isolation. No kube/ or azure/ here. */
export * from './connect';
export * from './roles';
export * from './isolation';
export * from './extensions';
