import { Arg, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import { createApiTokenAs, listApiTokensAs, revokeApiTokenAs } from '../../domain/auth/manage-tokens.js';
import { requireViewer, type GraphQLContext } from '../context.js';
import { UUID } from '../scalars.js';
import { ApiToken, CreateApiTokenPayload } from './api-token.type.js';
import { CreateApiTokenInput } from './create-api-token.input.js';

@Resolver(() => ApiToken)
export class ApiTokenResolver {
  @Query(() => [ApiToken], { description: 'Newest first; only ACTIVE ones unless includeInactive. Operators only.' })
  apiTokens(
    @Ctx() context: GraphQLContext,
    @Arg('includeInactive', () => Boolean, { nullable: true, defaultValue: false }) includeInactive: boolean,
  ): Promise<ApiToken[]> {
    return listApiTokensAs(context.deps.db, requireViewer(context), { includeInactive });
  }

  @Mutation(() => CreateApiTokenPayload, { description: 'Operators only. The token is in the answer once and never again.' })
  async createApiToken(@Arg('input', () => CreateApiTokenInput) input: CreateApiTokenInput, @Ctx() context: GraphQLContext): Promise<CreateApiTokenPayload> {
    const { token, record } = await createApiTokenAs(context.deps.db, requireViewer(context), {
      name: input.name,
      role: input.role,
      workspaceId: input.workspaceId ?? undefined,
      expiresAt: input.expiresAt ?? undefined,
    });
    return { token, apiToken: record };
  }

  @Mutation(() => ApiToken, { description: 'Operators only; takes effect on the next request. Revoking twice keeps the first time.' })
  revokeApiToken(@Arg('id', () => UUID) id: string, @Ctx() context: GraphQLContext): Promise<ApiToken> {
    return revokeApiTokenAs(context.deps.db, requireViewer(context), id);
  }
}
