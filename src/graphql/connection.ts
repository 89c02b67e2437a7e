import { Field, ObjectType, type ClassType } from 'type-graphql';
import { encodeCursor, type Page } from '../domain/pagination.js';

@ObjectType()
export class PageInfo {
  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true, description: 'Pass as `after` to read the next page.' })
  endCursor!: string | null;
}

export type ConnectionShape<T> = {
  edges: { cursor: string; node: T }[];
  pageInfo: PageInfo;
};

/** A Relay-style connection type for `node`: `<Name>Connection { edges { cursor node } pageInfo }`. */
export function connectionType<T extends object>(name: string, node: ClassType<T>): ClassType<ConnectionShape<T>> {
  @ObjectType(`${name}Edge`)
  class Edge {
    @Field(() => String)
    cursor!: string;

    @Field(() => node)
    node!: T;
  }

  @ObjectType(`${name}Connection`)
  class Connection {
    @Field(() => [Edge])
    edges!: Edge[];

    @Field(() => PageInfo)
    pageInfo!: PageInfo;
  }
  return Connection;
}

export function toConnection<T extends { id: string }>(page: Page<T>, cursorKind: string): ConnectionShape<T> {
  const edges = page.nodes.map((node) => ({ cursor: encodeCursor(cursorKind, node.id), node }));
  return { edges, pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null } };
}
