import { Field, ObjectType } from 'type-graphql';
import { DateTime, UUID } from '../scalars.js';

@ObjectType({ description: 'A tenant.' })
export class Workspace {
  @Field(() => UUID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String)
  slug!: string;

  @Field(() => Boolean, { description: 'While the rollout stage is PILOT, only pilot workspaces may capture or refund.' })
  billingPilot!: boolean;

  @Field(() => DateTime)
  createdAt!: Date;
}
