/** Failures classified in one place (classify.ts): what the runtime retries, and how. */
export * from './classify';
