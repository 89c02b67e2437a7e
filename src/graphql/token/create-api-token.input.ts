import { Field, InputType } from 'type-graphql';
import type { TokenRole as TokenRoleValue } from '../../db/schema/index.js';
import { TokenRole } from '../enums.js';
import { DateTime, UUID } from '../scalars.js';

@InputType()
export class CreateApiTokenInput {
  @Field(() => String)
  name!: string;

  @Field(() => TokenRole)
  role!: TokenRoleValue;

  @Field(() => UUID, { nullable: true, description: 'Required for a SERVICE token, refused for an OPERATOR one.' })
  workspaceId?: string | null;

  @Field(() => DateTime, { nullable: true, description: 'When it stops authenticating; omitted: never.' })
  expiresAt?: Date | null;
}
