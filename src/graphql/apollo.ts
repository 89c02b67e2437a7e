import { ApolloServer } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { GraphQLError, type GraphQLSchema, type ValidationContext } from 'graphql';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { GraphQLContext } from './context.js';
import { queryCostLimit } from './cost-limit.js';
import { createFormatError, serviceUnavailableStatus } from './format-error.js';

/**
 * graphql-armor throws by default, which Apollo turns into a 500; reported instead, a rejected query
 * is an ordinary validation error (BAD_USER_INPUT) that names the limit. graphql-armor starts its
 * messages with "Syntax Error:", which the query is not: that prefix is dropped.
 */
const reportAsValidationError = {
  ignoreIntrospection: true,
  exposeLimits: true,
  propagateOnRejection: false,
  onReject: [
    (context: ValidationContext | null, error: GraphQLError) =>
      context?.reportError(new GraphQLError(error.message.replace(/^Syntax Error: /, ''), { nodes: error.nodes ?? null })),
  ],
};

export function createApolloServer(schema: GraphQLSchema, config: Config, logger: Logger): ApolloServer<GraphQLContext> {
  return new ApolloServer<GraphQLContext>({
    schema,
    // Apollo's default, kept explicit: refuses simple cross-site requests without a preflight.
    csrfPrevention: true,
    // main.ts owns shutdown order (HTTP, pg-boss, pools, Postgres); Apollo's own signal handlers would race it.
    stopOnTerminationSignals: false,
    // The IDE needs the schema; it is public anyway (schema.graphql is committed).
    introspection: true,
    formatError: createFormatError(logger),
    includeStacktraceInErrorResponses: false,
    validationRules: [
      maxDepthRule({ n: config.graphqlMaxDepth, ...reportAsValidationError }),
      maxAliasesRule({ n: 30, ...reportAsValidationError }),
    ],
    plugins: [
      // GET /graphql from a browser is answered by the offline IDE (http/graphql-ide.ts).
      ApolloServerPluginLandingPageDisabled(),
      // No cache hints are given and nothing caches responses; the plugin Apollo installs by default
      // wrapped every field's resolver to compute a policy (12% of the CPU of a nested page).
      ApolloServerPluginCacheControlDisabled(),
      // Nothing is reported to Apollo's cloud; the defaults would only switch on with APOLLO_KEY set.
      ApolloServerPluginUsageReportingDisabled(),
      ApolloServerPluginSchemaReportingDisabled(),
      ApolloServerPluginInlineTraceDisabled(),
      // The cost limit (cost-limit.ts): statements and objects, knowing that nested lists are batched,
      // with the request's variables; the depth and alias limits above are validation rules.
      queryCostLimit({ maxCost: config.graphqlMaxCost }),
      serviceUnavailableStatus(),
    ],
  });
}
