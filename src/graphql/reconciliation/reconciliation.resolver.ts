import { Arg, Ctx, FieldResolver, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { listReconciliationRuns, reconcileNow } from '../../domain/reconciliation/list-runs.js';
import { requireViewer, type GraphQLContext } from '../context.js';
import { ReconciliationMismatch, ReconciliationRun } from './reconciliation-run.type.js';

@Resolver(() => ReconciliationRun)
export class ReconciliationResolver {
  @Query(() => [ReconciliationRun], { description: 'Newest first. Operators only.' })
  reconciliationRuns(@Ctx() context: GraphQLContext, @Arg('first', () => Int, { nullable: true }) first?: number | null): Promise<ReconciliationRun[]> {
    return listReconciliationRuns(context.deps.db, requireViewer(context), first);
  }

  @Mutation(() => ReconciliationRun, {
    description: 'Runs a reconciliation now (or answers the one in progress). full: check every ledger line, not only recent ones.',
  })
  runReconciliation(
    @Ctx() context: GraphQLContext,
    @Arg('full', () => Boolean, { nullable: true, defaultValue: false }) full: boolean,
  ): Promise<ReconciliationRun> {
    return reconcileNow(context.deps, requireViewer(context), full);
  }

  @FieldResolver(() => [ReconciliationMismatch])
  mismatches(@Root() run: ReconciliationRun, @Ctx() context: GraphQLContext): Promise<ReconciliationMismatch[]> {
    return context.loaders.mismatches.load(run.id) as Promise<ReconciliationMismatch[]>;
  }
}
