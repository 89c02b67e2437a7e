import { Arg, Ctx, Query, Resolver } from 'type-graphql';
import { findWorkspace, listWorkspaces } from '../../domain/workspaces/find-workspace.js';
import { requireViewer, type GraphQLContext } from '../context.js';
import { UUID } from '../scalars.js';
import { Workspace } from './workspace.type.js';

@Resolver(() => Workspace)
export class WorkspaceResolver {
  @Query(() => Workspace, { nullable: true })
  workspace(@Arg('id', () => UUID) id: string, @Ctx() context: GraphQLContext): Promise<Workspace | null> {
    return findWorkspace(context.deps.db, requireViewer(context), id);
  }

  @Query(() => [Workspace], { description: 'Every workspace for an operator; its own for a service token.' })
  workspaces(@Ctx() context: GraphQLContext): Promise<Workspace[]> {
    return listWorkspaces(context.deps.db, requireViewer(context));
  }
}
