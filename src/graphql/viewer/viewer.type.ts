import { Field, ObjectType } from 'type-graphql';
import type { TokenRole as TokenRoleValue } from '../../db/schema/index.js';
import { TokenRole } from '../enums.js';
import { UUID } from '../scalars.js';

@ObjectType({ description: 'The token behind this request.' })
export class Viewer {
  @Field(() => UUID)
  tokenId!: string;

  @Field(() => TokenRole)
  role!: TokenRoleValue;

  @Field(() => UUID, { nullable: true, description: 'The one workspace a service token is confined to.' })
  workspaceId!: string | null;
}
