/**
 * main.ts's first import. graphql-js reads NODE_ENV once, when it is first loaded: unless it is
 * `production` it runs its development checks (an `instanceOf` that compares constructor names on every
 * type check, 11% of the CPU of a GraphQL read). The program defaults it to `production`; a NODE_ENV
 * already set (vitest sets `test`) is kept. This is the one place outside config.ts that touches
 * `process.env`: it configures libraries, not the service, and must run before they are imported.
 */
process.env.NODE_ENV ??= 'production';
