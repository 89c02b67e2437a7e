import { Arg, Ctx, Field, Int, Mutation, ObjectType, Query, registerEnumType, Resolver } from 'type-graphql';
import type { RolloutStage as RolloutStageValue } from '../../config.js';
import { getRolloutStage, listRolloutStageChanges, setRolloutStage } from '../../domain/settings/rollout-stage.js';
import { requireViewer, type GraphQLContext } from '../context.js';
import { DateTime, UUID } from '../scalars.js';

const RolloutStage = { OFF: 'OFF', PILOT: 'PILOT', GENERAL: 'GENERAL' } as const;
registerEnumType(RolloutStage, {
  name: 'RolloutStage',
  description: 'Who may capture and refund: OFF nobody, PILOT billing-pilot workspaces, GENERAL everybody.',
});

@ObjectType()
class RolloutStageChange {
  @Field(() => RolloutStage, { nullable: true })
  oldValue!: RolloutStageValue | null;

  @Field(() => RolloutStage)
  newValue!: RolloutStageValue;

  @Field(() => UUID, { nullable: true, description: 'The token that made the change.' })
  changedBy!: string | null;

  @Field(() => DateTime)
  changedAt!: Date;
}

@Resolver()
export class RolloutResolver {
  @Query(() => RolloutStage)
  rolloutStage(@Ctx() context: GraphQLContext): Promise<RolloutStageValue> {
    requireViewer(context);
    return getRolloutStage(context.deps.db, context.deps.config);
  }

  @Query(() => [RolloutStageChange], { description: 'Newest first. Operators only.' })
  rolloutStageChanges(
    @Ctx() context: GraphQLContext,
    @Arg('first', () => Int, { nullable: true }) first?: number | null,
  ): Promise<RolloutStageChange[]> {
    return listRolloutStageChanges(context.deps.db, requireViewer(context), first);
  }

  @Mutation(() => RolloutStage, { description: 'Operators only; takes effect at once, and the change is recorded.' })
  async setRolloutStage(
    @Arg('stage', () => RolloutStage) stage: RolloutStageValue,
    @Ctx() context: GraphQLContext,
  ): Promise<RolloutStageValue> {
    const { current } = await setRolloutStage(context.deps.db, context.deps.config, requireViewer(context), stage);
    return current;
  }
}
