import { Field, ObjectType, registerEnumType } from 'type-graphql';
import type { TokenRole as TokenRoleValue } from '../../db/schema/index.js';
import type { TokenState as TokenStateValue } from '../../domain/auth/manage-tokens.js';
import { TokenRole } from '../enums.js';
import { DateTime, UUID } from '../scalars.js';

const TokenState = { ACTIVE: 'ACTIVE', REVOKED: 'REVOKED', EXPIRED: 'EXPIRED' } as const;
registerEnumType(TokenState, { name: 'TokenState', description: 'ACTIVE tokens authenticate; REVOKED and EXPIRED ones are UNAUTHENTICATED.' });

@ObjectType({ description: 'A bearer token, without its secret (shown once, at creation) or its hash.' })
export class ApiToken {
  @Field(() => UUID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => TokenRole)
  role!: TokenRoleValue;

  @Field(() => UUID, { nullable: true, description: 'The one workspace a service token is confined to.' })
  workspaceId!: string | null;

  @Field(() => String, { description: 'The first characters of the token, to recognise it.' })
  tokenPrefix!: string;

  @Field(() => TokenState)
  state!: TokenStateValue;

  @Field(() => DateTime)
  createdAt!: Date;

  @Field(() => DateTime, { nullable: true, description: 'When it last authenticated, to the minute.' })
  lastUsedAt!: Date | null;

  @Field(() => DateTime, { nullable: true, description: 'Null: it never expires.' })
  expiresAt!: Date | null;

  @Field(() => DateTime, { nullable: true })
  revokedAt!: Date | null;
}

@ObjectType()
export class CreateApiTokenPayload {
  @Field(() => String, { description: 'The secret, shown this once: only its hash is stored.' })
  token!: string;

  @Field(() => ApiToken)
  apiToken!: ApiToken;
}
