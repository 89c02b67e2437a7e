import { Ctx, FieldResolver, Query, Resolver, Root } from 'type-graphql';
import { requireViewer, type GraphQLContext } from '../context.js';
import { Workspace } from '../workspace/workspace.type.js';
import { Viewer } from './viewer.type.js';

@Resolver(() => Viewer)
export class ViewerResolver {
  @Query(() => Viewer)
  viewer(@Ctx() context: GraphQLContext): Viewer {
    const viewer = requireViewer(context);
    return { tokenId: viewer.tokenId, role: viewer.role, workspaceId: viewer.role === 'SERVICE' ? viewer.workspaceId : null };
  }

  @FieldResolver(() => Workspace, { nullable: true })
  workspace(@Root() viewer: Viewer, @Ctx() context: GraphQLContext): Promise<Workspace | null> | null {
    return viewer.workspaceId ? context.loaders.workspace.load(viewer.workspaceId) : null;
  }
}
